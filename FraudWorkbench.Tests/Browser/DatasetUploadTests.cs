using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class DatasetUploadTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Upload_SampleCsv_SchemaReviewedThenProfileAndRowsShown()
    {
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1400, 900);
        await using var _ = context;
        var console = new List<string>();
        page.Console += (_, m) => { lock (console) console.Add($"{m.Type}: {m.Text}"); };
        page.PageError += (_, e) => { lock (console) console.Add("pageerror: " + e); };
        try
        {
            await RunAsync(page);
        }
        catch
        {
            await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-upload-failure.png"), FullPage = true });
            lock (console) File.WriteAllLines(BrowserFixture.ScreenshotPath("dataset-upload-failure.log"), [page.Url, .. console, .. app.App.Logs.Where(l => l.Contains("xception"))]);
            throw;
        }
    }

    private async Task RunAsync(IPage page)
    {
        await page.GotoAsync("/account/login?ReturnUrl=%2Fdatasets");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);

        // An empty install offers the samples.
        await page.Locator("[data-testid=datasets-empty]").WaitForAsync();
        await Assertions.Expect(page.Locator("[data-testid=sample-transactions-month-a]")).ToBeVisibleAsync();
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Upload a CSV" }).ClickAsync();

        // Blazor's InputFile listens only once its script has initialised the element.
        await page.WaitForFunctionAsync("() => document.querySelector('input[type=file]')?._blazorInputFileNextFileId !== undefined");
        await page.Locator("input[type=file]").SetInputFilesAsync(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"));
        var editor = page.Locator("[data-testid=schema-editor]");
        await editor.WaitForAsync();
        await Assertions.Expect(page.Locator("[data-testid=upload-progress]")).ToHaveAttributeAsync("data-progress", "100");
        await Assertions.Expect(editor.Locator("tr[data-column=is_fraud]")).ToContainTextAsync("label");
        await Assertions.Expect(editor.Locator("tr[data-column=event_time]")).ToContainTextAsync("event time");
        await Assertions.Expect(editor.Locator("tr[data-column=customer_id]")).ToContainTextAsync("entity key");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-schema.png"), FullPage = true });

        await page.Locator("[data-testid=create-version]").ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=dataset-name]")).ToHaveTextAsync("transactions-month-a");
        await Assertions.Expect(page.Locator("[data-testid=row-count]")).ToHaveTextAsync("40,000");
        await Assertions.Expect(page.Locator("[data-testid=label-balance]")).ToContainTextAsync("% fraud");
        await Assertions.Expect(page.Locator("[data-testid=chart-amount] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=chart-merchant_category] svg")).ToBeVisibleAsync();
        var firstCell = page.Locator("[data-testid=preview] tbody tr").First;
        await Assertions.Expect(firstCell).ToContainTextAsync("tx_");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-profile.png"), FullPage = true });
        await BrowserFixture.AssertChartsFitAsync(page);
    }
}

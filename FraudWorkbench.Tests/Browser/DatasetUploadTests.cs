using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class DatasetUploadTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Upload_SampleCsv_SchemaReviewedThenProfileAndRowsShown()
    {
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
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

        // Profiling 40,000 rows as a job: allow for a busy machine.
        await Assertions.Expect(page.Locator("[data-testid=dataset-name]")).ToHaveTextAsync("transactions-month-a", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=row-count]")).ToHaveTextAsync("40,000");
        await Assertions.Expect(page.Locator("[data-testid=label-balance]")).ToContainTextAsync("% fraud");
        await Assertions.Expect(page.Locator("[data-testid=chart-amount] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=chart-merchant_category] svg")).ToBeVisibleAsync();
        var firstCell = page.Locator("[data-testid=preview] tbody tr").First;
        await Assertions.Expect(firstCell).ToContainTextAsync("tx_");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-profile.png"), FullPage = true });
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('[data-testid=column-summary], [data-testid=column-summary] .mud-table-container')].every(e => e.scrollWidth <= e.clientWidth + 1)"),
            "the columns table is wider than its card at 1280 px");
        await BrowserFixture.AssertChartsFitAsync(page);
    }

    [Fact]
    public async Task DatasetPage_NewVersionArchiveAndRestore_At1280()
    {
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 860);
        await using var _ = context;
        try
        {
            await RunVersionsAsync(page);
        }
        catch
        {
            await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-versions-failure.png"), FullPage = true });
            throw;
        }
    }

    private async Task RunVersionsAsync(IPage page)
    {
        var ingestor = app.App.Get<FraudWorkbench.Core.Data.DatasetIngestor>();
        var staged = await ingestor.StageAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
            "event_time,customer_id,merchant_category,amount,is_fraud\n2026-01-01T10:00:00Z,c1,groceries,10.5,0\n2026-01-01T11:00:00Z,c2,gift_cards,99.5,1\n")), "january.csv");
        var v1 = await ingestor.IngestAsync(staged, "browser-versions", FraudWorkbench.Core.Data.SchemaOverrides.None, "test");
        var next = Path.Combine(Path.GetTempPath(), $"february-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(next, "event_time,customer_id,amount,is_fraud,channel\n2026-02-01T10:00:00Z,c1,10.5,0,web\n2026-02-01T11:00:00Z,c3,7.5,1,app\n");

        await page.GotoAsync($"/account/login?ReturnUrl=%2Fdatasets%2F{v1.Dataset.Id}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.Locator("[data-testid=upload-version]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=upload-title]")).ToHaveTextAsync("New version of browser-versions");
        await page.WaitForFunctionAsync("() => document.querySelector('input[type=file]')?._blazorInputFileNextFileId !== undefined");
        await page.Locator("input[type=file]").SetInputFilesAsync(next); // the browser reads the file as it streams it: kept until the end

        // The finished upload reads as success: a green chip, no red removable file chip.
        var status = page.Locator("[data-testid=upload-status]");
        await Assertions.Expect(status).ToBeVisibleAsync(new() { Timeout = 30_000 });
        File.Delete(next);
        var colour = await status.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        var rgb = colour.Replace("rgb(", "").Replace("rgba(", "").Replace(")", "").Split(',').Select(x => double.Parse(x.Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(rgb[1] > rgb[0] && rgb[1] > rgb[2], $"the upload chip is {colour}, not green");
        await Assertions.Expect(page.Locator(".mud-chip-color-secondary, .mud-chip-color-error")).ToHaveCountAsync(0);
        await page.Locator("[data-testid=create-version]").ClickAsync();

        // Version 2 of the same dataset, with what changed.
        await Assertions.Expect(page.Locator("[data-testid=schema-changes]")).ToContainTextAsync("Changes from v1", new() { Timeout = 30_000 });
        Assert.EndsWith($"/datasets/{v1.Dataset.Id}?version=2", page.Url);
        await Assertions.Expect(page.Locator("[data-testid=dataset-name]")).ToHaveTextAsync("browser-versions");
        await Assertions.Expect(page.Locator("[data-testid=schema-changes] li[data-change=added]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("Added channel"));
        await Assertions.Expect(page.Locator("[data-testid=schema-changes] li[data-change=removed]")).ToHaveTextAsync("Removed merchant_category");
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the dataset page scrolls sideways at 1280 px");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-version-2.png"), FullPage = true });

        // Correct the roles: channel becomes the label, as version 3 of the same file, profiled by a job.
        await page.Locator("[data-testid=edit-roles]").ClickAsync();
        foreach (var (column, role) in new[] { ("is_fraud", "feature"), ("channel", "label") })
        {
            await page.Locator($"[data-testid=role-table] tr[data-column={column}] [data-testid=role-select]").First.ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = role, Exact = true }).ClickAsync();
        }

        await page.Locator("input[data-testid=positive-label]").FillAsync("app");
        await page.Locator("[data-testid=save-roles]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=schema-changes]")).ToContainTextAsync("same file as v2, roles corrected", new() { Timeout = 30_000 });
        Assert.EndsWith($"/datasets/{v1.Dataset.Id}?version=3", page.Url);
        await Assertions.Expect(page.Locator("[data-testid=label-balance]")).ToContainTextAsync("channel = app: 1");

        // Archive asks first; then the archived list shows it and restore brings it back.
        await page.Locator("[data-testid=archive]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=archive-confirm]")).ToContainTextAsync("Archive browser-versions?");
        await page.Locator("[data-testid=archive-confirm-yes]").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/datasets$"), new() { Timeout = 30_000 }); // polls: a client-side navigation fires no load event
        await Assertions.Expect(page.Locator("[data-testid=dataset-browser-versions]")).ToHaveCountAsync(0);
        await page.Locator("[data-testid=show-archived] input, input[data-testid=show-archived]").First.ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=archived-browser-versions]")).ToBeVisibleAsync();
        await page.Locator("[data-testid=restore-browser-versions]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=archived-browser-versions]")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid=dataset-browser-versions]")).ToBeVisibleAsync();

        // With datasets present, the samples are still a click away.
        await Assertions.Expect(page.Locator("[data-testid=sample-data-header] [data-testid=sample-transactions-month-a]")).ToBeVisibleAsync();
    }
}

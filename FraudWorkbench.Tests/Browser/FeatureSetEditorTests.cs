using FraudWorkbench.Core.Data;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class FeatureSetEditorTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Editor_SuggestedRecipesOnTheSample_VersionPageShowsSignalAndPreview()
    {
        await SampleMonth.IngestAsync(app.App, "browser-features");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ffeatures%2Fnew");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);

        await page.Locator("[data-testid=feature-set-name] input, input[data-testid=feature-set-name]").First.FillAsync("card-not-present");
        await page.Locator("[data-testid=dataset-select]").First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "browser-features" }).ClickAsync();
        await page.Locator("[data-testid=suggest]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-feature]")).Not.ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("feature-editor.png"), FullPage = true });
        await page.Locator("[data-testid=save-feature-set]").ClickAsync();

        // The fit runs as a job; the page follows its progress and opens the version when it is done.
        await Assertions.Expect(page.Locator("[data-testid=fit-progress]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=feature-set-name]")).ToHaveTextAsync("card-not-present", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=lineage]")).ToContainTextAsync("browser-features v1");
        await Assertions.Expect(page.Locator("[data-testid=slot-table] tr[data-slot='customer_id__count_1h']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=feature-preview] tbody tr")).ToHaveCountAsync(50);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("feature-set.png"), FullPage = true });
    }

    /// <summary>30 columns: an id, a time, a customer, a label, 14 numbers and 12 categories.</summary>
    private static string WideCsv(int rows)
    {
        var header = new List<string> { "transaction_id", "event_time", "customer_id", "is_fraud" };
        header.AddRange(Enumerable.Range(1, 14).Select(i => $"amount_{i}"));
        header.AddRange(Enumerable.Range(1, 12).Select(i => $"category_{i}"));
        var sb = new System.Text.StringBuilder(string.Join(",", header) + "\n");
        for (var r = 0; r < rows; r++)
        {
            var cells = new List<string> { $"tx_{r}", new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(r * 13).ToString("yyyy-MM-ddTHH:mm:ssZ"), $"c_{r % 37}", r % 20 == 3 ? "1" : "0" };
            cells.AddRange(Enumerable.Range(1, 14).Select(i => (1 + (r * 7 + i * 13) % 500 / 4.0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            cells.AddRange(Enumerable.Range(1, 12).Select(i => $"v{(r + i) % 5}"));
            sb.Append(string.Join(",", cells)).Append('\n');
        }

        return sb.ToString();
    }

    [Fact]
    public async Task Editor_ThirtyColumnDataset_CompactTableFitsAndOneRowsSettingsSave()
    {
        var ingestor = app.App.Get<DatasetIngestor>();
        var staged = await ingestor.StageAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(WideCsv(400))), "wide.csv");
        await ingestor.IngestAsync(staged, "browser-wide", SchemaOverrides.None, "test");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 800);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ffeatures%2Fnew");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.Locator("input[data-testid=feature-set-name]").FillAsync("wide-features");
        await page.Locator("[data-testid=dataset-select]").First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "browser-wide" }).ClickAsync();
        await page.Locator("[data-testid=suggest]").ClickAsync();

        var rows = page.Locator("tr[data-feature]");
        await Assertions.Expect(rows).Not.ToHaveCountAsync(0);
        Assert.True(await rows.CountAsync() >= 28, $"{await rows.CountAsync()} suggested features");
        var size = await page.EvaluateAsync<int[]>(
            "() => [document.documentElement.scrollHeight, document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        var (height, scrollWidth, clientWidth) = (size[0], size[1], size[2]);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("feature-editor-wide.png"), FullPage = true });
        Console.WriteLine($"feature editor height at 1280 px: {height}");
        Assert.True(height < 1600, $"the editor for 30 columns is {height} px tall at 1280 px");
        Assert.True(scrollWidth <= clientWidth, $"the page scrolls sideways: {scrollWidth} > {clientWidth}");

        // Open one numeric row's settings, change them, save: the saved version has them.
        var amount = page.Locator("tr[data-feature][data-column=amount_3]");
        await amount.Locator("[data-testid=feature-settings-toggle]").ClickAsync();
        var settings = page.Locator("tr[data-feature-settings]");
        await Assertions.Expect(settings).ToHaveCountAsync(1);
        await Assertions.Expect(amount.GetByLabel("Remove feature")).ToBeVisibleAsync();
        await settings.GetByLabel("standardise").CheckAsync();
        await Assertions.Expect(amount.Locator("[data-testid=feature-settings]")).ToContainTextAsync("standardised");
        await page.Locator("[data-testid=save-feature-set]").ClickAsync();

        try
        {
            await Assertions.Expect(page.Locator("[data-testid=lineage]")).ToContainTextAsync("browser-wide v1", new() { Timeout = 60_000 });
        }
        catch
        {
            await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("feature-editor-wide-failure.png"), FullPage = true });
            throw;
        }
        var saved = (await app.App.Get<FraudWorkbench.Core.Features.FeatureSetStore>().ListAsync()).Single(s => s.Name == "wide-features");
        var version = (await app.App.Get<FraudWorkbench.Core.Features.FeatureSetStore>().ListVersionsAsync(saved.Id)).Single();
        var specs = version.Definition.Features.Where(f => f.Kind == FraudWorkbench.Core.Features.FeatureKind.Numeric).ToDictionary(f => f.Column!);
        Assert.True(specs["amount_3"].Standardize);
        Assert.False(specs["amount_4"].Standardize);
    }
}

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
        var ingestor = app.App.Get<DatasetIngestor>();
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            var staged = await ingestor.StageAsync(file, "transactions-month-a.csv");
            await ingestor.IngestAsync(staged, "browser-features", SchemaOverrides.None, "test");
        }

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1400, 900);
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
}

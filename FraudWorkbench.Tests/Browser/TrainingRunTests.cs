using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class TrainingRunTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task StartRun_ProgressThenMetricsAndCurves()
    {
        var ingestor = app.App.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "browser-training", SchemaOverrides.None, "test");
        }

        await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("browser-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1400, 900);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ftraining");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.Locator("[data-testid=runs-empty]").WaitForAsync();
        // The prerendered button has no handler: wait until the interactive page has loaded its data.
        await page.Locator("[data-testid=start-run-button][data-ready]").WaitForAsync();

        await page.Locator("[data-testid=start-run-button]").ClickAsync();

        // The row appears at once and fills in its metrics when the job finishes, without a reload. On a loaded
        // machine (the whole suite in parallel) starting can take a while; a refusal would show as errors instead.
        // In two full runs the click was lost (nothing at all after 30 and 90 s; never alone): one more click after
        // 20 s of nothing, which at worst starts a second run (the first row is the newest either way).
        var row = page.Locator("[data-testid=runs-table] tbody tr").First;
        var started = page.Locator("[data-testid=runs-table] tbody tr, [data-testid=run-errors]").First;
        try
        {
            await started.WaitForAsync(new() { Timeout = 20_000 });
        }
        catch (TimeoutException)
        {
            await page.Locator("[data-testid=start-run-button]").ClickAsync();
            await started.WaitForAsync(new() { Timeout = 90_000 });
        }

        Assert.Equal(0, await page.Locator("[data-testid=run-errors]").CountAsync());
        await Assertions.Expect(row).ToContainTextAsync("lightgbm");
        await Assertions.Expect(row.Locator("td").Nth(5)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"0\.\d{3}"), new() { Timeout = 90_000 });
        await row.Locator("a").ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=pr-auc]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"0\.\d{3}"));
        await Assertions.Expect(page.Locator("[data-testid=chart-roc] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=chart-pr] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=run-threshold]")).ToContainTextAsync("best F1");
        await Assertions.Expect(page.Locator("[data-testid=chart-scores] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=chart-importance] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=run-artifacts]")).ToContainTextAsync("model.onnx");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("training-run.png"), FullPage = true });
        await BrowserFixture.AssertChartsFitAsync(page);
    }
}

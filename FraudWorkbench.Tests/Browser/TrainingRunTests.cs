using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
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
        var dataset = await SampleMonth.IngestAsync(app.App, "browser-training");

        await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("browser-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
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
        await Assertions.Expect(row.Locator("[data-testid=run-pr-auc]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"0\.\d{3}"), new() { Timeout = 90_000 });
        await row.Locator("[data-testid=run-link]").ClickAsync();

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

    /// <summary>Two finished runs with names, trained directly through the service (the form is tested above).</summary>
    private async Task<(TrainingRun Weights, TrainingRun Undersample, string Dataset)> TwoRunsAsync()
    {
        var dataset = await SampleMonth.IngestAsync(app.App, "compare-data");

        var (featureSet, _) = await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("compare-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        var service = app.App.Get<TrainingService>();
        var (weights, _) = await service.StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 30),
            new ImbalanceSettings(ImbalanceStrategy.ClassWeights), Name: "alpha weights"), "test");
        var (under, _) = await service.StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 10, Leaves: 8),
            new ImbalanceSettings(ImbalanceStrategy.Undersample, TargetRatio: 0.1), Name: "beta undersample"), "test");
        var store = app.App.Get<TrainingRunStore>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var runs = new[] { (await store.GetAsync(weights))!, (await store.GetAsync(under))! };
            if (runs.All(r => r.Status == JobStatus.Succeeded)) return (runs[0], runs[1], "compare-data");
            Assert.True(DateTime.UtcNow < deadline && runs.All(r => r.Status != JobStatus.Failed), string.Join("; ", runs.Select(r => $"{r.Status} {r.Error}")));
            await Task.Delay(300);
        }
    }

    private static Task<bool> PageScrollsSidewaysAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");

    [Fact]
    public async Task RunsTableCompareAndRunPage_At1280_NamesSortDiffBestAndThresholdSlider()
    {
        var (weights, under, datasetName) = await TwoRunsAsync();
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ftraining");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);

        // Runs table: names and the dataset by name; sorting by PR-AUC orders the column; the page does not scroll sideways.
        var table = page.Locator("[data-testid=runs-table]");
        await Assertions.Expect(table).ToContainTextAsync("alpha weights");
        await Assertions.Expect(table).ToContainTextAsync("beta undersample");
        await Assertions.Expect(table).ToContainTextAsync($"{datasetName} v1");
        Assert.False(await PageScrollsSidewaysAsync(page), "the runs page scrolls sideways at 1280 px");
        await page.Locator("[data-testid=sort-pr-auc]").ClickAsync();
        await WaitForPrAucOrderAsync(page, descending: false); // the click's re-render arrives over the circuit
        var ascending = await PrAucColumnAsync(page);
        Assert.True(ascending.Count >= 2);
        Assert.Equal([.. ascending.Order()], ascending);
        await page.Locator("[data-testid=sort-pr-auc]").ClickAsync();
        await WaitForPrAucOrderAsync(page, descending: true);
        var descending = await PrAucColumnAsync(page);
        Assert.Equal([.. descending.OrderDescending()], descending);
        Assert.NotEqual(ascending, descending);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("training-runs.png"), FullPage = true });
        // Dates on one line: the started cell's date is one line high.
        var started = page.Locator("[data-testid=run-started]").First;
        Assert.True((await started.BoundingBoxAsync())!.Height < 30, "the start date wraps");
        // Finished runs' columns all fit at 1280 px: the table does not even need its own scrollbar.
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('[data-testid=runs-table] .mud-table-container')].every(c => c.scrollWidth <= c.clientWidth + 1)"),
            "the runs table needs to scroll sideways at 1280 px");

        // Compare the two: headers name the runs, the parameters that differ are marked, the best PR-AUC highlighted.
        foreach (var name in new[] { "alpha weights", "beta undersample" })
            await table.Locator("tbody tr", new() { HasText = name }).Locator("input[type=checkbox]").CheckAsync(new() { Force = true });
        await page.Locator("[data-testid=compare]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=compare-run-header]").First).ToContainTextAsync("alpha weights");
        await Assertions.Expect(page.Locator("[data-testid=compare-table]")).ToContainTextAsync("beta undersample");
        var diff = page.Locator("[data-testid=parameter-diff]");
        await Assertions.Expect(diff.Locator("tr[data-key='imbalance.strategy']")).ToHaveAttributeAsync("data-differs", "true");
        await Assertions.Expect(diff.Locator("tr[data-key='trainer.trees']")).ToHaveAttributeAsync("data-differs", "true");
        await Assertions.Expect(diff.Locator("tr[data-key='trainer.learningRate']")).ToHaveAttributeAsync("data-differs", "false");
        await page.Locator("[data-testid=only-differences] input, input[data-testid=only-differences]").First.CheckAsync(new() { Force = true });
        await Assertions.Expect(diff.Locator("tr[data-key='trainer.learningRate']")).ToHaveCountAsync(0);
        await Assertions.Expect(diff.Locator("tr[data-key='imbalance.strategy']")).ToHaveCountAsync(1);
        var best = weights.Result!.Metrics.AveragePrecision >= under.Result!.Metrics.AveragePrecision ? weights : under;
        var prRow = page.Locator("[data-testid=compare-table] tr[data-metric='PR-AUC'] td");
        var bestColumn = best == weights ? 1 : 2;
        await Assertions.Expect(prRow.Nth(bestColumn)).ToHaveAttributeAsync("data-best", "true");
        await Assertions.Expect(prRow.Nth(3 - bestColumn)).ToHaveAttributeAsync("data-best", "false");
        var logLossBest = weights.Result.Metrics.LogLoss <= under.Result.Metrics.LogLoss ? 1 : 2; // lower is better
        await Assertions.Expect(page.Locator("[data-testid=compare-table] tr[data-metric='Log loss'] td").Nth(logLossBest)).ToHaveAttributeAsync("data-best", "true");
        Assert.False(await PageScrollsSidewaysAsync(page), "the compare page scrolls sideways at 1280 px");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("training-compare.png"), FullPage = true });

        // Run page: a title that says what it is, the settings, and a slider that changes the numbers.
        await page.Locator("[data-testid=compare-run-header] a", new() { HasText = "alpha weights" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=run-title]")).ToHaveTextAsync($"Run alpha weights · LightGBM on {datasetName} v1");
        await Assertions.Expect(page.Locator("[data-testid=run-dataset]")).ToHaveTextAsync($"{datasetName} v1");
        await Assertions.Expect(page.Locator("[data-testid=run-hyperparameters] tr[data-key='trainer.trees']")).ToContainTextAsync("30");
        await Assertions.Expect(page.Locator("[data-testid=run-hyperparameters] tr[data-key='imbalance.strategy']")).ToContainTextAsync("class weights");
        var explorer = page.Locator("[data-testid=threshold-explorer]");
        await Assertions.Expect(explorer).ToHaveAttributeAsync("data-state", "ready", new() { Timeout = 60_000 });
        var threshold = page.Locator("[data-testid=explorer-threshold]");
        var chosen = await threshold.InnerTextAsync();
        Assert.Equal(weights.Result.Threshold.Threshold.ToString("0.0000", CultureInfo.InvariantCulture), chosen);
        var recallAtChosen = await page.Locator("[data-testid=explorer-recall] td").Nth(1).InnerTextAsync();
        Assert.Equal(weights.Result.Threshold.Confusion.Recall.ToString("0.000", CultureInfo.InvariantCulture), recallAtChosen);
        var flaggedAtChosen = await page.Locator("[data-testid=explorer-flagged] td").Nth(1).InnerTextAsync();

        // Lower the threshold: more is flagged and recall cannot fall.
        var slider = page.Locator("#threshold-slider input[type=range], input[type=range]#threshold-slider, [data-testid=threshold-explorer] input[type=range]").First;
        await slider.FocusAsync();
        for (var i = 0; i < 40; i++) await slider.PressAsync("ArrowLeft");
        await Assertions.Expect(threshold).Not.ToHaveTextAsync(chosen);
        var lowered = double.Parse(await threshold.InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.True(lowered < weights.Result.Threshold.Threshold);
        var recallLowered = double.Parse(await page.Locator("[data-testid=explorer-recall] td").Nth(1).InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.True(recallLowered >= double.Parse(recallAtChosen, CultureInfo.InvariantCulture));
        Assert.NotEqual(flaggedAtChosen, await page.Locator("[data-testid=explorer-flagged] td").Nth(1).InnerTextAsync());
        await Assertions.Expect(page.Locator("[data-testid=explorer-recall] td").Nth(2)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[01]\.\d{3} – [01]\.\d{3}$"));
        Assert.False(await PageScrollsSidewaysAsync(page), "the run page scrolls sideways at 1280 px");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("training-run-explorer.png"), FullPage = true });
        await BrowserFixture.AssertChartsFitAsync(page);
    }

    private static Task WaitForPrAucOrderAsync(IPage page, bool descending) => page.WaitForFunctionAsync(
        """
        descending => {
            const values = [...document.querySelectorAll('[data-testid=runs-table] tbody tr [data-testid=run-pr-auc]')]
                .map(c => c.innerText.trim()).filter(t => t.length > 0).map(Number);
            return values.length >= 2 && values.every((v, i) => i === 0 || (descending ? values[i - 1] >= v : values[i - 1] <= v));
        }
        """, descending);

    private static async Task<List<double>> PrAucColumnAsync(IPage page)
    {
        var cells = await page.Locator("[data-testid=runs-table] tbody tr [data-testid=run-pr-auc]").AllInnerTextsAsync();
        return [.. cells.Where(c => c.Trim().Length > 0).Select(c => double.Parse(c, CultureInfo.InvariantCulture))];
    }

    [Fact]
    public async Task TrainingForm_DatasetWithoutEventTime_DefaultsToStratified_ErrorOnTheField()
    {
        var ingestor = app.App.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            var noTime = new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["event_time"] = new(Role: ColumnRole.Ignore) });
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "timeless-data", noTime, "test");
        }

        Assert.Null(dataset.Version.Schema.EventTime);
        await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("timeless-recipes", dataset.Dataset.Id, 1,
            new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "amount"), new FeatureSpec(FeatureKind.Numeric, Column: "account_age_days")])), "test");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ftraining");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        await page.Locator("[data-testid=runs-table], [data-testid=runs-empty]").First.WaitForAsync();
        if (!await page.Locator("[data-testid=start-run-button]").IsVisibleAsync()) await page.GetByText("Start a run").ClickAsync();
        await page.Locator("[data-testid=start-run-button][data-ready]").WaitForAsync();

        await page.Locator("[data-testid=run-feature-set]").ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "timeless-recipes" }).ClickAsync();

        await Assertions.Expect(page.Locator("[data-testid=run-split]")).ToHaveAttributeAsync("data-value", SplitKind.Stratified);
        await Assertions.Expect(page.Locator("[data-testid=start-run]")).ToContainTextAsync("No event time in this dataset");

        // A name too long to store: the message sits on the name field, in words, without the API's field name.
        var name = page.Locator("input[data-testid=run-name], [data-testid=run-name] input").First;
        await name.FillAsync(new string('n', TrainingRun.MaxNameLength + 1));
        await page.Locator("[data-testid=start-run-button]").ClickAsync();
        var nameControl = page.Locator(".mud-input-control", new() { Has = page.Locator("input[data-testid=run-name], [data-testid=run-name] input") });
        await Assertions.Expect(nameControl).ToContainTextAsync("At most 200 characters");
        await Assertions.Expect(nameControl.Locator(".mud-input-error").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=run-errors]")).Not.ToContainTextAsync("name:");
        Assert.False(await PageScrollsSidewaysAsync(page), "the training page scrolls sideways at 1280 px");
    }

    [Fact]
    public async Task RunsTable_CancelAsksFirstThenTheRowShowsCancelled()
    {
        var dataset = await SampleMonth.IngestAsync(app.App, "cancel-data");

        var (featureSet, _) = await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("cancel-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        // Minutes of boosting: still queued or running when the click comes.
        var (runId, _) = await app.App.Get<TrainingService>().StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id,
            new TrainerSettings(Trees: 5000, Leaves: 64, LearningRate: 0.01), Name: "slow run to cancel"), "test");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await page.GotoAsync("/account/login?ReturnUrl=%2Ftraining");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
        var row = page.Locator("[data-testid=runs-table] tbody tr", new() { HasText = "slow run to cancel" });

        await row.Locator("[data-testid=run-cancel]").ClickAsync();

        // Nothing happens before the confirmation, and keeping it does nothing.
        await Assertions.Expect(page.Locator("[data-testid=cancel-confirm]")).ToContainTextAsync("Cancel the run “slow run to cancel”?");
        await page.Locator("[data-testid=cancel-confirm-no]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=cancel-confirm]")).ToHaveCountAsync(0);
        var jobId = (await app.App.Get<TrainingRunStore>().GetAsync(runId))!.JobId;
        Assert.NotEqual(JobStatus.Cancelled, (await app.App.Get<JobStore>().GetAsync(jobId))!.Status);

        await row.Locator("[data-testid=run-cancel]").ClickAsync();
        await page.Locator("[data-testid=cancel-confirm-yes]").ClickAsync();

        await Assertions.Expect(row.Locator("[data-run]")).ToContainTextAsync("cancelled", new() { Timeout = 60_000 });
        await Assertions.Expect(row.Locator("[data-testid=run-cancel]")).ToHaveCountAsync(0);
        var (audit, _) = await app.App.Get<FraudWorkbench.Core.Accounts.AuditLog>().PageAsync(0, 50, "job.cancel");
        Assert.Contains(audit, e => e.ObjectId == jobId.ToString());
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class ModelRegistryTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "card-not-present";

    private async Task<Job> WaitForJobAsync(Guid jobId, int seconds = 180)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var job = (await app.App.Get<JobStore>().GetAsync(jobId))!;
            if (job.IsFinished) return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {jobId} still {job.Status} ({job.Stage}).");
            await Task.Delay(200);
        }
    }

    /// <summary>An explanation's numbers from its data attributes: base value, raw score, probability and the waterfall's bars.</summary>
    private static async Task<(double Base, double Raw, double Probability, List<double> Contributions)> ShownAsync(ILocator explanation)
    {
        static double Parse(string? text) => double.Parse(text!, CultureInfo.InvariantCulture);
        var values = await explanation.Locator("[data-testid=explanation-bars] tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.value)");
        return (Parse(await explanation.GetAttributeAsync("data-base")), Parse(await explanation.GetAttributeAsync("data-raw")),
            Parse(await explanation.GetAttributeAsync("data-probability")), [.. values.Select(Parse)]);
    }

    /// <summary>Opens a tab of the version page as a user does, and checks the URL names it (so it can be linked).</summary>
    private static async Task OpenTabAsync(IPage page, string title, string key)
    {
        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex($"^{Regex.Escape(title)}$") }).ClickAsync();
        await Assertions.Expect(page.Locator($"[data-tab={key}]")).ToBeVisibleAsync();
        await page.WaitForURLAsync(new Regex(key == "overview" ? $"/versions/1$" : $"/versions/1\\?tab={key}$"));
        await AssertNoHorizontalScrollAsync(page, key);
    }

    /// <summary>The page fits its width: nothing makes it scroll sideways.</summary>
    private static async Task AssertNoHorizontalScrollAsync(IPage page, string where)
    {
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"{where}: the page is {widths[0]} px wide in a {widths[1]} px window");
    }

    /// <summary>Charts fit the page at 1280 and 1920 px; the test goes on at 1280.</summary>
    private static async Task AssertChartsFitAsync(IPage page)
    {
        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 1000);
    }

    [Fact]
    public async Task RegisterFromRun_GatePassesLive_PromoteToProduction_TryItScores()
    {
        // A real run on the month A sample, trained by the app's own worker.
        var dataset = await SampleMonth.IngestAsync(app.App, "browser-registry");

        var (featureSet, _) = await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("browser-registry-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        var (runId, trainingJob) = await app.App.Get<TrainingService>().StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 40)), "test");
        var trained = await WaitForJobAsync(trainingJob);
        Assert.True(trained.Status == JobStatus.Succeeded, trained.Error);

        // The model exists with a lenient gate before its first version is registered, so the gate job applies it.
        var registry = app.App.Get<RegistryStore>();
        await using (var connection = await registry.OpenAsync(default))
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var created = await registry.EnsureModelAsync(transaction, Model, "test", default);
            await transaction.CommitAsync();
            await registry.UpdateModelAsync(created.Id, "Card-not-present fraud", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.1)], [GateMetric.PrAuc], 1, 1), "test");
            // Fairness limits every model meets (a ratio is at least 0, a difference at most 1), so the gate passes and its fairness rows show.
            await app.App.Get<FairnessGateStore>().SaveAsync((await registry.GetModelAsync(Model))!,
                new FairnessGateSettings([new(DisparityName.DemographicParity, DisparityName.Ratio, 0), new(DisparityName.EqualizedOdds, DisparityName.Difference, 1)]), "test");
        }

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl=%2Ftraining%2F{runId}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);

        // Register from the run page: the name offered is the dataset's; this test files it under the seeded model.
        await page.Locator("#register-model").ClickAsync();
        await Assertions.Expect(page.Locator("input#register-name")).ToHaveValueAsync("browser-registry");
        await page.Locator("input#register-name").FillAsync(Model);
        await page.Locator("input#register-tags").FillAsync("browser, lightgbm");
        await page.Locator("#register-submit").ClickAsync();
        // Registering commits the version and its gate job before the page moves on: on two cores busy with the rest of
        // the suite that took over 30 s once in CI.
        await page.WaitForURLAsync(new Regex($"/models/{Model}/versions/1$"), new() { Timeout = 90_000 });

        // The gate runs as a job and its verdict arrives without a reload, in the header above the tabs.
        await Assertions.Expect(page.Locator("#gate-status")).ToHaveAttributeAsync("data-gate", GateStatus.Passed, new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("[data-tab=overview] [data-testid=lineage-checksum]")).ToHaveTextAsync(dataset.Version.Checksum);
        await OpenTabAsync(page, "Gate", "gate");
        var version = (await registry.GetVersionAsync(Model, 1))!;
        Assert.Equal(["browser", "lightgbm"], version.Tags);
        var gate = version.GateResult!;
        Assert.Equal(12_000, gate.HoldoutRows); // the latest 30 % of 40,000 rows
        var check = page.Locator("#gate-checks tr[data-check=baseline-pr_auc]");
        await Assertions.Expect(check).ToHaveAttributeAsync("data-passed", "true");
        await Assertions.Expect(check.Locator("[data-testid=check-candidate]")).ToHaveTextAsync(gate.Candidate.AveragePrecision.ToString("0.0000", CultureInfo.InvariantCulture));
        // The fairness limits, one row per protected column each, with the interval they were judged on.
        var fairness = page.Locator("#gate-checks tr[data-outcome]").Filter(new() { HasText = "fairness limit" });
        await Assertions.Expect(fairness).ToHaveCountAsync(4);
        Assert.Equal(["customer_age", "customer_age", "customer_gender", "customer_gender"],
            (await fairness.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.subject)")).Order(StringComparer.Ordinal));
        var dpGender = gate.Checks.Single(c => c.Kind == FairnessGate.LimitKind && c.Subject == "customer_gender" && c.Metric.StartsWith("demographic parity", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator("#gate-checks tr[data-subject=customer_gender][data-check^='fairness-demographic'] [data-testid=check-interval]"))
            .ToHaveTextAsync(string.Create(CultureInfo.InvariantCulture, $"[{dpGender.Lower:0.000}, {dpGender.Upper:0.000}]"));
        await AssertNoHorizontalScrollAsync(page, "gate with fairness checks");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("model-version-gate.png"), FullPage = true });

        // Metrics: the run's tiles and charts (the run page's component), fitting the page; the tab survives a reload.
        await OpenTabAsync(page, "Metrics", "metrics");
        await Assertions.Expect(page.Locator("[data-testid=chart-roc] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=version-metrics] [data-testid=pr-auc]")).ToHaveTextAsync(new Regex(@"^0\.\d{3}$"));
        await AssertChartsFitAsync(page);
        await page.ReloadAsync();
        await BrowserFixture.WaitForInteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-tab=metrics] [data-testid=chart-pr] svg")).ToBeVisibleAsync();

        // To production asks first, naming what it switches; Cancel leaves the stage as it was.
        await page.Locator("#promote-production").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=stage-confirm-text]"))
            .ToHaveTextAsync($"Version 1 will serve all live traffic for model {Model}, which has no production version now.");
        await page.Locator("#stage-cancel").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=stage-confirm]")).ToHaveCountAsync(0);
        Assert.Equal(ModelStage.Candidate, (await registry.GetVersionAsync(version.Id))!.Stage);

        await page.Locator("#promote-production").ClickAsync();
        await page.Locator("button#stage-confirm").ClickAsync();

        await Assertions.Expect(page.Locator("#stage")).ToHaveAttributeAsync("data-stage", ModelStage.Production);
        await Assertions.Expect(page.Locator("#stage")).ToHaveTextAsync(ModelStage.Production);
        Assert.Equal(ModelStage.Production, (await registry.GetVersionAsync(version.Id))!.Stage);
        Assert.Equal(1, app.App.Get<ModelServer>().Current(Model)?.Version);

        // Try it with the prefilled form: a dry run through the serving path, nothing logged.
        var log = app.App.Get<PredictionLog>();
        await log.FlushAsync();
        var written = log.Written;
        await OpenTabAsync(page, "Try it", "try-it");
        await page.Locator("#try-it-score").ClickAsync();

        var result = page.Locator("#try-it-result");
        await Assertions.Expect(result).ToContainTextAsync(new Regex(@"Fraud probability \d\.\d{4}"));
        await Assertions.Expect(result).ToContainTextAsync(new Regex("decision (fraud: flag for review|legitimate: pass)"));
        await Assertions.Expect(result).ToContainTextAsync($"{Model} v1");
        var shown = double.Parse((await result.GetAttributeAsync("data-probability"))!, CultureInfo.InvariantCulture);
        var decision = await result.GetAttributeAsync("data-decision");

        // The same transaction scored on the server gives the same probability and decision.
        var model = await app.App.Get<ModelServer>().ResolveAsync(Model, 1);
        var values = new Dictionary<string, object?>();
        foreach (var name in model.Contract.RequiredColumns)
        {
            var column = model.Contract.Schema.Columns.First(c => c.Name == name);
            var text = await page.Locator($"[data-try-field={name}]").GetAttributeAsync("data-value") ?? "";
            values[name] = text.Length == 0 ? null : column.Type switch
            {
                ColumnType.Integer or ColumnType.Decimal => double.Parse(text, CultureInfo.InvariantCulture),
                ColumnType.Boolean => bool.Parse(text),
                _ => text,
            };
        }

        var input = JsonSerializer.SerializeToElement(values);
        var issues = new List<InputIssue>();
        var row = model.Contract.Parse(input, "", issues);
        Assert.True(row is not null, string.Join("; ", issues.Select(i => $"{i.Field}: {i.Message}")));
        var expected = (await app.App.Get<ScoringService>().PredictAsync(model, [row], [input], "test", dryRun: true, default))[0];
        Assert.Equal(expected.Probability, shown, 12);
        Assert.Equal(expected.Decision ? "fraud" : "legitimate", decision);
        Assert.InRange(shown, 0, 1);

        // Its explanation: a waterfall by input column whose bars take the base value to the raw score, for the
        // probability shown, and the same numbers the server gives for that transaction.
        var explanation = page.Locator("#try-it-explanation");
        await Assertions.Expect(explanation.Locator("[data-testid=waterfall] svg")).ToBeVisibleAsync();
        await Assertions.Expect(explanation).ToHaveAttributeAsync("data-method", "treeshap");
        await Assertions.Expect(explanation).ToContainTextAsync("Exact TreeSHAP contributions (log-odds)");
        var (baseValue, raw, explainedProbability, contributions) = await ShownAsync(explanation);
        Assert.True(Math.Abs(baseValue + contributions.Sum() - raw) < 1e-6, $"{baseValue} + {contributions.Sum()} ≠ {raw}");
        Assert.Equal(shown, explainedProbability, 12);
        var server = (await app.App.Get<ScoringService>().ExplainAsync(model, row, default))!;
        Assert.Equal(server.BaseValue, baseValue, 12);
        Assert.Equal(server.RawScore, raw, 9);
        Assert.Equal(Math.Min(server.Columns.Count, 11), contributions.Count);
        await explanation.Locator("[data-testid=explain-by-feature]").ClickAsync();
        await Assertions.Expect(explanation).ToHaveAttributeAsync("data-view", "features");
        var byFeature = await ShownAsync(explanation);
        Assert.Equal(Math.Min(server.Features.Count, 11), byFeature.Contributions.Count);
        Assert.True(Math.Abs(byFeature.Base + byFeature.Contributions.Sum() - byFeature.Raw) < 1e-6);
        await log.FlushAsync();
        Assert.Equal(written, log.Written);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("model-version.png"), FullPage = true });

        // A bad value is refused field by field, as the scoring API would.
        await page.Locator("input[data-testid=try-amount]").FillAsync("lots");
        await page.Locator("#try-it-score").ClickAsync();
        await Assertions.Expect(page.Locator("#try-it")).ToContainTextAsync("Expected a number, got a string.");
        await Assertions.Expect(page.Locator("#try-it-result")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#try-it-explanation")).ToHaveCountAsync(0);

        // A logged prediction (with its top reasons) is listed under recent predictions and explained from its stored features.
        var loggedPrediction = (await app.App.Get<ScoringService>().PredictAsync(model, [row], [input], "test", dryRun: false, default, reasons: 3))[0];
        await log.FlushAsync();
        await OpenTabAsync(page, "Predictions", "predictions");
        await page.Locator("#recent-refresh").ClickAsync();
        var listedPrediction = page.Locator($"[data-prediction='{loggedPrediction.PredictionId}']");
        await Assertions.Expect(listedPrediction.Locator("[data-testid=recent-probability]")).ToHaveTextAsync(loggedPrediction.Probability.ToString("0.0000", CultureInfo.InvariantCulture));
        await Assertions.Expect(listedPrediction.Locator("[data-reason]")).ToHaveCountAsync(loggedPrediction.Reasons!.Count);
        await listedPrediction.Locator("[data-testid=explain-prediction]").ClickAsync();
        var storedExplanation = page.Locator("#prediction-explanation");
        await Assertions.Expect(storedExplanation.Locator("[data-testid=waterfall] svg")).ToBeVisibleAsync();
        var stored = await ShownAsync(storedExplanation);
        Assert.True(Math.Abs(stored.Base + stored.Contributions.Sum() - stored.Raw) < 1e-6, $"{stored.Base} + {stored.Contributions.Sum()} ≠ {stored.Raw}");
        Assert.Equal(loggedPrediction.Probability, stored.Probability, 9);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("model-version-explained.png"), FullPage = true });

        // Explanations: the one explain-a-row tool, numbering the holdout's labelled rows; the highest-scored row's
        // waterfall adds up to its raw score, and its probability is the one the model gives that row.
        await OpenTabAsync(page, "Explanations", "explanations");
        await Assertions.Expect(page.Locator("#holdout-explanation")).ToHaveCountAsync(0);
        await page.Locator("#load-holdout").ClickAsync();
        var rows = page.Locator("#validation-rows");
        await Assertions.Expect(rows).ToHaveAttributeAsync("data-state", "ready", new() { Timeout = 120_000 });
        // Row 0 is shown first; wait for the highest row to replace it before reading, or the numbers mix two rows.
        var highestRow = Regex.Match(await page.Locator("#validation-highest").TextContentAsync() ?? "", @"row (\d+)", RegexOptions.IgnoreCase).Groups[1].Value;
        await page.Locator("#validation-highest").ClickAsync();
        await Assertions.Expect(rows).ToHaveAttributeAsync("data-row", highestRow);
        var rowExplanation = page.Locator("#validation-explanation");
        await Assertions.Expect(rowExplanation.Locator("[data-testid=waterfall] svg")).ToBeVisibleAsync();
        var highest = await ShownAsync(rowExplanation);
        Assert.True(Math.Abs(highest.Base + highest.Contributions.Sum() - highest.Raw) < 1e-6, $"{highest.Base} + {highest.Contributions.Sum()} ≠ {highest.Raw}");
        var summary = page.Locator("[data-testid=validation-row-summary]");
        Assert.Equal(highest.Probability, double.Parse((await summary.GetAttributeAsync("data-probability"))!, CultureInfo.InvariantCulture), 9);
        await AssertChartsFitAsync(page);

        // History: the promotion, with who made it.
        await OpenTabAsync(page, "History", "history");
        await Assertions.Expect(page.Locator("[data-testid=version-history]")).ToContainTextAsync(ModelStage.Production);
        await OpenTabAsync(page, "Overview", "overview");
        await Assertions.Expect(page.Locator("[data-testid=tags-notes]")).ToContainTextAsync("lightgbm");

        // The registry list shows the model with its production version.
        await page.GotoAsync("/models");
        await BrowserFixture.WaitForInteractiveAsync(page);
        var listed = page.Locator("[data-testid=models-table] tbody tr").Filter(new() { HasText = Model });
        await Assertions.Expect(listed.Locator("[data-testid=model-production]")).ToHaveTextAsync("v1");

        // The model page: its version in production, the gate it was checked against and the promotion in its history.
        await listed.Locator("a").First.ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=versions-table] [data-stage]")).ToHaveAttributeAsync("data-stage", ModelStage.Production);
        await Assertions.Expect(page.Locator("[data-testid=gate-baselines]")).ToContainTextAsync(">= 0.1");
        await Assertions.Expect(page.Locator("[data-testid=stage-history] tbody tr")).ToHaveCountAsync(2);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("model.png"), FullPage = true });
    }
}

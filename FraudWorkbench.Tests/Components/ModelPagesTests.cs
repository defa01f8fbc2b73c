using System.Globalization;
using System.Text;
using System.Text.Json;
using AngleSharp.Dom;
using Bunit;
using FraudWorkbench.Components.Pages.Models;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor;
using Npgsql;

namespace FraudWorkbench.Tests.Components;

/// <summary>
/// The registry pages on a real database. Training and the gate job do not run here (no worker): a run's result and
/// a gate's verdict are stored through the same stores the training job and gate job use, with known numbers.
/// The browser test <c>ModelRegistryTests</c> covers the real training → registration → gate → promotion path.
/// </summary>
[Trait("Category", "Database")]
public sealed class ModelPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Csv = "event_time,customer_id,amount,ip_country,home_country,merchant_category,is_fraud\n" +
        "2026-01-01T10:00:00Z,c1,10,DE,DE,groceries,0\n2026-01-01T10:05:00Z,c1,250,NG,DE,electronics,1\n" +
        "2026-01-01T11:00:00Z,c2,30,FR,FR,groceries,0\n2026-01-02T09:00:00Z,c1,12,DE,DE,fashion,0\n";

    private static readonly ClassificationReport Metrics = new(RocAuc: 0.8765, AveragePrecision: 0.4123, LogLoss: 0.2345, Brier: 0.0612, RecallAtOnePercentFpr: 0.7012, Positives: 37, Negatives: 963);

    /// <summary>
    /// A page context with the registry, training and scoring services as well. PageContext already rendered its popover
    /// provider, so its own collection is closed: these come from a fallback provider sharing its stores and event hub.
    /// </summary>
    private sealed class RegistryPageContext : IAsyncDisposable
    {
        private readonly ServiceProvider fallback;

        public RegistryPageContext(DatabaseFixture db, string role)
        {
            Page = new PageContext(db, role);
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSingleton(db.DataSource);
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(Page.Hub);
            services.AddSingleton(Page.Get<DatasetStore>());
            services.AddSingleton(Page.Get<ArtifactStore>());
            services.AddSingleton(Page.Get<FeatureSetStore>());
            services.AddSingleton(Options.Create(new ScoringOptions()));
            services.AddSingleton<TrainingRunStore>();
            services.AddSingleton<RegistryStore>();
            services.AddSingleton<ModelLoader>();
            services.AddSingleton<ModelServer>();
            services.AddSingleton<RegistryService>();
            services.AddSingleton<EntityStateStore>();
            services.AddSingleton<PredictionLog>();
            services.AddSingleton<ScoringService>();
            services.AddSingleton<PredictionStore>();
            services.AddSingleton<GlobalExplanationStore>();
            services.AddSingleton<HoldoutExplainer>();
            services.AddSingleton<FraudWorkbench.Core.Fairness.FairnessStore>();
            services.AddSingleton<FraudWorkbench.Core.Fairness.FairnessGateStore>();
            services.AddSingleton<FraudWorkbench.Core.Fairness.FairnessSignOffStore>();
            services.AddSingleton(Options.Create(new FraudWorkbench.Core.Fairness.FairnessOptions()));
            fallback = services.BuildServiceProvider();
            Page.Bunit.Services.AddFallbackServiceProvider(fallback);
        }

        public PageContext Page { get; }

        public T Get<T>() where T : notnull => Page.Get<T>();

        /// <summary>Starts the prediction log's writer (no host runs it here), for tests that log predictions.</summary>
        public async Task<PredictionLog> StartLogAsync()
        {
            var log = fallback.GetRequiredService<PredictionLog>();
            await log.StartAsync(default);
            logStarted = true;
            return log;
        }

        private bool logStarted;

        public async ValueTask DisposeAsync()
        {
            if (logStarted) await fallback.GetRequiredService<PredictionLog>().StopAsync(default);
            await Page.DisposeAsync();
            await fallback.DisposeAsync();
        }
    }

    private sealed record Prepared(IngestResult Dataset, FeatureSetVersion FeatureSet, Guid RunId, ModelVersion Version);

    /// <summary>A dataset, a feature set, a succeeded run with <see cref="Metrics"/> and version 1 of <paramref name="model"/> with a failed gate.</summary>
    /// <param name="explainer">The run's explainer artifact checksum: a version that can be explained (the page does not load it to show one).</param>
    /// <param name="features">The feature set's features; by default the amount and the ip / home country mismatch.</param>
    private async Task<Prepared> PrepareFailedVersionAsync(RegistryPageContext context, string model, string? explainer = null, FeatureSpec[]? features = null)
    {
        var ingestor = context.Get<DatasetIngestor>();
        var dataset = await ingestor.IngestAsync(await ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv)), model + ".csv"), model, SchemaOverrides.None, "test");
        var (featureSet, _) = await context.Get<FeatureSetService>().CreateAsync(new NewFeatureSet(model + "-features", dataset.Dataset.Id, 1, new(features ??
        [
            new FeatureSpec(FeatureKind.Numeric, Column: "amount"),
            new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        ])), "test");

        var runs = context.Get<TrainingRunStore>();
        var runId = Guid.CreateVersion7();
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var job = await JobStore.InsertAsync(transaction, TrainingJobHandler.KindName, new { runId }, "test", 1, TimeProvider.System, default);
            await runs.CreateAsync(runId, job.Id, new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings()), "test", transaction, default);
            await transaction.CommitAsync();
        }

        var result = new TrainingResult(
            Metrics, new ThresholdChoice("max_f1", 0.3125, new ConfusionMatrix(20, 10, 953, 17)),
            [new CurvePoint(1, 0, 0), new CurvePoint(0.5, 0.1, 0.7), new CurvePoint(0, 1, 1)],
            [new CurvePoint(0.9, 0, 1), new CurvePoint(0.5, 0.5, 0.5), new CurvePoint(0, 1, 0.037)],
            [new CalibrationBin(0.05, 0.04, 900), new CalibrationBin(0.6, 0.55, 100)],
            null, null, 2000, 0, 1000, ["amount", "ip_country__ne__home_country"],
            new ModelArtifacts("zip-sha", null, "metadata-sha", "checksums-sha", null, "not exported in this test", "features-sha", explainer),
            [12.5, 3.25], [new ScoreBin(0, 0.5, 950, 10), new ScoreBin(0.5, 1, 13, 27)]);
        await runs.CompleteAsync(runId, result, "zip-sha", 1500);

        var version = await context.Get<RegistryService>().RegisterAsync(model, runId, ["bunit", "baseline"], "Registered by the page tests.", "test");
        var gate = new GateResult(false,
        [
            new GateCheck("baseline", GateMetric.PrAuc, ">= 0.5", 0.4123, 0.5, false),
            new GateCheck("baseline", GateMetric.RecallAtOnePercentFpr, ">= 0.6", 0.7012, 0.6, true),
        ], Metrics, null, null, null, 1000, DateTime.UtcNow);
        await context.Get<RegistryStore>().SetGateAsync(version.Id, GateStatus.Failed, gate);
        return new Prepared(dataset, featureSet, runId, (await context.Get<RegistryStore>().GetVersionAsync(version.Id))!);
    }

    [Fact]
    public async Task List_RegisteredModel_ShownWithVersionCountAndNoProduction()
    {
        await using var context = new RegistryPageContext(db, Roles.Reviewer);
        await PrepareFailedVersionAsync(context, "list-model");

        var page = context.Page.Render<ModelList>();

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-model=list-model]")));
        var row = page.FindAll("[data-testid=models-table] tbody tr").Single(r => r.QuerySelector("[data-model=list-model]") is not null);
        Assert.Equal("models/list-model", row.QuerySelector("a")!.GetAttribute("href"));
        Assert.Equal("1", row.QuerySelector("[data-testid=model-versions]")!.TextContent.Trim());
        Assert.Equal("none", row.QuerySelector("[data-testid=model-production]")!.TextContent.Trim());
    }

    [Fact]
    public async Task Version_FailedGate_ShowsChecksAndRefusesProduction()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "failed-gate");

        var page = RenderVersion(context, "failed-gate", "gate");

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("#gate-checks tbody tr").Count));
        var prAuc = page.Find("#gate-checks tr[data-check=baseline-pr_auc]");
        Assert.Equal("false", prAuc.GetAttribute("data-passed"));
        Assert.Equal("0.4123", prAuc.QuerySelector("[data-testid=check-candidate]")!.TextContent);
        Assert.Contains(">= 0.5", prAuc.TextContent);
        Assert.Contains("fail", prAuc.TextContent);
        Assert.Equal("true", page.Find("#gate-checks tr[data-check=baseline-recall_at_1pct_fpr]").GetAttribute("data-passed"));
        Assert.Contains("1,000 holdout rows", page.Find("[data-testid=gate-summary]").TextContent);
        Assert.Contains("no production version to compare with", page.Find("[data-testid=gate-summary]").TextContent);
        Assert.Equal("failed", page.Find("#gate-status").GetAttribute("data-gate"));
        Assert.Contains("Production is refused: this version's validation gate is failed", page.Find("#promotion-blocked").TextContent);

        // The run's metrics and curves, in their own tab.
        await ShowTabAsync(page, "Metrics");
        page.WaitForAssertion(() => Assert.Equal("0.412", page.Find("[data-testid=pr-auc]").TextContent));
        Assert.Equal("0.877", page.Find("[data-testid=roc-auc]").TextContent);
        Assert.Equal("0.3125", page.Find("[data-testid=threshold]").TextContent);
        Assert.NotNull(page.Find("[data-testid=chart-roc] svg"));
        Assert.Contains("split gain", page.Find("[data-testid=chart-importance]").TextContent);
        Assert.Contains("On 1,000 validation rows (37 fraud)", page.Find("[data-testid=run-metrics-caption]").TextContent);

        // The lineage, on the overview.
        await ShowTabAsync(page, "Overview");
        page.WaitForAssertion(() => // the lineage loads after the run, and the page may render between
        {
            Assert.Equal(prepared.Dataset.Version.Checksum, page.Find("[data-testid=lineage-checksum]").TextContent);
            Assert.Contains("failed-gate-features v1", page.Find("[data-testid=lineage-feature-set]").TextContent);
        });
        Assert.Contains("Registered by the page tests.", page.Find("[data-testid=version-notes]").TextContent);

        // The try-it form reads the model's columns, prefilled from the profile: the median amount of 10, 12, 30, 250 is 21.
        await ShowTabAsync(page, "Try it");
        page.WaitForAssertion(() => Assert.Equal("21", page.Find("input[data-testid=try-amount]").GetAttribute("value")));
        Assert.Empty(page.FindAll("[data-testid=override-form]")); // Admins only

        // To production asks first, saying what it will do; Cancel does nothing.
        await page.ClickAsync("#promote-production");

        page.WaitForAssertion(() => Assert.Equal("Version 1 will serve all live traffic for model failed-gate, which has no production version now.",
            page.Find("[data-testid=stage-confirm-text]").TextContent.Trim()));
        await page.ClickAsync("#stage-cancel");

        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=stage-confirm]")));
        Assert.Empty(page.FindAll("#action-error"));
        Assert.Equal(ModelStage.Candidate, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);

        // Confirmed, the registry still refuses: the gate failed.
        await page.ClickAsync("#promote-production");
        await page.ClickAsync("button#stage-confirm");

        page.WaitForAssertion(() => Assert.Contains("did not pass its validation gate (failed)", page.Find("#action-error").TextContent));
        Assert.Equal("candidate", page.Find("#stage").GetAttribute("data-stage"));
        Assert.Equal(ModelStage.Candidate, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);

        // Staging needs no gate.
        await page.ClickAsync("#promote-staging");

        page.WaitForAssertion(() => Assert.Equal("staging", page.Find("#stage").GetAttribute("data-stage")));
        Assert.Equal(ModelStage.Staging, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);
        await ShowTabAsync(page, "History");
        page.WaitForAssertion(() => Assert.Contains("staging", page.Find("[data-testid=version-history]").TextContent));

        // Archive asks too: Cancel keeps the stage, confirming archives.
        await page.ClickAsync("#promote-archived");
        page.WaitForAssertion(() => Assert.Contains("Version 1 of model failed-gate will be archived", page.Find("[data-testid=stage-confirm-text]").TextContent));
        await page.ClickAsync("#stage-cancel");
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("[data-testid=stage-confirm]")));
        Assert.Equal(ModelStage.Staging, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);

        await page.ClickAsync("#promote-archived");
        await page.ClickAsync("button#stage-confirm");

        page.WaitForAssertion(() => Assert.Equal("archived", page.Find("#stage").GetAttribute("data-stage")));
        Assert.Equal(ModelStage.Archived, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);
        page.WaitForAssertion(() => Assert.Contains("archived", page.Find("[data-testid=version-history]").TextContent));
    }

    private static List<string?> TryFields(IRenderedComponent<ModelVersionDetail> page) =>
        [.. page.FindAll("[data-try-field]").Select(f => f.GetAttribute("data-try-field")).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Version_SwitchedToAnotherVersion_OldErrorsGoneAndTryItBuiltFromTheNewFeatureSet()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        await PrepareFailedVersionAsync(context, "switch-from");
        await PrepareFailedVersionAsync(context, "switch-to", features:
            [new FeatureSpec(FeatureKind.Numeric, Column: "amount"), new FeatureSpec(FeatureKind.OneHot, Column: "merchant_category", TopK: 5)]);
        var page = RenderVersion(context, "switch-from", "try-it");
        page.WaitForAssertion(() => Assert.Equal(["amount", "home_country", "ip_country"], TryFields(page)));

        // Errors on the first version: its artifacts were never written, so scoring cannot load its model; its gate failed.
        await page.ClickAsync("#try-it-score");
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=try-it-error]")));
        await page.ClickAsync("#promote-production");
        await page.ClickAsync("button#stage-confirm");
        page.WaitForAssertion(() => Assert.Contains("did not pass its validation gate", page.Find("#action-error").TextContent));

        // Moving to another version (as a link from the model page does) re-initialises every panel from that version.
        page.Render(p => p.Add(x => x.Name, "switch-to").Add(x => x.Version, 1));

        page.WaitForAssertion(() => Assert.Equal(["amount", "merchant_category"], TryFields(page)));
        Assert.Empty(page.FindAll("[data-testid=try-it-error]"));
        Assert.Empty(page.FindAll("#action-error"));
        Assert.Contains("switch-to", page.Find("h4").TextContent);
        // The new form is prefilled from the new version's own profile: groceries is its most frequent merchant category (2 of 4).
        Assert.Equal("groceries", page.Find("[data-try-field=merchant_category]").GetAttribute("data-value"));
        Assert.Equal("21", page.Find("[data-try-field=amount]").GetAttribute("data-value"));
    }

    [Fact]
    public async Task Version_EachTab_RendersItsPanel_AndTheTabIsInTheUrl()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        await PrepareFailedVersionAsync(context, "tabs-model", explainer: "explainer-sha");
        var page = RenderVersion(context, "tabs-model", "overview");
        page.WaitForElement("[data-tab=overview] [data-testid=lineage]");
        var navigation = context.Page.Bunit.Services.GetRequiredService<NavigationManager>();

        var panels = new Dictionary<string, string>
        {
            ["Gate"] = "#gate-result", ["Metrics"] = "[data-testid=version-metrics]", ["Explanations"] = "#global-explanations",
            ["Fairness"] = "[data-testid=fairness-panel]",
            ["Try it"] = "#try-it", ["Predictions"] = "#recent-predictions", ["History"] = "[data-testid=version-history]", ["Overview"] = "[data-testid=tags-notes]",
        };
        foreach (var (title, selector) in panels)
        {
            await ShowTabAsync(page, title);
            var key = ModelVersionDetail.Tabs.Single(t => t.Title == title).Key;
            page.WaitForAssertion(() => Assert.NotNull(page.Find($"[data-tab={key}] {selector}")));
            Assert.Single(page.FindAll("[data-tab]")); // only the open tab's panel is rendered (and loads)
            Assert.Equal(key == "overview" ? "" : $"?tab={key}", new Uri(navigation.Uri).Query);
        }

        // A link to a tab opens it; an unknown tab opens the overview.
        Assert.NotNull(RenderVersion(context, "tabs-model", "metrics").WaitForElement("[data-tab=metrics]"));
        Assert.NotNull(RenderVersion(context, "tabs-model", "nonsense").WaitForElement("[data-tab=overview]"));
    }

    [Fact]
    public async Task Version_Reviewer_SeesTheGateButNoPromotionOrTryIt()
    {
        await using var context = new RegistryPageContext(db, Roles.Reviewer);
        await PrepareFailedVersionAsync(context, "reviewer-view");

        var page = RenderVersion(context, "reviewer-view", "gate");

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("#gate-checks tbody tr").Count));
        Assert.Empty(page.FindAll("#promote-production"));
        Assert.Empty(page.FindAll("#promote-staging"));
        Assert.Empty(page.FindAll("#rerun-gate"));
        Assert.Empty(page.FindAll("[data-testid=override-form]"));
        await ShowTabAsync(page, "Try it");
        Assert.Empty(page.FindAll("#try-it-score"));
        Assert.Contains("needs the Admin or Data Scientist role", page.Find("#try-it").TextContent);
    }

    [Fact]
    public async Task Version_AdminOverride_ShortReasonRefusedThenLongReasonOverrides()
    {
        await using var context = new RegistryPageContext(db, Roles.Admin);
        var prepared = await PrepareFailedVersionAsync(context, "override-gate");
        var page = RenderVersion(context, "override-gate", "gate");
        page.WaitForElement("[data-testid=override-form]");

        await page.ChangeAsync("#override-reason", "too short");
        await page.ClickAsync("#override-gate");

        page.WaitForAssertion(() => Assert.Contains("at least 10 characters", page.Find("[data-testid=override-form]").TextContent));
        Assert.Equal(GateStatus.Failed, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.GateStatus);

        await page.ChangeAsync("#override-reason", "Fraud ops accept the lower PR-AUC for the holiday peak.");
        await page.ClickAsync("#override-gate");

        page.WaitForAssertion(() => Assert.Equal("overridden", page.Find("#gate-status").GetAttribute("data-gate")));
        var stored = (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!;
        Assert.Equal((GateStatus.Overridden, "Fraud ops accept the lower PR-AUC for the holiday peak."), (stored.GateStatus, stored.OverrideReason));
        Assert.Contains("holiday peak", page.Find("[data-testid=override-reason-shown]").TextContent);
        Assert.Empty(page.FindAll("#promotion-blocked"));
    }

    [Fact]
    public async Task Model_GateEditor_InvalidMarginShownByFieldThenValidGateSaved()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "gate-editor");
        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "gate-editor"));
        page.WaitForAssertion(() => Assert.Contains("0.412", page.Find("[data-testid=versions-table] [data-testid=version-pr-auc]").TextContent));
        Assert.Equal("failed", page.Find("[data-testid=versions-table] [data-gate]").GetAttribute("data-gate"));

        await page.ClickAsync("#edit-gate");
        await page.ChangeAsync("input[data-testid=max-relative-drop]", "1.5");
        await page.ClickAsync("#save-gate");

        page.WaitForAssertion(() => Assert.Contains("maxRelativeDrop", page.Find("#gate-errors").TextContent));
        Assert.Contains("between 0 and 1", page.Markup);
        var model = (await context.Get<RegistryStore>().GetModelAsync("gate-editor"))!;
        Assert.Equal(GateSettings.Default.MaxRelativeDrop, model.Gate.MaxRelativeDrop);

        await page.ChangeAsync("input[data-testid=max-relative-drop]", "0.1");
        await page.ChangeAsync("input[data-testid=baseline-0-threshold]", "0.35");
        await page.ClickAsync("#save-gate");

        page.WaitForAssertion(() => Assert.Contains(">= 0.35", page.Find("[data-testid=gate-baselines]").TextContent));
        var saved = (await context.Get<RegistryStore>().GetModelAsync("gate-editor"))!.Gate;
        Assert.Equal(0.1, saved.MaxRelativeDrop);
        Assert.Equal(new GateBaseline(GateMetric.PrAuc, ">=", 0.35), saved.Baselines[0]);
        Assert.Equal(prepared.Version.RegisteredModelId, model.Id);
    }
    [Fact]
    public async Task Model_GateEditor_DescriptionOverTheApisLimit_RefusedByFieldNothingSaved()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        await PrepareFailedVersionAsync(context, "long-description");
        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "long-description"));
        page.WaitForElement("[data-testid=versions-table]");

        await page.ClickAsync("#edit-gate");
        await page.ChangeAsync("input[data-testid=model-description]", new string('d', 2001));
        await page.ClickAsync("#save-gate");

        page.WaitForAssertion(() => Assert.Contains("description", page.Find("#gate-errors").TextContent));
        Assert.Contains("At most 2,000 characters", page.Markup);
        Assert.Equal("", (await context.Get<RegistryStore>().GetModelAsync("long-description"))!.Description);
    }

    [Fact]
    public async Task Version_InconclusiveFairnessCheck_ShownWithIntervalAndAdminMayOverride()
    {
        await using var context = new RegistryPageContext(db, Roles.Admin);
        var prepared = await PrepareFailedVersionAsync(context, "fairness-gate-shown");
        var gate = new GateResult(false,
        [
            new GateCheck("baseline", GateMetric.PrAuc, ">= 0.3", 0.4123, 0.3, true),
            new GateCheck(FairnessGate.LimitKind, "demographic parity ratio (between groups)", "≥ 0.8; fails only when the whole 95 % interval is below it", 0.8512, 0.8, true,
                Lower: 0.7904, Upper: 0.9133, Subject: "customer_gender"),
            new GateCheck(FairnessGate.LimitKind, "demographic parity ratio (between groups)", "≥ 0.8. Cannot be judged: fewer than two groups", null, 0.8, false,
                Inconclusive: true, Subject: "customer_age × customer_gender"),
        ], Metrics, null, null, null, 1000, DateTime.UtcNow);
        await context.Get<RegistryStore>().SetGateAsync(prepared.Version.Id, GateStatus.Inconclusive, gate);

        var page = RenderVersion(context, "fairness-gate-shown", "gate");

        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("#gate-checks tbody tr").Count));
        var rows = page.FindAll("#gate-checks tbody tr");
        Assert.Equal(["pass", "pass", "inconclusive"], rows.Select(r => r.GetAttribute("data-outcome")));
        Assert.Equal("[0.790, 0.913]", rows[1].QuerySelector("[data-testid=check-interval]")!.TextContent);
        Assert.Contains("fairness limit", rows[1].TextContent);
        Assert.Contains("by customer_gender", rows[1].TextContent);
        Assert.Equal("—", rows[2].QuerySelector("[data-testid=check-candidate]")!.TextContent.Trim());
        Assert.StartsWith("Inconclusive", page.Find("[data-testid=gate-summary]").TextContent.Trim());
        Assert.Equal("inconclusive", page.Find("#gate-status").GetAttribute("data-gate"));
        Assert.NotNull(page.Find("[data-testid=override-form]"));
    }

    [Fact]
    public async Task Model_FairnessGateEditor_LimitSetOverTheApiWithMeanAggregation_KeptWhenAnotherIsEdited()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "fairness-gate-mean");
        var model = (await context.Get<RegistryStore>().GetModelAsync("fairness-gate-mean"))!;
        var mean = new FairnessLimit(DisparityName.EqualizedOdds, DisparityName.Difference, 0.15, Aggregation: DisparityName.Mean);
        await context.Get<FairnessGateStore>().SaveAsync(model, new FairnessGateSettings([new(DisparityName.DemographicParity, DisparityName.Ratio, 0.8), mean]), "test");
        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "fairness-gate-mean"));
        page.WaitForAssertion(() => Assert.Contains("equalized odds difference (mean, between groups)", page.Find("[data-testid=fairness-limits]").TextContent));

        await page.ClickAsync("#edit-fairness-gate");
        await page.ChangeAsync("input[data-testid=fairness-limit-0-threshold]", "0.7");
        await page.ClickAsync("#save-fairness-gate");

        page.WaitForAssertion(() => Assert.Contains("≥ 0.7", page.Find("[data-testid=fairness-limits]").TextContent));
        var saved = await context.Get<FairnessGateStore>().GetAsync(prepared.Version.RegisteredModelId);
        Assert.Equal([new FairnessLimit(DisparityName.DemographicParity, DisparityName.Ratio, 0.7), mean], saved.Limits);
    }

    [Fact]
    public async Task Model_FairnessGateEditor_BadThresholdNamedThenSuggestedLimitsSavedAndAudited()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "fairness-gate-editor");
        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "fairness-gate-editor"));
        page.WaitForAssertion(() => Assert.Contains("No fairness limits.", page.Find("[data-testid=fairness-limits]").TextContent));

        await page.ClickAsync("#edit-fairness-gate");
        await page.ClickAsync("#suggested-fairness-limits");
        await page.ChangeAsync("input[data-testid=fairness-limit-0-threshold]", "1.5");
        await page.ClickAsync("#save-fairness-gate");

        page.WaitForAssertion(() => Assert.Contains("limits[0].threshold", page.Find("#fairness-gate-errors").TextContent));
        Assert.Empty((await context.Get<FairnessGateStore>().GetAsync(prepared.Version.RegisteredModelId)).Limits);

        await page.ChangeAsync("input[data-testid=fairness-limit-0-threshold]", "0.75");
        await page.ClickAsync("#save-fairness-gate");

        page.WaitForAssertion(() => Assert.Contains("≥ 0.75", page.Find("[data-testid=fairness-limits]").TextContent));
        Assert.Contains("equalized odds difference (worst case, between groups)", page.Find("[data-testid=fairness-limits]").TextContent);
        var saved = await context.Get<FairnessGateStore>().GetAsync(prepared.Version.RegisteredModelId);
        Assert.Equal([new FairnessLimit(DisparityName.DemographicParity, DisparityName.Ratio, 0.75), new FairnessLimit(DisparityName.EqualizedOdds, DisparityName.Difference, 0.1)], saved.Limits);
        Assert.False(saved.NonRegression);
    }

    [Fact]
    public async Task Model_RollbackWithNoEarlierProduction_ConfirmThenRefusalShown()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "no-rollback");
        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "no-rollback"));
        page.WaitForElement("[data-testid=versions-table]");
        Assert.Empty(page.FindAll("#rollback-confirm"));

        await page.ClickAsync("#rollback");
        await page.ChangeAsync("input[data-testid=rollback-reason]", "checking");
        await page.ClickAsync("#rollback-confirm");

        page.WaitForAssertion(() => Assert.Contains("Model 'no-rollback' has no earlier production version to roll back to.", page.Find("#action-error").TextContent));
        Assert.Empty(page.FindAll("#rollback-confirm"));
        Assert.Equal(ModelStage.Candidate, (await context.Get<RegistryStore>().GetVersionAsync(prepared.Version.Id))!.Stage);
        Assert.Single((await context.Get<RegistryStore>().HistoryAsync(prepared.Version.RegisteredModelId))); // only the registration
    }

    [Fact]
    public async Task Model_Reviewer_NoGateEditorOrRollback()
    {
        await using var context = new RegistryPageContext(db, Roles.Reviewer);
        await PrepareFailedVersionAsync(context, "reviewer-model");

        var page = context.Page.Bunit.Render<ModelDetail>(p => p.Add(x => x.Name, "reviewer-model"));

        page.WaitForAssertion(() => Assert.Contains("PR-AUC", page.Find("[data-testid=gate-baselines]").TextContent));
        Assert.Contains(">= 0.5", page.Find("[data-testid=gate-baselines]").TextContent);
        Assert.Contains("at most 0.01 and at most 5% worse", page.Find("[data-testid=gate-champion]").TextContent);
        Assert.Empty(page.FindAll("#edit-gate"));
        Assert.Empty(page.FindAll("#rollback"));
    }

    /// <summary>
    /// A real LightGBM run on the month A sample, trained here by the training job's own handler (no worker runs in these
    /// tests), registered as version 1 of <paramref name="model"/>. Its artifacts include explainer.json.
    /// </summary>
    private async Task<(ModelVersion Version, DatasetSchema Schema)> TrainAndRegisterAsync(RegistryPageContext context, string model)
    {
        var ingestor = context.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, model + ".csv"), model, SchemaOverrides.None, "test");
        }

        var (featureSet, _) = await context.Get<FeatureSetService>().CreateAsync(new NewFeatureSet(model + "-features", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        var runs = context.Get<TrainingRunStore>();
        var runId = Guid.CreateVersion7();
        Job job;
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            job = await JobStore.InsertAsync(transaction, TrainingJobHandler.KindName, new { runId }, "test", 1, TimeProvider.System, default);
            await runs.CreateAsync(runId, job.Id, new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 20)), "test", transaction, default);
            await transaction.CommitAsync();
        }

        var handler = new TrainingJobHandler(runs, context.Get<DatasetStore>(), context.Get<FeatureSetStore>(), context.Get<ArtifactStore>());
        await handler.ExecuteAsync(new JobContext(job, "bunit", context.Get<JobStore>(), TimeProvider.System, TimeSpan.FromSeconds(5), _ => { }), default);
        Assert.NotNull((await runs.GetAsync(runId))!.Result!.Artifacts!.Explainer);
        var version = await context.Get<RegistryService>().RegisterAsync(model, runId, ["bunit"], "", "test");
        return (version, dataset.Version.Schema);
    }

    private static double Number(string? text) => double.Parse(text!, CultureInfo.InvariantCulture);

    /// <summary>The version page opened on a tab, as a link with <c>?tab=</c> opens it.</summary>
    private static IRenderedComponent<ModelVersionDetail> RenderVersion(RegistryPageContext context, string model, string tab, int version = 1)
    {
        var navigation = context.Page.Bunit.Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo($"models/{model}/versions/{version}?tab={tab}");
        return context.Page.Bunit.Render<ModelVersionDetail>(p => p.Add(x => x.Name, model).Add(x => x.Version, version));
    }

    /// <summary>Clicks a tab's header, as a user does, and waits for its panel.</summary>
    private static async Task ShowTabAsync(IRenderedComponent<ModelVersionDetail> page, string title)
    {
        var key = ModelVersionDetail.Tabs.Single(t => t.Title == title).Key;
        await page.ClickAsync(p => p.FindAll(".mud-tab").First(t => t.TextContent.Trim() == title));
        page.WaitForElement($"[data-tab={key}]");
    }

    /// <summary>The explanation's numbers as the page shows them: base, raw, probability and the waterfall's bars.</summary>
    private static (double Base, double Raw, double Probability, List<(string Name, double Value)> Bars) Shown(IElement explanation) =>
        (Number(explanation.GetAttribute("data-base")), Number(explanation.GetAttribute("data-raw")), Number(explanation.GetAttribute("data-probability")),
         [.. explanation.QuerySelectorAll("[data-testid=explanation-bars] tbody tr").Select(r => (r.GetAttribute("data-name")!, Number(r.GetAttribute("data-value"))))]);

    [Fact]
    public void Waterfall_LargestFirst_RestSummedIntoOther_EndsAtBasePlusAll()
    {
        // 13 contributions: the ten largest by |value| in order, the three smallest (0.01, −0.02, 0.005) summed.
        (string, double)[] contributions =
        [
            ("a", 0.5), ("b", -1.5), ("c", 0.01), ("d", 2.0), ("e", -0.3), ("f", 0.25), ("g", -0.02), ("h", 0.7),
            ("i", -0.9), ("j", 0.1), ("k", 0.005), ("l", -0.15), ("m", 0.05),
        ];

        var bars = Charts.WaterfallBars(-3, contributions);

        Assert.Equal(["d", "b", "i", "h", "a", "e", "f", "l", "j", "m", "other 3 inputs"], bars.Select(b => b.Name));
        Assert.Equal(-3, bars[0].Start);
        Assert.Equal(-1, bars[0].End, 12);
        Assert.Equal(-2.5, bars[1].End, 12);
        for (var i = 1; i < bars.Count; i++) Assert.Equal(bars[i - 1].End, bars[i].Start, 12);
        Assert.Equal((-0.005, 3), (Math.Round(bars[^1].Value, 12), bars[^1].Count));
        Assert.Equal(-3 + contributions.Sum(c => c.Item2), bars[^1].End, 12);

        // Fewer than the top: no "other" bar; a single leftover is named in the singular.
        Assert.DoesNotContain(Charts.WaterfallBars(0, contributions[..10]), b => b.Name.StartsWith("other", StringComparison.Ordinal));
        Assert.Equal("other 1 feature", Charts.WaterfallBars(0, contributions[..11], noun: "features")[^1].Name);

        var svg = Charts.Waterfall(-3, bars, -3 + contributions.Sum(c => c.Item2), 0.1234);
        Assert.Contains("<svg", svg);
        Assert.Contains("log-odds", svg);
        Assert.Contains("fraud probability 0.1234", svg);
        // Top to bottom: the base value, the bars from the largest, the raw score.
        var order = new[] { "base value -3.000", "d +2.000", "b −1.500", "i −0.900", "other 3 inputs −0.005", "raw score -2.255" }.Select(label => svg.IndexOf(label, StringComparison.Ordinal)).ToList();
        Assert.All(order, i => Assert.True(i >= 0, "a label is missing from the chart"));
        Assert.Equal(order.Order(), order);
    }

    [Fact]
    public async Task Version_TrainedBeforeExplanations_SaysSoAndShowsNoChart()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "no-explainer");
        var log = await context.StartLogAsync();
        Assert.True(log.TryReserve(1));
        var reasons = JsonSerializer.Serialize(new[] { new Reason("amount", 1.25, "250"), new Reason("ip_country", -0.5, "NG") }, DatasetSchema.Json);
        log.Write(new PredictionRecord(Guid.CreateVersion7(), DateTime.UtcNow, prepared.Version.Id, "test", "{}", [250f, 1f], 0.8125, true, 1.5f, reasons));
        await log.FlushAsync();

        var page = RenderVersion(context, "no-explainer", "predictions");

        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=recent-table] tbody tr")));
        Assert.Contains("trained before explanations were stored; retrain to get them", page.Find("#explain-unavailable").TextContent);
        var row = page.Find("[data-testid=recent-table] tbody tr");
        Assert.Equal("0.8125", row.QuerySelector("[data-testid=recent-probability]")!.TextContent);
        Assert.Equal("fraud", row.QuerySelector("[data-testid=recent-decision]")!.TextContent);
        Assert.Equal("—", row.QuerySelector("[data-testid=recent-label]")!.TextContent);
        Assert.Equal(["amount", "ip_country"], row.QuerySelectorAll("[data-reason]").Select(r => r.GetAttribute("data-reason")));
        Assert.Contains("amount = 250 +1.250", row.QuerySelector("[data-reason=amount]")!.TextContent);
        Assert.Empty(page.FindAll("[data-testid=explain-prediction]"));
        Assert.Empty(page.FindAll("[data-testid=waterfall]"));
        Assert.Empty(page.FindAll("#prediction-explanation"));
    }

    [Fact]
    public async Task Version_RealModel_TryItAndLoggedPrediction_WaterfallsAddUpToTheRawScore()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var (version, schema) = await TrainAndRegisterAsync(context, "explained");

        // Three logged predictions with their top reasons, through the scoring path; the second is labelled fraud.
        var model = await context.Get<ModelServer>().ResolveAsync("explained", 1);
        Assert.True(model.Explainer!.IsTreeShap);
        List<string?[]> rows;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv"))) rows = DatasetRows.Read(file, schema);
        var log = await context.StartLogAsync();
        var logged = await context.Get<ScoringService>().PredictAsync(model, rows[..3], [.. Enumerable.Range(0, 3).Select(i => JsonSerializer.SerializeToElement(new { row = i }))], "test", dryRun: false, default, reasons: 3);
        await log.FlushAsync();
        Assert.Empty((await context.Get<PredictionStore>().RecordFeedbackAsync([new FeedbackItem(logged[1].PredictionId!.Value, true)], "test")).Unknown);

        var page = RenderVersion(context, "explained", "predictions");
        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("[data-testid=recent-table] tbody tr").Count));
        Assert.Empty(page.FindAll("#explain-unavailable"));
        Assert.Contains("exact TreeSHAP contributions", page.Find("[data-testid=explain-method-note]").TextContent);

        // Try it: the waterfall of the same transaction, by input column.
        await ShowTabAsync(page, "Try it");
        await page.ClickAsync("#try-it-score");

        page.WaitForAssertion(() => Assert.NotNull(page.Find("#try-it-explanation")));
        var tryIt = page.Find("#try-it-explanation");
        var (baseValue, raw, probability, bars) = Shown(tryIt);
        Assert.Equal(("columns", "treeshap"), (tryIt.GetAttribute("data-view"), tryIt.GetAttribute("data-method")));
        Assert.Equal(model.Explainer.BaseValue, baseValue, 12);
        Assert.True(Math.Abs(baseValue + bars.Sum(b => b.Value) - raw) < 1e-6, $"{baseValue} + {bars.Sum(b => b.Value)} ≠ {raw}");
        Assert.Equal(Number(page.Find("#try-it-result").GetAttribute("data-probability")), probability, 12);
        Assert.Equal(model.Attribution.Explain(new FraudWorkbench.Core.Explain.Explanation(0, new double[model.Features.SlotCount], 0), 0).Columns.Count, bars.Count);
        Assert.Equal(bars.OrderByDescending(b => Math.Abs(b.Value)).Select(b => b.Name), bars.Select(b => b.Name));
        Assert.Contains("amount", bars.Select(b => b.Name));
        Assert.Contains("log-odds", tryIt.QuerySelector("[data-testid=waterfall] svg")!.OuterHtml);
        Assert.Contains("Exact TreeSHAP contributions (log-odds)", tryIt.QuerySelector("[data-testid=explanation-method]")!.TextContent);

        // By feature: the same total split over the feature set's nine features.
        await page.ClickAsync("#try-it-explanation [data-testid=explain-by-feature]");

        page.WaitForAssertion(() => Assert.Equal("features", page.Find("#try-it-explanation").GetAttribute("data-view")));
        var byFeature = Shown(page.Find("#try-it-explanation"));
        Assert.Equal(SampleMatrixFixture.Definition.Features.Count, byFeature.Bars.Count);
        Assert.True(Math.Abs(byFeature.Base + byFeature.Bars.Sum(b => b.Value) - byFeature.Raw) < 1e-6);
        Assert.Equal(raw, byFeature.Raw);

        // A logged prediction, explained from its stored feature row: its probability is the logged one and its
        // largest column contributions are the reasons logged with it.
        await ShowTabAsync(page, "Predictions");
        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("[data-testid=recent-table] tbody tr").Count));
        var second = page.Find($"[data-prediction='{logged[1].PredictionId}']");
        Assert.Equal("fraud", second.QuerySelector("[data-testid=recent-label]")!.TextContent);
        Assert.Equal(logged[1].Probability.ToString("0.0000", CultureInfo.InvariantCulture), second.QuerySelector("[data-testid=recent-probability]")!.TextContent);
        var reasons = logged[1].Reasons!;
        Assert.Equal(reasons.Select(r => r.Column), second.QuerySelectorAll("[data-reason]").Select(r => r.GetAttribute("data-reason")));

        await page.ClickAsync(p => p.Find($"[data-prediction='{logged[1].PredictionId}'] [data-testid=explain-prediction]"));

        page.WaitForAssertion(() => Assert.NotNull(page.Find("#prediction-explanation")));
        var stored = Shown(page.Find("#prediction-explanation"));
        Assert.True(Math.Abs(stored.Base + stored.Bars.Sum(b => b.Value) - stored.Raw) < 1e-6, $"{stored.Base} + {stored.Bars.Sum(b => b.Value)} ≠ {stored.Raw}");
        Assert.Equal(logged[1].Probability, stored.Probability, 9);
        Assert.Equal(reasons.Select(r => r.Column), stored.Bars.Take(reasons.Count).Select(b => b.Name));
        for (var i = 0; i < reasons.Count; i++) Assert.Equal(reasons[i].Contribution, stored.Bars[i].Value, 5);
        Assert.NotNull(page.Find("#prediction-explanation [data-testid=waterfall] svg"));
        Assert.Contains(FraudWorkbench.Components.Shared.Display.ShortId(logged[1].PredictionId!.Value), page.Find("#prediction-explanation [data-testid=explanation-method]").TextContent);

        // Try it with a payment method training never saw: scored, and the form says how.
        await ShowTabAsync(page, "Try it");
        Assert.Empty(page.FindAll("[data-testid=try-it-warnings]"));
        page.WaitForElement("#try-it-score");
        var paymentMethod = page.FindComponents<MudBlazor.MudSelect<string>>().Single(s => s.Instance.Label == "payment_method");
        await page.InvokeAsync(() => paymentMethod.Instance.ValueChanged.InvokeAsync("barter"));
        await page.ClickAsync("#try-it-score");

        page.WaitForAssertion(() => Assert.Contains("payment_method \"barter\": not seen in training; scored as 'other'", page.Find("[data-testid=try-it-warnings]").TextContent));
        Assert.NotNull(page.Find("#try-it-result"));
    }

    // ----- Global explanations -----

    [Fact]
    public void GlobalCharts_ValueRanks_LowToHighWithTiesShared_CategoricalAndMissingUnranked()
    {
        // 2, 2, 10, 30 in rank order 0..3: the two 2s share rank 0.5, scaled by the last rank 3.
        var ranks = Charts.ValueRanks(["10", "2", null, "30", "2"]);

        Assert.Equal(4, ranks.Count(r => r is not null));
        Assert.Equal(2 / 3.0, ranks[0]!.Value, 12);
        Assert.Equal(0.5 / 3, ranks[1]!.Value, 12);
        Assert.Null(ranks[2]);
        Assert.Equal(1, ranks[3]!.Value, 12);
        Assert.Equal(ranks[1], ranks[4]);
        Assert.Equal<double?>([0.5, null], Charts.ValueRanks(["7", null])); // one value: the middle
        Assert.Equal<double?>([1, 0, 0.5], Charts.ValueRanks(["1e3", "-1.5", "0.25"])); // invariant numbers, exponents included
        Assert.All(Charts.ValueRanks(["DE", "FR", "5", null]), r => Assert.Null(r)); // one value not a number: categorical

        // Blue for the lowest, red for the highest, monotonic between; grey without a rank.
        Assert.Equal(Charts.LowValue, Charts.RankColour(0));
        Assert.Equal(Charts.HighValue, Charts.RankColour(1));
        Assert.Equal(Charts.NoValue, Charts.RankColour(null));
        var colours = ranks.Select(Charts.RankColour).ToList();
        Assert.Equal(Charts.NoValue, colours[2]);
        var ordered = new[] { 1, 0, 3 }.Select(i => colours[i]).ToList(); // values 2, 10, 30
        Assert.True(ordered[0].R < ordered[1].R && ordered[1].R < ordered[2].R, "red rises with the value");
        Assert.True(ordered[0].B > ordered[1].B && ordered[1].B > ordered[2].B, "blue falls with the value");
        Assert.True(Charts.LowValue.B > Charts.LowValue.R && Charts.HighValue.R > Charts.HighValue.B);
    }

    [Fact]
    public void GlobalCharts_CategoryIndex_OrdinalWithMissingLast()
    {
        var (x, categories) = Charts.CategoryIndex(["FR", "DE", null, "FR", "NG"]);

        Assert.Equal(["DE", "FR", "NG", "(missing)"], categories);
        Assert.Equal([1, 0, 3, 1, 2], x);
        Assert.Equal(["a"], Charts.CategoryIndex(["a", "a"]).Categories);
    }

    [Fact]
    public void GlobalCharts_Bars_ByMeanAbsoluteAndDrop_TopOnly()
    {
        ColumnSummary Column(string name, double mean) => new(name, mean, []);
        var columns = Enumerable.Range(0, 18).Select(i => Column($"c{i:00}", (i * 7 % 18) / 10.0)).Append(Column("tie", 1.7)).ToList();

        var bars = Charts.MeanAbsoluteBars(columns);

        Assert.Equal(15, bars.Count);
        Assert.Equal(columns.Max(c => c.MeanAbsolute), bars[0].Value);
        // c05 and tie both 1.7 (by name), then c10 1.6, c15 1.5; the 19 values 1.7, 1.7, 1.6 … 0 keep the top 15, down to 0.4.
        Assert.Equal(["c05", "tie", "c10", "c15"], bars.Take(4).Select(b => b.Name));
        Assert.Equal(bars.Select(b => b.Value).OrderDescending(), bars.Select(b => b.Value));
        Assert.Equal(0.4, bars[^1].Value, 12);
        Assert.DoesNotContain(bars, b => b.Value < 0.4);

        var permutation = Charts.PermutationBars([new("a", -0.01, 0.001), new("b", 0.2, 0.05), new("c", 0.05, 0.01)], top: 2);
        Assert.Equal(["b", "c"], permutation.Select(p => p.Input));
    }

    [Fact]
    public void GlobalCharts_Jitter_FixedSeedBoundedAndScaledByCrowding_SampleEven()
    {
        // 20 points crowd near 0, one stands alone at 5.
        double[] xs = [.. Enumerable.Range(0, 20).Select(i => i / 1000.0), 5];

        var offsets = Charts.SwarmOffsets(xs, spread: 0.4);

        Assert.Equal(offsets, Charts.SwarmOffsets(xs, spread: 0.4)); // the same every render
        Assert.NotEqual(offsets, Charts.SwarmOffsets(xs, spread: 0.4, seed: 8));
        Assert.All(offsets, o => Assert.InRange(o, -0.4, 0.4));
        Assert.InRange(Math.Abs(offsets[^1]), 0, 0.4 / 20); // its bin holds 1 of the fullest bin's 20
        Assert.True(offsets[..20].Max() - offsets[..20].Min() > 0.2, "the crowd spreads");

        Assert.Equal([0, 2, 5, 7], Charts.EvenSample(10, 4));
        Assert.Equal([0, 1, 2], Charts.EvenSample(3, 400));
    }

    [Fact]
    public void GlobalCharts_DependencePoints_NumbersParsedMissingLeftOut_CategoriesIndexed()
    {
        var explanation = KnownExplanation(DateTime.UtcNow);

        var (x, y, categories, missing) = Charts.DependencePoints(explanation.Columns[0]);
        Assert.Null(categories);
        Assert.Equal([250, 10, 30, 12], x);
        Assert.Equal([1.2, -0.3, -0.2, -0.25], y);
        Assert.Equal(1, missing);

        (x, y, categories, missing) = Charts.DependencePoints(explanation.Columns[1]);
        Assert.Equal(["DE", "FR", "NG"], categories);
        Assert.Equal([2, 0, 1, 0, 0], x);
        Assert.Equal(0.8, y[0]);
        Assert.Equal(0, missing);

        var svg = Charts.Dependence(explanation.Columns[1]);
        Assert.Contains("<svg", svg);
        Assert.Contains("ip_country (category)", svg);
        Assert.Matches(@">\s*NG\s*</text>", svg); // a tick label per category
        Assert.Contains("PR-AUC drop", Charts.Permutation(explanation.Permutation));
        Assert.Contains("merchant_category", Charts.Beeswarm(explanation.Columns));
    }

    /// <summary>Five holdout rows: amount numeric (one missing), ip_country and merchant_category categorical.</summary>
    private static GlobalExplanation KnownExplanation(DateTime computedAt) => new(5, "treeshap", -3.2,
    [
        new ColumnSummary("amount", 0.41, [new(1.2, "250"), new(-0.3, "10"), new(-0.2, "30"), new(0.1, null), new(-0.25, "12")]),
        new ColumnSummary("ip_country", 0.24, [new(0.8, "NG"), new(-0.1, "DE"), new(-0.1, "FR"), new(-0.1, "DE"), new(-0.1, "DE")]),
        new ColumnSummary("merchant_category", 0.05, [new(0.05, "electronics"), new(-0.05, "groceries"), new(-0.05, "groceries"), new(0.05, "fashion"), new(-0.05, "groceries")]),
    ],
    [new PermutationImportance("ip_country", 0.12, 0.02), new PermutationImportance("amount", 0.08, 0.01), new PermutationImportance("merchant_category", -0.005, 0.004)],
    computedAt,
    [new PermutationImportance("ip_country_mismatch", 0.09, 0.01), new PermutationImportance("amount_log1p", 0.07, 0.02)]);

    private static IRenderedComponent<MudSelect<string>> DependenceSelect(IRenderedComponent<ModelVersionDetail> page) =>
        page.FindComponents<MudSelect<string>>().Single(s => s.Instance.UserAttributes.TryGetValue("id", out var id) && Equals(id, "dependence-column"));

    /// <summary>The row as the store keeps it: a job (finished here, as no worker runs), then the result saved against it.</summary>
    private async Task StoreGlobalExplanationAsync(RegistryPageContext context, Guid versionId, GlobalExplanation explanation)
    {
        var job = await context.Get<JobStore>().EnqueueAsync(GlobalExplanationJobHandler.KindName, new GlobalExplanationPayload(versionId), "test");
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await using var finish = new NpgsqlCommand("UPDATE jobs SET status = 'succeeded', progress = 100, started_at = now(), finished_at = now() WHERE id = @id", connection);
            finish.Parameters.AddWithValue("id", job.Id);
            Assert.Equal(1, await finish.ExecuteNonQueryAsync());
            await using var insert = new NpgsqlCommand("INSERT INTO model_explanations (model_version_id, job_id) VALUES (@version, @job)", connection);
            insert.Parameters.AddWithValue("version", versionId);
            insert.Parameters.AddWithValue("job", job.Id);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        await context.Get<GlobalExplanationStore>().SaveAsync(versionId, explanation, default);
    }

    [Fact]
    public async Task Version_GlobalExplanationStored_ChartsTopColumnFirstAndDependenceFollowsTheChoice()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "global-stored", explainer: "explainer-sha");
        await StoreGlobalExplanationAsync(context, prepared.Version.Id, KnownExplanation(DateTime.UtcNow));

        var page = RenderVersion(context, "global-stored", "explanations");

        page.WaitForAssertion(() => Assert.Equal("ready", page.Find("#global-explanations").GetAttribute("data-state")));
        var section = page.Find("#global-explanations");
        Assert.Equal(("5", "treeshap"), (section.GetAttribute("data-rows"), section.GetAttribute("data-method")));
        Assert.Contains("mean |TreeSHAP contribution| (log-odds), 5 holdout rows", page.Find("[data-testid=chart-mean-contribution]").TextContent);
        Assert.Contains("permutation importance: PR-AUC drop when the column is shuffled (second view)", page.Find("[data-testid=chart-permutation]").TextContent);
        Assert.Contains("blue low", page.Find("[data-testid=beeswarm-note]").TextContent);
        foreach (var chart in new[] { "chart-mean-contribution", "chart-beeswarm", "chart-permutation", "chart-mlnet-pfi" })
            Assert.NotNull(page.Find($"[data-testid={chart}] .fw-chart svg"));
        // ML.NET's PFI is by model input: its own names, not the columns.
        var pfi = page.Find("[data-testid=chart-mlnet-pfi] .fw-chart svg").OuterHtml;
        Assert.Contains("ip_country_mismatch", pfi);
        Assert.Contains("amount_log1p", pfi);
        Assert.Contains("mean |contribution| (log-odds)", page.Find("[data-testid=chart-mean-contribution] .fw-chart svg").OuterHtml);

        // The top column first, with its numbers.
        var rows = page.FindAll("[data-testid=global-columns] tbody tr");
        Assert.Equal(["amount", "ip_country", "merchant_category"], rows.Select(r => r.GetAttribute("data-column")));
        Assert.Equal(0.41, Number(rows[0].GetAttribute("data-mean-absolute")));
        Assert.Contains("0.1200 ± 0.0200", rows[1].TextContent);

        // The dependence plot starts on the top column: four numeric points, the missing amount left out.
        var dependence = page.Find("#dependence-plot");
        Assert.Equal(("amount", "4"), (dependence.GetAttribute("data-column"), dependence.GetAttribute("data-points")));
        Assert.Contains("1 row with the value missing", page.Find("[data-testid=dependence-note]").TextContent);
        Assert.Matches(@">\s*amount\s*</text>", page.Find("#dependence-plot .fw-chart svg").OuterHtml);
        Assert.DoesNotContain("ip_country", page.Find("#dependence-plot .fw-chart svg").OuterHtml);

        await page.InvokeAsync(() => DependenceSelect(page).Instance.ValueChanged.InvokeAsync("ip_country"));

        page.WaitForAssertion(() => Assert.Equal("ip_country", page.Find("#dependence-plot").GetAttribute("data-column")));
        Assert.Equal("5", page.Find("#dependence-plot").GetAttribute("data-points"));
        Assert.Contains("3 distinct", page.Find("[data-testid=dependence-note]").TextContent);
        Assert.Contains("ip_country (category)", page.Find("#dependence-plot .fw-chart svg").OuterHtml);
        Assert.Matches(@">\s*NG\s*</text>", page.Find("#dependence-plot .fw-chart svg").OuterHtml);

        // One explain-a-row tool, numbering the whole holdout: the global view has none of its own.
        Assert.Empty(page.FindAll("#holdout-explanation"));
        Assert.Empty(page.FindAll("#holdout-row"));
        Assert.Single(page.FindAll("#validation-rows"));

        // Already computed: a writer may recompute, not compute.
        Assert.Empty(page.FindAll("#compute-global"));
        Assert.NotNull(page.Find("#recompute-global"));
        Assert.Empty(page.FindAll("[data-testid=global-progress]"));
    }

    [Fact]
    public async Task Version_GlobalNeverComputed_WriterComputes_ProgressLiveThenResultByEvent()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var prepared = await PrepareFailedVersionAsync(context, "global-compute", explainer: "explainer-sha");
        var page = RenderVersion(context, "global-compute", "explanations");
        page.WaitForAssertion(() => Assert.Equal("none", page.Find("#global-explanations").GetAttribute("data-state")));
        Assert.Null(page.Find("#global-explanations").GetAttribute("data-rows"));
        Assert.Empty(page.FindAll("[data-testid=chart-beeswarm]"));

        await page.ClickAsync("#compute-global");

        page.WaitForAssertion(() => Assert.Equal("running", page.Find("#global-explanations").GetAttribute("data-state")));
        Assert.Empty(page.FindAll("#compute-global"));
        var stored = await context.Get<GlobalExplanationStore>().GetAsync(prepared.Version.Id);
        Assert.NotNull(stored);
        Assert.Null(stored.Value.Result);
        var job = (await context.Get<JobStore>().GetAsync(stored.Value.JobId))!;
        Assert.Equal(GlobalExplanationJobHandler.KindName, job.Kind);
        Assert.Contains(PageContext.UserEmail, job.CreatedBy);

        // Progress arrives as events: no polling.
        await context.Page.Hub.PublishAsync(JobChanged.From(job with { Status = JobStatus.Running, Progress = 35, Stage = "explaining 5 holdout rows" }));

        page.WaitForAssertion(() => Assert.Equal("35", page.Find("[data-testid=global-progress] [data-testid=job-progress]").GetAttribute("data-progress")));
        Assert.Contains("explaining 5 holdout rows", page.Find("[data-testid=global-progress]").TextContent);

        // The job saves its result: the page reloads on the event and draws it.
        await context.Get<GlobalExplanationStore>().SaveAsync(prepared.Version.Id, KnownExplanation(DateTime.UtcNow), default);

        page.WaitForAssertion(() => Assert.Equal("ready", page.Find("#global-explanations").GetAttribute("data-state")));
        Assert.Equal("5", page.Find("#global-explanations").GetAttribute("data-rows"));
        Assert.NotNull(page.Find("[data-testid=chart-beeswarm] .fw-chart svg"));
        Assert.Equal("amount", page.Find("#dependence-plot").GetAttribute("data-column"));
    }

    [Fact]
    public async Task Version_GlobalNeverComputed_ReviewerSeesNoComputeButton_UnexplainableVersionSaysWhy()
    {
        await using (var context = new RegistryPageContext(db, Roles.Reviewer))
        {
            await PrepareFailedVersionAsync(context, "global-reviewer", explainer: "explainer-sha");
            var page = RenderVersion(context, "global-reviewer", "explanations");

            page.WaitForAssertion(() => Assert.Contains("Not computed yet", page.Find("[data-testid=global-not-computed]").TextContent));
            Assert.Empty(page.FindAll("#compute-global"));
            Assert.Empty(page.FindAll("#recompute-global"));
        }

        await using (var context = new RegistryPageContext(db, Roles.DataScientist))
        {
            await PrepareFailedVersionAsync(context, "global-unexplainable");
            var page = RenderVersion(context, "global-unexplainable", "explanations");

            page.WaitForAssertion(() => Assert.Contains("trained before explanations were stored", page.Find("[data-testid=global-unavailable]").TextContent));
            Assert.Empty(page.FindAll("#compute-global"));
        }
    }

    // ----- Any validation row -----

    private static IRenderedComponent<MudNumericField<int>> ValidationRowField(IRenderedComponent<ModelVersionDetail> page) =>
        page.FindComponents<MudNumericField<int>>().Single(s => s.Instance.UserAttributes.TryGetValue("id", out var id) && Equals(id, "validation-row"));

    [Fact]
    public async Task Version_RealModel_ExplainAnyValidationRow_NumbersAreTheModelsAndQuickPicksFollowTheScores()
    {
        await using var context = new RegistryPageContext(db, Roles.DataScientist);
        var (version, _) = await TrainAndRegisterAsync(context, "validation-rows");

        // The holdout rebuilt and scored here, independently of the page.
        var model = await context.Get<ModelServer>().ResolveAsync("validation-rows", 1);
        var run = (await context.Get<TrainingRunStore>().GetAsync(version.RunId))!;
        var (features, labels, rows) = (await Holdout.LoadAsync(run, context.Get<DatasetStore>(), context.Get<ArtifactStore>(), default)).Featurize(model);
        var count = labels.Length;
        var width = model.Features.SlotCount;
        var probabilities = new double[count];
        model.Probabilities(features, count, probabilities);
        Assert.True(count > 1000, $"only {count} holdout rows");

        var page = RenderVersion(context, "validation-rows", "explanations");
        page.WaitForAssertion(() => Assert.Equal("idle", page.Find("#validation-rows").GetAttribute("data-state")));
        Assert.Empty(page.FindAll("#validation-explanation"));

        await page.ClickAsync("#load-holdout");

        page.WaitForAssertion(() => Assert.Equal("ready", page.Find("#validation-rows").GetAttribute("data-state")));
        var section = page.Find("#validation-rows");
        Assert.Equal((count.ToString(CultureInfo.InvariantCulture), labels.Count(l => l).ToString(CultureInfo.InvariantCulture), "0"),
            (section.GetAttribute("data-count"), section.GetAttribute("data-fraud-rows"), section.GetAttribute("data-row")));
        Assert.Equal(count.ToString("N0", CultureInfo.InvariantCulture), page.Find("[data-testid=validation-count]").TextContent.Trim());
        Assert.Empty(page.FindAll("#load-holdout"));

        // A fraud row from the second half: any row, not a sample.
        var chosen = Array.FindIndex(labels, count / 2, l => l);
        Assert.True(chosen >= 0, "no fraud row in the holdout's second half");
        await page.InvokeAsync(() => ValidationRowField(page).Instance.ValueChanged.InvokeAsync(chosen));

        page.WaitForAssertion(() => Assert.Equal(chosen.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row")));
        var summary = page.Find("[data-testid=validation-row-summary]");
        Assert.Equal("fraud", summary.GetAttribute("data-label"));
        Assert.Equal(probabilities[chosen], Number(summary.GetAttribute("data-probability")), 1e-9);
        var explanation = page.Find("#validation-explanation");
        var (baseValue, raw, probability, bars) = Shown(explanation);
        Assert.True(Math.Abs(baseValue + bars.Sum(b => b.Value) - raw) < 1e-6, $"{baseValue} + {bars.Sum(b => b.Value)} ≠ {raw}");
        Assert.Equal(model.Explainer!.BaseValue, baseValue, 12);
        Assert.Equal(model.Explain(features.AsSpan(chosen * width, width))!.RawScore, raw, 12);
        Assert.Equal(probabilities[chosen], probability, 1e-9);
        Assert.Contains($"validation row {chosen} of the holdout (label: fraud)", explanation.QuerySelector("[data-testid=explanation-method]")!.TextContent);
        Assert.NotNull(explanation.QuerySelector("[data-testid=waterfall] svg"));
        // The row's own raw values beside it.
        var amount = model.Features.Schema.IndexOf("amount");
        Assert.Equal(rows[chosen][amount], page.Find("[data-testid=validation-values] tr[data-column=amount]").GetAttribute("data-value"));
        Assert.Equal(model.Features.Schema.Columns.Count, page.FindAll("[data-testid=validation-values] tbody tr").Count);

        // "Highest score" and "Lowest score": the rows the model scores highest and lowest (the first, on a tie).
        await page.ClickAsync("#validation-highest");

        var highest = Array.IndexOf(probabilities, probabilities.Max());
        page.WaitForAssertion(() => Assert.Equal(highest.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row")));
        Assert.Equal(probabilities.Max(), Number(page.Find("[data-testid=validation-row-summary]").GetAttribute("data-probability")), 1e-9);
        Assert.Equal(probabilities.Max(), Shown(page.Find("#validation-explanation")).Probability, 1e-9);

        await page.ClickAsync("#validation-lowest");

        var lowest = Array.IndexOf(probabilities, probabilities.Min());
        page.WaitForAssertion(() => Assert.Equal(lowest.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row")));

        // "Next fraud row" goes to the next labelled-fraud row after the current one, then the one after.
        var fraudRows = Enumerable.Range(0, count).Where(i => labels[i]).ToList();
        var next = fraudRows.FirstOrDefault(i => i > lowest, fraudRows[0]);
        await page.ClickAsync("#validation-next-fraud");

        page.WaitForAssertion(() => Assert.Equal(next.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row")));
        Assert.Equal("fraud", page.Find("[data-testid=validation-row-summary]").GetAttribute("data-label"));
        var after = fraudRows.FirstOrDefault(i => i > next, fraudRows[0]);
        await page.ClickAsync("#validation-next-fraud");

        page.WaitForAssertion(() => Assert.Equal(after.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row")));

        // A row past the end is refused with the range; the row shown stays.
        await page.InvokeAsync(() => ValidationRowField(page).Instance.ValueChanged.InvokeAsync(count));

        page.WaitForAssertion(() => Assert.Contains($"There is no validation row {count}: choose one from 0 to {count - 1}.", page.Find("[data-testid=validation-row-error]").TextContent));
        Assert.Equal(after.ToString(CultureInfo.InvariantCulture), page.Find("#validation-rows").GetAttribute("data-row"));

        // The explainer itself: an out-of-range row says the range; a version whose run is gone says so.
        var explainer = context.Get<HoldoutExplainer>();
        var outOfRange = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => explainer.RowAsync(version, model, -1));
        Assert.Contains($"numbered 0 to {count - 1}", outOfRange.Message);
        var orphan = new HoldoutExplainer(context.Get<TrainingRunStore>(), context.Get<DatasetStore>(), context.Get<ArtifactStore>());
        var gone = await Assert.ThrowsAsync<HoldoutUnavailableException>(() => orphan.LoadAsync(version with { RunId = Guid.CreateVersion7() }, model));
        Assert.Equal("The version's training run no longer exists.", gone.Message);
    }

    [Fact]
    public async Task Version_HoldoutCannotLoad_ReviewerMayTry_FailureShownNotThrown()
    {
        // A reviewer may load a holdout (it changes nothing). This version's artifacts were never written, so its model cannot load.
        await using var context = new RegistryPageContext(db, Roles.Reviewer);
        await PrepareFailedVersionAsync(context, "validation-unloadable", explainer: "explainer-sha");
        var page = RenderVersion(context, "validation-unloadable", "explanations");
        page.WaitForAssertion(() => Assert.Equal("idle", page.Find("#validation-rows").GetAttribute("data-state")));

        await page.ClickAsync("#load-holdout");

        page.WaitForAssertion(() => Assert.Equal("failed", page.Find("#validation-rows").GetAttribute("data-state")));
        Assert.StartsWith("The holdout cannot be loaded: ", page.Find("[data-testid=validation-error]").TextContent.Trim());
        Assert.NotNull(page.Find("#load-holdout")); // it may be tried again
        Assert.Empty(page.FindAll("#validation-explanation"));
    }
}

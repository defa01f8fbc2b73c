using System.Text.Json;
using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>A rule's validation names each bad field by the JSON path the API takes; the default rules are valid and as the issue asks.</summary>
public sealed class AlertRuleSpecTests
{
    private static readonly AlertRuleSpec Good = new("p99", "m1", new AlertMetricSpec(AlertMetricKind.LatencyP99), new AlertCondition(AlertConditionKind.Above, 50), Window: "5m");

    public static TheoryData<string, AlertRuleSpec> BadRules => new()
    {
        { "name", Good with { Name = " " } },
        { "name", Good with { Name = new string('n', AlertRuleSpec.MaxNameLength + 1) } },
        { "model", Good with { Model = "bad model!" } },
        // Job failures are the installation's: a model would be silently ignored.
        { "model", Good with { Metric = new AlertMetricSpec(AlertMetricKind.JobFailures), Window = "1h" } },
        { "metric.kind", Good with { Metric = new AlertMetricSpec("cpu.load") } },
        { "metric.column", Good with { Metric = new AlertMetricSpec(AlertMetricKind.Psi), Window = "1d" } },
        { "metric.metric", Good with { Metric = new AlertMetricSpec(AlertMetricKind.Estimated, Metric: "accuracy"), Window = "1d" } },
        { "metric.disparity", Good with { Metric = new AlertMetricSpec(AlertMetricKind.Disparity), Window = "1w", EvaluationInterval = "1h" } },
        { "evaluationInterval", Good with { Metric = new AlertMetricSpec(AlertMetricKind.Disparity, Disparity: "demographicParity.ratio"), Window = "1w" } },
        { "metric.column", Good with { Metric = new AlertMetricSpec(AlertMetricKind.MissingShare, Column: "amount\0") } },
        { "name", Good with { Name = "p99 \ud800" } },
        { "description", Good with { Description = "nul \0 here" } },
        { "window", Good with { Window = "5x" } },
        { "window", Good with { Metric = new AlertMetricSpec(AlertMetricKind.DriftShare), Window = "5m" } },
        { "evaluationInterval", Good with { EvaluationInterval = "5s" } },
        { "for", Good with { For = "soon" } },
        { "keepFiringFor", Good with { KeepFiringFor = "31d" } },
        { "minSample", Good with { MinSample = -1 } },
        { "severity", Good with { Severity = "page" } },
        { "condition.kind", Good with { Condition = new AlertCondition("between", 1) } },
        { "condition.threshold", Good with { Condition = new AlertCondition(AlertConditionKind.Above) } },
        { "condition.threshold", Good with { Condition = new AlertCondition(AlertConditionKind.RelativeChange, -0.5) } },
        { "condition.k", Good with { Condition = new AlertCondition(AlertConditionKind.OutsideBand, K: 0) } },
        { "condition.direction", Good with { Condition = new AlertCondition(AlertConditionKind.OutsideBand, Direction: "sideways") } },
        { "condition.referenceWindows", Good with { Condition = new AlertCondition(AlertConditionKind.OutsideBand, ReferenceWindows: 1) } },
        { "labels.model", Good with { Labels = new Dictionary<string, string> { ["model"] = "x" } } },
        { "labels.9team", Good with { Labels = new Dictionary<string, string> { ["9team"] = "x" } } },
        { "description", Good with { Description = "{{value}} {{exec}}" } },
        { "description", Good with { Description = "{{value" } },
        { "metric.metric", Audited(null) },
        { "metric.metric", Audited(" ") },
        { "metric.metric", Audited("Retraining.Fail") },
        { "metric.metric", Audited("retraining fail") },
        { "metric.metric", Audited("r") },
        { "metric.metric", Audited("retraining.fail\n") },
        { "metric.metric", Audited("9retraining.fail") },
        { "metric.metric", Audited("a" + new string('b', 64)) },
        { "metric.metric", Audited("retraining.fail'; --") },
        { "metric.column", Audited("retraining.fail") with { Metric = new AlertMetricSpec(AlertMetricKind.AuditEvents, Column: "amount", Metric: "retraining.fail") } },
    };

    /// <summary>A rule on the audit entries of <paramref name="action"/>, installation-wide.</summary>
    private static AlertRuleSpec Audited(string? action, string? model = null) =>
        new("failed workflows", model, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: action), new AlertCondition(AlertConditionKind.Above, 0), Window: "1h");

    [Theory]
    [InlineData("retraining.fail", null)]
    [InlineData("retraining.fail", "fraud-v2")]
    [InlineData("user.sign-in-throttled", null)]
    [InlineData("model-version.stage", "fraud-v2")]
    // Not written by this version but shaped like an action (a newer one, say): accepted.
    [InlineData("registry.rollback", null)]
    [InlineData("a_b", null)]
    [InlineData("a" + "bcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", null)]
    public void Validate_AuditedAction_KnownOrWellFormed_NoIssues(string action, string? model) => Assert.Empty(Audited(action, model).Validate());

    [Fact]
    public void Validate_AuditedActionMissing_MessageSaysWhatIsNeeded()
    {
        var issue = Assert.Single(Audited(null).Validate());

        Assert.Equal("metric.metric", issue.Field);
        Assert.Contains("needs the audited action", issue.Message);
    }

    [Fact]
    public void Validate_OtherMetricWithAnAction_RefusedAsBefore() =>
        Assert.Equal(["metric.metric"], (Good with { Metric = new AlertMetricSpec(AlertMetricKind.LatencyP99, Metric: "retraining.fail") }).Validate().Select(i => i.Field));

    [Fact]
    public void Validate_RetrainingFailureRules_Valid_TheNewOneOnRetrainingFail()
    {
        var workflows = FraudWorkbench.Core.Retraining.RetrainingFailureRule.Spec;
        var jobs = FraudWorkbench.Core.Retraining.RetrainingFailureRule.JobsSpec;

        Assert.Empty(workflows.Validate());
        Assert.Empty(jobs.Validate());
        Assert.Equal(("Retraining workflow failed", AlertMetricKind.AuditEvents, "retraining.fail", null, AlertConditionKind.Above, 0.0, "1h", AlertSeverity.Warning),
            (workflows.Name, workflows.Metric.Kind, workflows.Metric.Metric, workflows.Model, workflows.Condition.Kind, workflows.Condition.Threshold, workflows.Window, workflows.Severity));
        Assert.Contains("/retraining", workflows.Description);
        Assert.Equal(("Failed jobs (retraining included)", AlertMetricKind.JobFailures), (jobs.Name, jobs.Metric.Kind));
    }

    [Theory]
    [MemberData(nameof(BadRules))]
    public void Validate_BadField_NamedByItsJsonPath(string field, AlertRuleSpec spec)
    {
        var issues = spec.Validate();

        Assert.Equal([field], issues.Select(i => i.Field));
    }

    [Fact]
    public void Validate_GoodRule_NoIssues() => Assert.Empty(Good.Validate());

    [Fact]
    public void Defaults_NoFeedbackDescription_SaysAnyFeedbackAsTheMetricCounts()
    {
        // Label freshness counts any feedback label, fraud or legitimate: the text must not promise fraud labels only.
        var noFeedback = AlertRuleStore.Defaults("fraud-v2").Single(d => d.Metric.Kind == AlertMetricKind.LabelFreshness);

        Assert.DoesNotContain("confirmed-fraud", noFeedback.Description);
        Assert.StartsWith("No feedback labels (fraud or legitimate) for {{model}}", noFeedback.Description);
    }

    [Fact]
    public void Validate_ErrorRateOfOneModelOrTheInstallation_NoIssues()
    {
        Assert.Empty((Good with { Metric = new AlertMetricSpec(AlertMetricKind.ErrorRate) }).Validate());
        Assert.Empty((Good with { Model = null, Metric = new AlertMetricSpec(AlertMetricKind.ErrorRate) }).Validate());
        Assert.Empty((Good with { Model = null, Metric = new AlertMetricSpec(AlertMetricKind.JobFailures), Window = "1h" }).Validate());
    }

    [Theory]
    // A per-model metric: its model, or every production model (listed by the source: null).
    [InlineData(AlertMetricKind.LatencyP99, "m1", "m1")]
    [InlineData(AlertMetricKind.LatencyP99, null, null)]
    // The error rate: the model's requests when it names one, the installation's otherwise.
    [InlineData(AlertMetricKind.ErrorRate, "m1", "m1")]
    [InlineData(AlertMetricKind.ErrorRate, null, AlertLabels.AllModels)]
    // Job failures have no model: a model stored before validation refused it is ignored.
    [InlineData(AlertMetricKind.JobFailures, "m1", AlertLabels.AllModels)]
    [InlineData(AlertMetricKind.JobFailures, null, AlertLabels.AllModels)]
    public void MetricScope_Models_TheRulesModelOrTheInstallation(string kind, string? model, string? expected)
    {
        var models = AlertMetricScope.Models(Good with { Model = model, Metric = new AlertMetricSpec(kind) });

        Assert.Equal(expected is null ? null : [expected], models);
    }

    [Fact]
    public void Defaults_FourValidRulesAsTheIssueAsks()
    {
        var defaults = AlertRuleStore.Defaults("fraud-v2");

        Assert.All(defaults, d => Assert.Empty(d.Validate()));
        Assert.All(defaults, d => Assert.Equal("true", d.Labels![DefaultAlertRules.Label]));
        Assert.All(defaults, d => Assert.Equal("fraud-v2", d.Model));
        Assert.Equal(
            [
                "Dataset drift · fraud-v2|drift.share|above|0.5|True|1d|0s|0|warning",
                "Estimated recall below reference · fraud-v2|performance.estimated|outside_band||False|1d|0s|0|warning",
                "Scoring p99 latency · fraud-v2|scoring.latency_p99|above|50|False|1m|5m|20|critical",
                "No feedback · fraud-v2|labels.freshness|above|14|False|1d|0s|0|warning",
            ],
            defaults.Select(d => $"{d.Name}|{d.Metric.Kind}|{d.Condition.Kind}|{d.Condition.Threshold}|{d.Condition.Inclusive}|{d.Window}|{d.For}|{d.MinSample}|{d.Severity}"));
        Assert.Equal(("recall", AlertDirection.Down), (defaults[1].Metric.Metric, defaults[1].Condition.Direction));
        Assert.All(defaults, d => Assert.False(string.IsNullOrWhiteSpace(d.Description)));
    }

    [Fact]
    public void Json_WebDefaults_RoundTripsAndReadsOmittedFieldsAsDefaults()
    {
        var spec = AlertRuleStore.Defaults("m")[2] with { Channels = [Guid.Parse("0190d5e0-8b5c-7c3e-9f1a-2b4c6d8e0f12")] };

        var json = AlertJson.Serialize(spec);
        var back = AlertJson.Deserialize<AlertRuleSpec>(json);
        var minimal = AlertJson.Deserialize<AlertRuleSpec>("""{"name":"n","metric":{"kind":"traffic.volume"},"condition":{"kind":"below","threshold":10}}""");

        Assert.Equal(json, AlertJson.Serialize(back));
        Assert.Contains("\"keepFiringFor\":\"0s\"", json);
        Assert.Contains("\"default\":\"true\"", json); // label names keep their case
        Assert.Equal(("1h", "1m", "0s", AlertSeverity.Warning, true, AlertDirection.Either, 14), (minimal.Window, minimal.EvaluationInterval, minimal.For, minimal.Severity, minimal.Enabled, minimal.Condition.Direction, minimal.Condition.ReferenceWindows));
        Assert.Empty(minimal.Validate());
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<AlertRuleSpec>("{\"name\":", AlertJson.Options));
    }
}

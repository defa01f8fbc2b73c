using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Registry;

/// <summary>Where a model version stands. A registered model has at most one production version.</summary>
public static class ModelStage
{
    public const string Candidate = "candidate";
    public const string Staging = "staging";
    public const string Production = "production";
    public const string Archived = "archived";

    public static readonly IReadOnlyList<string> All = [Candidate, Staging, Production, Archived];
}

public static class GateStatus
{
    public const string Pending = "pending";
    public const string Passed = "passed";
    public const string Failed = "failed";
    /// <summary>A check could not be judged (groups too small to compare, say); promotion is refused unless an Admin overrides it.</summary>
    public const string Inconclusive = "inconclusive";
    public const string Overridden = "overridden";
    /// <summary>The gate could not be evaluated (for example a corrupt artifact); promotion is refused like a failure.</summary>
    public const string Error = "error";

    public static bool AllowsProduction(string status) => status is Passed or Overridden;

    /// <summary>What an Admin may override with a written reason.</summary>
    public static bool CanOverride(string status) => status is Failed or Error or Inconclusive;

    /// <summary>Failed when any check failed, inconclusive when none failed but one could not be judged, else passed.</summary>
    public static string Of(IReadOnlyList<GateCheck> checks) =>
        checks.Any(c => !c.Passed && !c.Inconclusive) ? Failed : checks.Any(c => c.Inconclusive) ? Inconclusive : Passed;
}

/// <summary>The validation metrics a gate can name, and which way is better.</summary>
public static class GateMetric
{
    public const string PrAuc = "pr_auc";
    public const string RocAuc = "roc_auc";
    public const string RecallAtOnePercentFpr = "recall_at_1pct_fpr";
    public const string LogLoss = "log_loss";
    public const string Brier = "brier";

    public static readonly IReadOnlyList<string> All = [PrAuc, RocAuc, RecallAtOnePercentFpr, LogLoss, Brier];

    public static bool HigherIsBetter(string metric) => metric is not (LogLoss or Brier);

    /// <summary>The values the metric can take: a threshold outside them could never (or always) pass.</summary>
    public static (double Min, double Max) Range(string metric) => metric == LogLoss ? (0, 1000) : (0, 1);

    public static double Of(ClassificationReport report, string metric) => metric switch
    {
        PrAuc => report.AveragePrecision,
        RocAuc => report.RocAuc,
        RecallAtOnePercentFpr => report.RecallAtOnePercentFpr,
        LogLoss => report.LogLoss,
        Brier => report.Brier,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown gate metric."),
    };
}

/// <summary>A baseline: the candidate's <paramref name="Metric"/> must satisfy <paramref name="Operator"/> <paramref name="Threshold"/> (the seed's BASELINE row).</summary>
public sealed record GateBaseline(string Metric, string Operator, double Threshold);

/// <summary>
/// A registered model's validation gate. Baselines are absolute; the champion comparison is MLflow's:
/// on the same holdout, the challenger may be worse than the production version by at most
/// <see cref="MaxAbsoluteDrop"/> and at most <see cref="MaxRelativeDrop"/> (a fraction) on each compared metric.
/// </summary>
public sealed record GateSettings(IReadOnlyList<GateBaseline> Baselines, IReadOnlyList<string> CompareMetrics, double MaxAbsoluteDrop = 0.01, double MaxRelativeDrop = 0.05)
{
    public static readonly IReadOnlyList<string> Operators = [">=", ">", "<=", "<"];

    /// <summary>The seed's examples: PR-AUC ≥ 0.5 and recall at 1 % false-positive rate ≥ 0.6; champion compared on PR-AUC and ROC-AUC.</summary>
    public static GateSettings Default => new(
        [new GateBaseline(GateMetric.PrAuc, ">=", 0.5), new GateBaseline(GateMetric.RecallAtOnePercentFpr, ">=", 0.6)],
        [GateMetric.PrAuc, GateMetric.RocAuc]);

    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        if (Baselines is null || CompareMetrics is null) return [("gate", "Give baselines and compareMetrics (either may be empty).")];
        // Every metric with every operator is 20 baselines; more can only repeat one.
        if (Baselines.Count > GateMetric.All.Count * Operators.Count) return [("baselines", $"At most {GateMetric.All.Count * Operators.Count} baselines.")];
        if (CompareMetrics.Count > GateMetric.All.Count) return [("compareMetrics", $"At most {GateMetric.All.Count} metrics, each once.")];
        var issues = new List<(string, string)>();
        for (var i = 0; i < Baselines.Count; i++)
        {
            var b = Baselines[i];
            if (b is null)
            {
                issues.Add(($"baselines[{i}]", "A baseline needs a metric, an operator and a threshold."));
                continue;
            }

            var known = GateMetric.All.Contains(b.Metric);
            if (!known) issues.Add(($"baselines[{i}].metric", $"'{b.Metric}' is not one of {string.Join(", ", GateMetric.All)}."));
            if (!Operators.Contains(b.Operator)) issues.Add(($"baselines[{i}].operator", $"'{b.Operator}' is not one of {string.Join(", ", Operators)}."));
            var (min, max) = known ? GateMetric.Range(b.Metric) : (double.MinValue, double.MaxValue);
            if (!(b.Threshold >= min && b.Threshold <= max))
                issues.Add(($"baselines[{i}].threshold", known ? $"A {b.Metric} threshold is a number from {min} to {max}." : "The threshold must be a finite number."));
        }

        for (var i = 0; i < CompareMetrics.Count; i++)
            if (CompareMetrics[i] is null || !GateMetric.All.Contains(CompareMetrics[i])) issues.Add(($"compareMetrics[{i}]", $"'{CompareMetrics[i]}' is not one of {string.Join(", ", GateMetric.All)}."));
        if (MaxAbsoluteDrop is not (>= 0 and <= 1)) issues.Add(("maxAbsoluteDrop", "The absolute margin must be between 0 and 1."));
        if (MaxRelativeDrop is not (>= 0 and <= 1)) issues.Add(("maxRelativeDrop", "The relative margin must be between 0 and 1."));
        return issues;
    }
}

/// <summary>One check of a gate and how it came out.</summary>
/// <param name="Candidate">The candidate's value; null when the check could not be judged.</param>
/// <param name="Inconclusive">The check could not be judged (not passed, not failed): it blocks promotion like a failure, and an Admin may override it.</param>
/// <param name="Lower">With <paramref name="Upper"/>, the candidate's confidence interval when the check is judged on one.</param>
/// <param name="Subject">What the check looked at beyond the metric (for fairness, the grouping).</param>
public sealed record GateCheck(
    string Kind, string Metric, string Rule, double? Candidate, double? Reference, bool Passed,
    bool Inconclusive = false, double? Lower = null, double? Upper = null, string? Subject = null);

/// <summary>
/// The gate's verdict for a version: the metrics of the candidate and (when there was one) the production
/// version, both scored on the candidate's holdout rows through the serving path.
/// </summary>
public sealed record GateResult(
    bool Passed,
    IReadOnlyList<GateCheck> Checks,
    ClassificationReport Candidate,
    ClassificationReport? Champion,
    Guid? ChampionVersionId,
    int? ChampionVersion,
    int HoldoutRows,
    DateTime EvaluatedAt,
    string? Error = null);

public sealed record RegisteredModel(Guid Id, string Name, string Description, string GateJson, string CreatedBy, DateTime CreatedAt)
{
    public GateSettings Gate => field ??= JsonSerializer.Deserialize<GateSettings>(GateJson, DatasetSchema.Json)!;
}

/// <summary>A registered model with its newest and production version numbers, for lists.</summary>
public sealed record RegisteredModelSummary(Guid Id, string Name, string Description, int Versions, int? LatestVersion, int? ProductionVersion, DateTime CreatedAt);

public sealed record ModelVersion(
    Guid Id, Guid RegisteredModelId, string ModelName, int Version, Guid RunId, string Stage, string TagList, string Notes,
    string GateStatus, string? GateResultJson, Guid? GateJobId, string? OverrideReason, string CreatedBy, DateTime CreatedAt)
{
    // Dapper cannot pass a text[] column to a record constructor, so the SQL joins the tags with U+001F.
    public string[] Tags => field ??= TagList.Split('\u001f', StringSplitOptions.RemoveEmptyEntries);

    public GateResult? GateResult => GateResultJson is null ? null : field ??= JsonSerializer.Deserialize<GateResult>(GateResultJson, DatasetSchema.Json);
}

public sealed record StageChange(long Id, Guid ModelVersionId, int Version, string? FromStage, string ToStage, string? Reason, string Actor, DateTime At);

public sealed record Incident(long Id, DateTime At, string Kind, string SubjectType, string SubjectId, string Message);

/// <summary>A registry request that cannot be carried out; <see cref="Field"/> names the offending input when there is one.</summary>
public sealed class RegistryException(string message, int status = 409, string? field = null, IReadOnlyList<(string Field, string Message)>? issues = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field ?? issues?.FirstOrDefault().Field;

    /// <summary>Every bad input, when there are several (a gate's baselines, say); otherwise the one named by <see cref="Field"/>.</summary>
    public IReadOnlyList<(string Field, string Message)> Issues { get; } = issues ?? (field is null ? [] : [(field, message)]);

    public static RegistryException Invalid(IReadOnlyList<(string Field, string Message)> issues) =>
        new(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")), 400, issues: issues);
}

/// <summary>Published after a stage change so every instance's model server reloads what it serves.</summary>
[Events.EventName("model.stage-changed")]
public sealed record ModelStageChanged(Guid RegisteredModelId, string ModelName, Guid ModelVersionId, int Version, string Stage);

/// <summary>Published when a version's gate result changes (pending → passed, failed, …).</summary>
[Events.EventName("model.gate-changed")]
public sealed record ModelGateChanged(Guid RegisteredModelId, Guid ModelVersionId, string GateStatus);

using System.Text.Json;
using System.Text.Json.Serialization;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Retraining;

/// <summary>The steps of a workflow, in order. A step with a job names it in <c>retraining_steps.job_id</c>.</summary>
public static class RetrainingStep
{
    /// <summary>A new dataset version from the prediction log and its labels (job <c>retraining.step</c>).</summary>
    public const string Dataset = "dataset";
    /// <summary>The production version's feature set definition refitted on it (job <c>retraining.step</c>).</summary>
    public const string Features = "features";
    /// <summary>A training run with the recipe (its own <c>training.run</c> job).</summary>
    public const string Train = "train";
    /// <summary>The run registered as a candidate version (no job: done in the advance that follows training).</summary>
    public const string Register = "register";
    /// <summary>The registry's validation gate with the common recent holdout check (its <c>registry.validate</c> job).</summary>
    public const string Gate = "gate";
    /// <summary>The challenger scores live traffic beside the champion until the policy's time or count; then the comparison (job <c>retraining.step</c>).</summary>
    public const string Shadow = "shadow";
    /// <summary>Waiting for an approver, or automatic when the policy says so and every gate passed.</summary>
    public const string Approval = "approval";
    /// <summary>The registry's checksum-verified atomic swap.</summary>
    public const string Promote = "promote";
    /// <summary>After promotion: a critical alert on the model rolls back to the previous version.</summary>
    public const string Watch = "watch";

    public static readonly IReadOnlyList<string> All = [Dataset, Features, Train, Register, Gate, Shadow, Approval, Promote, Watch];

    public static string Title(string step) => step switch
    {
        Dataset => "Build the dataset version",
        Features => "Fit the feature set",
        Train => "Train",
        Register => "Register the candidate",
        Gate => "Validation gate",
        Shadow => "Shadow scoring",
        Approval => "Approval",
        Promote => "Promote",
        Watch => "Watch",
        _ => step,
    };
}

public static class RetrainingStatus
{
    public const string Running = "running";
    public const string AwaitingApproval = "awaiting_approval";
    /// <summary>Promoted; a critical alert before <c>watch_until</c> rolls it back.</summary>
    public const string Watching = "watching";
    /// <summary>Promoted and the watch period passed.</summary>
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Rejected = "rejected";
    public const string RolledBack = "rolled_back";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All = [Running, AwaitingApproval, Watching, Succeeded, Failed, Rejected, RolledBack, Cancelled];

    /// <summary>Still going: at most one such workflow per model (a partial unique index).</summary>
    public static bool IsActive(string status) => status is Running or AwaitingApproval or Watching;
}

public static class RetrainingStepStatus
{
    public const string Pending = "pending";
    public const string Running = "running";
    /// <summary>Waiting on something outside the job queue: shadow traffic, an approver, the watch period.</summary>
    public const string Waiting = "waiting";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

public static class RetrainingTrigger
{
    public const string Alert = "alert";
    public const string Schedule = "schedule";
    public const string Manual = "manual";
}

/// <summary>How a workflow's training rows are made.</summary>
public static class RetrainingDataMode
{
    /// <summary>The production version's original dataset version, then the traffic rows.</summary>
    public const string Append = "append";
    /// <summary>The traffic rows only.</summary>
    public const string Replace = "replace";

    public static readonly IReadOnlyList<string> All = [Append, Replace];
}

public static class PromotionMode
{
    public const string Manual = "manual";
    /// <summary>Promoted without a person when the gate (and the shadow comparison's checks) passed.</summary>
    public const string Automatic = "automatic";

    public static readonly IReadOnlyList<string> All = [Manual, Automatic];
}

/// <summary>Who may approve or reject a challenger.</summary>
public static class ApproverRole
{
    public const string Admin = "admin";
    /// <summary>An Admin or a Reviewer.</summary>
    public const string Reviewer = "reviewer";

    public static readonly IReadOnlyList<string> All = [Admin, Reviewer];
}

/// <summary>
/// A registered model's retraining policy (<c>retraining_policies.policy</c>). Automatic triggers (the alert rules, the
/// schedule) act only when <see cref="Enabled"/> and only past the cooldown, the weekly cap and label maturity. "Retrain
/// now" is a person's decision (audited under their name): it works either way and skips those three guards; only the
/// one-active-workflow guard holds for every trigger.
/// </summary>
/// <param name="TriggerRuleIds">Alert rules whose firing on this model starts a workflow.</param>
/// <param name="ScheduleDays">Retrain every so many days (null: no schedule).</param>
/// <param name="CooldownDays">Least time between the starts of two workflows (automatic triggers).</param>
/// <param name="MaxPerWeek">At most this many workflows started in any 7 days (automatic triggers).</param>
/// <param name="MinMatureDays">Mature labelled days of traffic (label window passed) needed since the production version's training data ended.</param>
/// <param name="TrainingWindowDays">Days of traffic (ending now) the dataset version takes from the prediction log.</param>
/// <param name="HoldoutDays">The latest mature days kept out of training: the common recent holdout both versions are scored on.</param>
/// <param name="DataMode">Append to the production version's original dataset version, or replace it.</param>
/// <param name="RecipeRunId">The run whose trainer, imbalance and threshold settings to use (null: the production version's run).</param>
/// <param name="MinImprovement">On the common holdout, the challenger's PR-AUC must exceed the champion's by at least this much.</param>
/// <param name="ShadowHours">Shadow scoring lasts at most this long.</param>
/// <param name="ShadowTransactions">Shadow scoring ends early once the challenger scored this many transactions (null: time only).</param>
/// <param name="WatchHours">After promotion, a critical alert on the model within this many hours rolls back.</param>
public sealed record RetrainingPolicy(
    bool Enabled = false,
    IReadOnlyList<Guid>? TriggerRuleIds = null,
    int? ScheduleDays = null,
    double CooldownDays = 7,
    int MaxPerWeek = 1,
    int MinMatureDays = 7,
    int TrainingWindowDays = 28,
    int HoldoutDays = 7,
    string DataMode = RetrainingDataMode.Append,
    Guid? RecipeRunId = null,
    double MinImprovement = 0,
    string PromotionMode = Retraining.PromotionMode.Manual,
    string Approver = ApproverRole.Admin,
    double ShadowHours = 24,
    long? ShadowTransactions = 10_000,
    double WatchHours = 72)
{
    public static RetrainingPolicy Default => new();

    public IReadOnlyList<Guid> Rules => TriggerRuleIds ?? [];

    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var issues = new List<(string, string)>();
        if (Rules.Count > 50) issues.Add(("triggerRuleIds", "At most 50 trigger rules."));
        if (Rules.Distinct().Count() != Rules.Count) issues.Add(("triggerRuleIds", "Name each rule once."));
        if (ScheduleDays is not (null or (>= 1 and <= 365))) issues.Add(("scheduleDays", "Retrain every 1 to 365 days, or leave the schedule empty."));
        if (CooldownDays is not (>= 0 and <= 365)) issues.Add(("cooldownDays", "The cooldown is from 0 to 365 days."));
        if (MaxPerWeek is < 1 or > 50) issues.Add(("maxPerWeek", "At most 1 to 50 workflows a week."));
        if (MinMatureDays is < 0 or > 365) issues.Add(("minMatureDays", "From 0 to 365 mature days."));
        if (TrainingWindowDays is < 1 or > 730) issues.Add(("trainingWindowDays", "The training window is from 1 to 730 days."));
        if (HoldoutDays is < 1 or > 90) issues.Add(("holdoutDays", "The common holdout is from 1 to 90 days."));
        if (HoldoutDays >= TrainingWindowDays && TrainingWindowDays is >= 1) issues.Add(("holdoutDays", "The holdout must be shorter than the training window, or nothing is left to train on."));
        if (!RetrainingDataMode.All.Contains(DataMode)) issues.Add(("dataMode", $"Use one of {string.Join(", ", RetrainingDataMode.All)}."));
        if (MinImprovement is not (>= -1 and <= 1)) issues.Add(("minImprovement", "The improvement is a PR-AUC difference from -1 to 1."));
        if (!Retraining.PromotionMode.All.Contains(PromotionMode)) issues.Add(("promotionMode", $"Use one of {string.Join(", ", Retraining.PromotionMode.All)}."));
        if (!ApproverRole.All.Contains(Approver)) issues.Add(("approver", $"Use one of {string.Join(", ", ApproverRole.All)}."));
        if (ShadowHours is not (>= 0 and <= 24 * 60)) issues.Add(("shadowHours", "Shadow scoring lasts 0 to 1,440 hours (0: no shadow)."));
        if (ShadowTransactions is not (null or (>= 1 and <= 100_000_000))) issues.Add(("shadowTransactions", "From 1 to 100,000,000 transactions, or empty for time only."));
        if (WatchHours is not (>= 0 and <= 24 * 90)) issues.Add(("watchHours", "The watch period is 0 to 2,160 hours."));
        return issues;
    }

    public string ToJson() => JsonSerializer.Serialize(this, RetrainingJson.Options);

    public static RetrainingPolicy FromJson(string json) => JsonSerializer.Deserialize<RetrainingPolicy>(json, RetrainingJson.Options) ?? Default;
}

/// <summary>JSON as stored in the retraining tables (camelCase, like the API), kept apart from the event options.</summary>
public static class RetrainingJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, Options);
}

/// <summary>A model's stored policy, or the default when it has none (<see cref="UpdatedBy"/> null).</summary>
public sealed record StoredRetrainingPolicy(Guid RegisteredModelId, string ModelName, RetrainingPolicy Policy, string? UpdatedBy, DateTime? UpdatedAt);

/// <summary>A row of <c>retraining_workflows</c>.</summary>
public sealed record RetrainingWorkflow(
    Guid Id, Guid RegisteredModelId, string ModelName, string TriggerKind, Guid? TriggerAlertId, string TriggerDetail, string PolicyJson,
    Guid? ChampionVersionId, string Status, string Step,
    Guid? DatasetId, int? DatasetVersion, Guid? FeatureSetVersionId, Guid? RunId, Guid? CandidateVersionId,
    DateTime? ShadowStartedAt, DateTime? ShadowEndsAt, DateTime? PromotedAt, DateTime? WatchUntil,
    string? Decision, string? DecidedBy, DateTime? DecidedAt, string? DecisionComment, DateTime? RolledBackAt, string? RollbackReason,
    string? Error, string CreatedBy, DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinishedAt)
{
    public RetrainingPolicy Policy => field ??= RetrainingPolicy.FromJson(PolicyJson);

    public bool IsActive => RetrainingStatus.IsActive(Status);
}

/// <summary>A row of <c>retraining_steps</c>; <see cref="ResultJson"/> is the step's result record (below) as JSON.</summary>
public sealed record RetrainingStepRow(
    Guid WorkflowId, string Step, int Ordinal, string Status, Guid? JobId, DateTime? StartedAt, DateTime? FinishedAt, string? ResultJson, string? Error)
{
    public T? Result<T>() => RetrainingJson.Deserialize<T>(ResultJson);
}

/// <summary>A workflow with its steps in order, as pages and the API show it.</summary>
public sealed record RetrainingWorkflowDetail(RetrainingWorkflow Workflow, IReadOnlyList<RetrainingStepRow> Steps);

/// <summary>What the dataset step wrote (also in <c>retraining_dataset_lineage</c>).</summary>
public sealed record DatasetStepResult(
    Guid DatasetId, string DatasetName, int DatasetVersion, Guid DatasetVersionId, string Checksum, long Rows,
    long TrafficRows, long BaseRows, long FraudLabelled, long LegitLabelled, long LegitByWindow, long LeftOut,
    DateTime WindowFrom, DateTime WindowTo, DateTime? HoldoutFrom, DateTime? HoldoutTo, string PredictionIdsSha256);

/// <summary>What the feature step fitted (its entity histories replayed in the same step); <see cref="Created"/> false when an identical fit existed.</summary>
public sealed record FeaturesStepResult(Guid FeatureSetVersionId, string FeatureSetName, int FeatureSetVersion, string DefinitionHash, bool Created);

/// <summary>The run the train step started.</summary>
public sealed record TrainStepResult(Guid RunId, Guid JobId, string RunName, Guid RecipeRunId);

/// <summary>The candidate version the register step made.</summary>
public sealed record RegisterStepResult(Guid VersionId, int Version, Guid GateJobId);

/// <summary>The gate's outcome for the workflow (the checks themselves stay in the version's gate result).</summary>
public sealed record GateStepResult(string GateStatus, int Checks, int Failed, int Inconclusive, double? HoldoutCandidatePrAuc, double? HoldoutChampionPrAuc);

/// <summary>
/// The challenger against the champion on the live traffic both scored while the workflow shadowed. Realized metrics
/// are on the shadowed predictions with labels so far (null when they have not both classes).
/// </summary>
/// <param name="ScoreCorrelation">Pearson correlation of the two probabilities.</param>
/// <param name="RankCorrelation">Spearman's rank correlation of the two probabilities.</param>
/// <param name="FlagAgreement">Share of transactions both flagged or both passed, each at its own threshold.</param>
/// <param name="Kappa">Cohen's kappa of the two decisions.</param>
/// <param name="Dropped">
/// The champion's logged transactions in the shadow period with no shadow prediction: the challenger failed on them, or
/// the log committed them after the tailer had read past their time, or the tailer had not reached them when the grace
/// period after the end ran out. They were served as usual; counted from the log and <c>shadow_predictions</c> when the
/// comparison runs, so every instance and a restart see the same figure.
/// </param>
public sealed record ShadowComparison(
    long Transactions, long Dropped, DateTime? From, DateTime? To,
    double? ScoreCorrelation, double? RankCorrelation, double? FlagAgreement, double? Kappa,
    double ChampionFlagRate, double ChallengerFlagRate, double ChampionMeanScore, double ChallengerMeanScore,
    double ChampionExpectedFraud, double ChallengerExpectedFraud,
    long Labelled, long LabelledFraud,
    ClassificationReport? ChampionRealized, ClassificationReport? ChallengerRealized,
    double ChallengerLatencyP99Ms);

/// <summary>Published on every change of a workflow (step, status, progress of its current job), here and on the other instances.</summary>
[EventName("retraining.changed")]
public sealed record RetrainingChanged(Guid WorkflowId, Guid RegisteredModelId, string ModelName, string Status, string Step);

/// <summary>A retraining request that cannot be carried out; <see cref="Field"/> names the offending input when there is one.</summary>
public sealed class RetrainingException(string message, int status = 409, string? field = null, IReadOnlyList<(string Field, string Message)>? issues = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field ?? issues?.FirstOrDefault().Field;
    public IReadOnlyList<(string Field, string Message)> Issues { get; } = issues ?? (field is null ? [] : [(field, message)]);

    public static RetrainingException Invalid(IReadOnlyList<(string Field, string Message)> issues) =>
        new(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")), 400, issues: issues);
}

/// <summary>One document for auditors: everything a production version rests on, each link with its checksum.</summary>
/// <param name="Json">The document, UTF-8 JSON, indented.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of <paramref name="Json"/>'s UTF-8 bytes.</param>
public sealed record AuditChainDocument(string ModelName, int Version, string Json, string Sha256);

/// <summary>The holdout check's figures, for the workflow's gate step (the check itself is a <see cref="GateCheck"/>).</summary>
public sealed record RecentHoldoutFigures(DateTime From, DateTime To, int Rows, int Fraud, ClassificationReport Candidate, ClassificationReport Champion);

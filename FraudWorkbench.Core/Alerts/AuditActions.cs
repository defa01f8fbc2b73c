using System.Text.RegularExpressions;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// The audit actions a rule on <see cref="AlertMetricKind.AuditEvents"/> can count. <see cref="Known"/> is what the
/// editor offers: every action the code writes today (a test checks it against the source). Names only, so Alerts knows
/// nothing of the capabilities that write them; any other well-formed name is accepted too (a newer action, or one
/// written by another version of the app against the same database).
/// </summary>
public static partial class AuditActions
{
    public const string RetrainingFail = "retraining.fail";

    public static readonly IReadOnlyList<string> Known =
    [
        "alert.ack", "alert.rule-create", "alert.rule-delete", "alert.rule-disable", "alert.rule-enable", "alert.rule-update",
        "alert.silence-create", "alert.silence-expire",
        "alerts.channel-create", "alerts.channel-delete", "alerts.channel-rotate-secret", "alerts.channel-test", "alerts.channel-update", "alerts.delivery-resend",
        "api-key.create", "api-key.revoke",
        "dataset.archive", "dataset.create", "dataset.restore", "dataset.version.create", "dataset.version.revise",
        "fairness.export", "fairness.gate-update", "fairness.signoff",
        "feature-set.create", "feature-set.version.create",
        "job.cancel", "job.enqueue",
        "model-version.gate-override", "model-version.register", "model-version.stage", "model-version.update",
        "model.create", "model.monitoring", "model.performance", "model.replay", "model.update",
        "monitoring.retention", "prediction.feedback", "predictions.retention",
        "retraining.approve", "retraining.cancel", "retraining.dataset", RetrainingFail, "retraining.policy.save", "retraining.promote",
        "retraining.reject", "retraining.rollback", "retraining.skipped", "retraining.start", "retraining.succeeded",
        "training-run.create", "training-run.describe",
        "user.change-password", "user.create", "user.reset-password", "user.set-role", "user.sign-in-throttled", "user.unlock",
    ];

    /// <summary>A known action, or a name shaped like one: lower case, starting with a letter, at most 64 characters.</summary>
    public static bool IsValid(string? action) => action is not null && (Known.Contains(action) || Shape().IsMatch(action));

    // \z, not $: "$" would let a trailing newline through.
    [GeneratedRegex(@"^[a-z][a-z0-9_.-]{1,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}

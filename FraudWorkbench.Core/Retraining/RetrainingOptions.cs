namespace FraudWorkbench.Core.Retraining;

/// <summary>Retraining settings (<c>FraudWorkbench:Retraining</c>).</summary>
public sealed class RetrainingOptions
{
    public const string Section = "FraudWorkbench:Retraining";

    /// <summary>How often the coordinator looks for schedules due, shadow periods and watch periods that ended, and steps whose events were missed.</summary>
    public TimeSpan CoordinatorTick { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the shadow tailer reads the prediction log when no workflow changed (it also reads on every change).</summary>
    public TimeSpan ShadowTailInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How far behind now the shadow tailer reads the log: the log commits its rows in batches a little after their
    /// <c>created_at</c>, and a row committed behind the tailer's position is never read (the comparison counts it as dropped).
    /// </summary>
    public TimeSpan ShadowTailLag { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After a shadow period ends, how long the engine waits for the tailer to have read the log up to the end before it
    /// compares what there is (the rest counts as dropped).
    /// </summary>
    public TimeSpan ShadowCatchUpGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Logged predictions the tailer reads, records, shadow-scores and commits (with its position) at a time.</summary>
    public int ShadowBatchSize { get; set; } = 500;

    public bool IsValid() =>
        CoordinatorTick >= TimeSpan.FromMilliseconds(100) && CoordinatorTick <= TimeSpan.FromMinutes(10)
        && ShadowTailInterval >= TimeSpan.FromMilliseconds(50) && ShadowTailInterval <= TimeSpan.FromMinutes(10)
        && ShadowTailLag >= TimeSpan.Zero && ShadowTailLag <= TimeSpan.FromHours(1)
        && ShadowCatchUpGrace > ShadowTailLag + ShadowTailInterval && ShadowCatchUpGrace <= TimeSpan.FromDays(1)
        && ShadowBatchSize is >= 1 and <= 100_000;

    public const string Requirements =
        "FraudWorkbench:Retraining needs CoordinatorTick 100 ms–10 min, ShadowTailInterval 50 ms–10 min, ShadowTailLag 0–1 h, "
        + "ShadowCatchUpGrace above ShadowTailLag + ShadowTailInterval and at most 1 day, and ShadowBatchSize 1–100,000.";
}

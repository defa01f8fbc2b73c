namespace FraudWorkbench.Core.Retraining;

/// <summary>Retraining settings (<c>FraudWorkbench:Retraining</c>).</summary>
public sealed class RetrainingOptions
{
    public const string Section = "FraudWorkbench:Retraining";

    /// <summary>How often the coordinator looks for schedules due, shadow periods and watch periods that ended, and steps whose events were missed.</summary>
    public TimeSpan CoordinatorTick { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Live transactions waiting for the challenger; beyond this they are dropped (and counted), never delaying the champion's responses.</summary>
    public int ShadowQueueCapacity { get; set; } = 20_000;

    /// <summary>Shadow predictions written per COPY.</summary>
    public int ShadowBatchSize { get; set; } = 500;

    public bool IsValid() =>
        CoordinatorTick >= TimeSpan.FromMilliseconds(100) && CoordinatorTick <= TimeSpan.FromMinutes(10)
        && ShadowQueueCapacity is >= 1 and <= 10_000_000 && ShadowBatchSize is >= 1 and <= 100_000;
}

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// Further work the recurring monitoring job does for each closed window once drift is stored (fairness of the day's
/// traffic, say). Implemented by newer capabilities and registered by them, so Monitoring does not depend on them.
/// </summary>
public interface IMonitoringWindowStep
{
    /// <summary>Does the step's work for the window of <paramref name="size"/> (<see cref="WindowSize"/>) starting at <paramref name="start"/>; returns what it did (for the job's result), or null when it had nothing to do.</summary>
    Task<object?> RunAsync(string size, DateTime start, CancellationToken cancellationToken);
}

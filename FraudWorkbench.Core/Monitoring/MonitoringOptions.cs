namespace FraudWorkbench.Core.Monitoring;

public sealed class MonitoringOptions
{
    public const string Section = "FraudWorkbench:Monitoring";

    /// <summary>Count each logged batch into the monitoring buckets (off only to measure what it costs).</summary>
    public bool AggregateOnLog { get; set; } = true;

    /// <summary>How long drift history, counts and refusals are kept (the seed's storage table: one year).</summary>
    public int RetentionDays { get; set; } = 365;

    /// <summary>Current values read from the log for tests that need raw values (KS against a small reference).</summary>
    public int RawSampleSize { get; set; } = 5_000;

    public bool IsValid() => RetentionDays > 0 && RawSampleSize is >= 100 and <= 100_000;
}

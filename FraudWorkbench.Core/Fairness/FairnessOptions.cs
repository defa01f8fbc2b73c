namespace FraudWorkbench.Core.Fairness;

/// <summary><c>FraudWorkbench:Fairness</c>: how group metrics are judged and how their intervals are drawn.</summary>
public sealed class FairnessOptions
{
    public const string Section = "FraudWorkbench:Fairness";

    /// <summary>Groups with fewer rows are shown as too small to judge and left out of disparities.</summary>
    public int MinGroupSize { get; set; } = 30;

    /// <summary>Bootstrap resamples per report; 0 gives point values only.</summary>
    public int Resamples { get; set; } = 1000;

    public double Confidence { get; set; } = 0.95;

    public int Seed { get; set; } = 18;

    /// <summary>
    /// Cores a report's bootstrap may use. The app also scores on these cores, so by default a job takes half of them
    /// (at least one); the intervals are the same whatever this is.
    /// </summary>
    public int MaxParallelism { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    public bool IsValid() => MinGroupSize >= 1 && Resamples is >= 0 and <= 10_000 && Confidence is >= 0.5 and < 1 && MaxParallelism >= 1;

    public FairnessSettings Settings => new(MinGroupSize, Resamples, Confidence, Seed);
}

namespace FraudWorkbench.Core.Fairness;

/// <summary><c>FraudWorkbench:Fairness:Production</c>: how much production traffic a fairness window reads.</summary>
public sealed class FairnessProductionOptions
{
    public const string Section = "FraudWorkbench:Fairness:Production";

    /// <summary>
    /// Most predictions a day window is computed on; beyond it a uniform sample of this size: the predictions with the
    /// smallest hash of their id (PostgreSQL's <c>hashtextextended</c> with <see cref="SampleSeed"/>), the same rows on
    /// every run and every instance.
    /// </summary>
    public int MaxRowsPerWindow { get; set; } = 20_000;

    /// <summary>Most predictions a range asked for on demand is computed on (sampled the same way).</summary>
    public int MaxRowsPerRange { get; set; } = 50_000;

    /// <summary>The longest range computed on demand, in days.</summary>
    public int MaxRangeDays { get; set; } = 92;

    /// <summary>How far back the daily job looks for days whose labels changed (or that became mature) to compute again.</summary>
    public int RecomputeDays { get; set; } = 120;

    public int SampleSeed { get; set; } = 18;

    public bool IsValid() => MaxRowsPerWindow is >= 100 and <= 1_000_000 && MaxRowsPerRange is >= 100 and <= 2_000_000
        && MaxRangeDays is >= 1 and <= 800 && RecomputeDays is >= 0 and <= 800;
}

namespace FraudWorkbench.Core.Features;

public sealed class FeatureSetOptions
{
    public const string Section = "FraudWorkbench:Features";

    /// <summary>
    /// Most memory a feature set fit may need, by its estimate (the rows as text, the feature matrix and the fit's
    /// working arrays); a definition over a dataset version that needs more is refused before anything is read.
    /// 0: half the memory available to the process.
    /// </summary>
    public long MaxFitMemoryBytes { get; set; }

    public long Budget => MaxFitMemoryBytes > 0 ? MaxFitMemoryBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
}

namespace FraudWorkbench.Core.Data;

public sealed class DataOptions
{
    public const string Section = "FraudWorkbench:Data";

    /// <summary>Largest accepted upload.</summary>
    public long MaxUploadBytes { get; set; } = 2L * 1024 * 1024 * 1024;
}

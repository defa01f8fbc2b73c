using Microsoft.Extensions.Configuration;

namespace FraudWorkbench.Core;

/// <summary>Settings under <c>FraudWorkbench</c>; the <c>FRAUDWB_*</c> environment variables override them.</summary>
public sealed class WorkbenchOptions
{
    public const string Section = "FraudWorkbench";

    /// <summary>Where the private PostgreSQL cluster and the artifact files live.</summary>
    public string DataDirectory { get; set; } = "data";

    public static string ResolveDataDirectory(IConfiguration configuration) =>
        Path.GetFullPath(configuration["FRAUDWB_DATA_DIR"] is { Length: > 0 } fromEnv
            ? fromEnv
            : configuration[$"{Section}:DataDirectory"] is { Length: > 0 } fromConfig ? fromConfig : "data");
}

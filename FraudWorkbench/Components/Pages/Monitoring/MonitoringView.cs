using System.Globalization;
using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>How the monitoring panels word and pick things, shared so the tiles, table and detail say the same.</summary>
public static class MonitoringView
{
    public const string NoTrafficHelp =
        "No predictions in this range. Score transactions through /api/v1/predict with this model in production, or send a held-back dataset through it " +
        "from the 'Replay a dataset' tab (the version page's 'Try it' is a dry run and is not logged); " +
        "the page fills in as they are logged, and the hourly job stores each closed hour.";

    public const string NoReferenceHelp =
        "The version that served this traffic was fitted before monitoring references were kept, so there is nothing to compare with. " +
        "Refit the feature set (a new feature set version), train and register a new version, and promote it.";

    /// <summary>The newest window with traffic and a reference: what the table and the tiles show.</summary>
    public static DriftWindow? Latest(DriftReport report) => report.Windows.LastOrDefault(w => w.Predictions > 0 && w.Columns.Count > 0);

    /// <summary>The newest window with traffic but without a reference to compare with (the version predates references).</summary>
    public static DriftWindow? LatestWithoutReference(DriftReport report) => report.Windows.LastOrDefault(w => w.Predictions > 0 && w.Columns.Count == 0);

    /// <summary>A tile's style: five share a row from 1280 px, and a tone (error / warning) colours its left edge.</summary>
    public static string TileStyle(string? tone) => "flex: 1 1 150px; min-width: 150px;" +
        (tone is null ? "" : $" border-left: 4px solid var(--mud-palette-{tone});");

    public static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %";

    public static string Percent(double? share) => share is { } s ? Percent(s) : "—";

    public static string Score(double? value) => value is not { } v ? "—"
        : v != 0 && Math.Abs(v) < 0.001 ? v.ToString("0.##E+0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);

    public static string MethodName(string method) => method switch
    {
        DriftMethod.KolmogorovSmirnov => "K-S p-value",
        DriftMethod.ChiSquare => "chi-square p-value",
        DriftMethod.ProportionZ => "Z-test p-value",
        DriftMethod.Wasserstein => "Wasserstein (normed)",
        DriftMethod.JensenShannon => "Jensen-Shannon distance",
        DriftMethod.Psi => "PSI",
        DriftMethod.Hellinger => "Hellinger distance",
        _ => method,
    };

    /// <summary>The test's name for a table cell; <see cref="MethodName"/> is the full one.</summary>
    public static string ShortMethodName(string method) => method switch
    {
        DriftMethod.KolmogorovSmirnov => "K-S",
        DriftMethod.ChiSquare => "chi-square",
        DriftMethod.ProportionZ => "Z-test",
        DriftMethod.Wasserstein => "Wasserstein",
        DriftMethod.JensenShannon => "Jensen-Shannon",
        DriftMethod.Psi => "PSI",
        DriftMethod.Hellinger => "Hellinger",
        _ => method,
    };

    /// <summary>The column's state in words: drifted / not drifted, or why it has no score.</summary>
    public static string Verdict(ColumnDrift? column) => column?.Status switch
    {
        null => "no data",
        DriftStatus.Tested => column.Drifted == true ? "drifted" : "not drifted",
        DriftStatus.NoData => "no data",
        DriftStatus.NotTestable => "not testable",
        DriftStatus.NoReference => "no reference",
        _ => column.Status,
    };

    public static string KindName(string kind) => kind switch
    {
        ColumnKind.Score => "score",
        ColumnKind.Decision => "decision",
        ColumnKind.Input => "input",
        ColumnKind.Protected => "protected",
        _ => "other",
    };

    public static string ColumnName(string column) => column switch
    {
        MonitoredColumns.Score => "fraud score",
        MonitoredColumns.Decision => "decision (fraud)",
        _ => column,
    };

    public static string Ago(TimeSpan elapsed) => elapsed < TimeSpan.FromMinutes(1) ? "just now"
        : elapsed < TimeSpan.FromHours(1) ? $"{(int)elapsed.TotalMinutes} min ago"
        : elapsed < TimeSpan.FromDays(2) ? $"{(int)elapsed.TotalHours} h ago"
        : $"{(int)elapsed.TotalDays} days ago";

    public static string WindowLabel(DateTime start, string window) => window == WindowSize.Hour
        ? start.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
        : start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

using System.Text.Json.Serialization;
using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>The windows monitoring reads: clock hours, UTC days and weeks starting on Monday (aligned as the recurring jobs are).</summary>
public static class WindowSize
{
    public const string Hour = "hour";
    public const string Day = "day";
    public const string Week = "week";

    public static readonly IReadOnlyList<string> All = [Hour, Day, Week];

    public static TimeSpan Of(string size) => size switch
    {
        Hour => TimeSpan.FromHours(1),
        Day => TimeSpan.FromDays(1),
        Week => TimeSpan.FromDays(7),
        _ => throw new ArgumentOutOfRangeException(nameof(size), size, "Window size is hour, day or week."),
    };

    /// <summary>The start of the window of <paramref name="size"/> holding <paramref name="at"/> (2001-01-01, the origin, was a Monday).</summary>
    public static DateTime Start(string size, DateTime at) => new RecurringJob("", Of(size), "").WindowContaining(at);
}

/// <summary>What a monitored column is to the model.</summary>
public static class ColumnKind
{
    /// <summary>A column the model's features read.</summary>
    public const string Input = "input";
    public const string Protected = "protected";
    /// <summary>Logged with the transactions but not read by the model.</summary>
    public const string Other = "other";
    /// <summary>The fraud probability the version served (<see cref="MonitoredColumns.Score"/>).</summary>
    public const string Score = "score";
    /// <summary>The decision at the threshold (<see cref="MonitoredColumns.Decision"/>).</summary>
    public const string Decision = "decision";
}

/// <summary>Names of the monitored columns that are not transaction columns (a colon cannot start a CSV header we accept).</summary>
public static class MonitoredColumns
{
    public const string Score = ":score";
    public const string Decision = ":decision";
    /// <summary>The dataset-level row of the drift history: its value is the share of drifted inputs.</summary>
    public const string Dataset = ":dataset";
}

/// <summary>Why a column has no drift score in a window.</summary>
public static class DriftStatus
{
    public const string Tested = "tested";
    /// <summary>No current values in the window (no traffic, or every value missing).</summary>
    public const string NoData = "no_data";
    /// <summary>The reference cannot be compared with: every value missing, or a single constant value for a numeric test.</summary>
    public const string NotTestable = "not_testable";
    /// <summary>The version was fitted before monitoring references were kept.</summary>
    public const string NoReference = "no_reference";
}

/// <summary>A time range cut into windows: [From, To), From and To on window boundaries.</summary>
public sealed record MonitoringRange(DateTime From, DateTime To, string Window)
{
    /// <summary>The windows covering [<paramref name="from"/>, <paramref name="to"/>), the last one possibly still open.</summary>
    public static MonitoringRange Covering(DateTime from, DateTime to, string window)
    {
        var start = WindowSize.Start(window, from);
        var end = WindowSize.Start(window, to);
        if (end < to) end += WindowSize.Of(window);
        return new MonitoringRange(start, end <= start ? start + WindowSize.Of(window) : end, window);
    }

    public IEnumerable<DateTime> WindowStarts()
    {
        for (var s = From; s < To; s += WindowSize.Of(Window)) yield return s;
    }
}

/// <summary>One column's drift in one window.</summary>
/// <param name="Value">The test's p-value or distance; null unless <paramref name="Status"/> is <see cref="DriftStatus.Tested"/>.</param>
/// <param name="Rows">Current values in the window, missing ones included.</param>
/// <param name="Missing">Current values missing.</param>
/// <param name="ReferenceMissingShare">Share of the reference's values that were missing.</param>
/// <param name="Unseen">Current category values the reference never had.</param>
/// <param name="OutOfRange">Current numeric values outside the reference's [min, max].</param>
public sealed record ColumnDrift(
    string Column, string Kind, string Type, string Method, double? Value, double Threshold, bool? Drifted, string Status,
    long Rows, long ReferenceRows, long Missing, double ReferenceMissingShare, long Unseen, long OutOfRange)
{
    public double? MissingShare => Rows == 0 ? null : (double)Missing / Rows;

    /// <summary>How far past its threshold the column is, for sorting: &gt; 1 drifted. P-values are compared on −log10.</summary>
    /// <remarks>Not serialised: infinite for a p-value threshold of 1, which JSON cannot carry; clients sort by value and threshold.</remarks>
    [JsonIgnore]
    public double Severity => Value is not { } v ? -1
        : DriftMethod.IsPValue(Method) ? Math.Log10(Math.Max(v, 1e-300)) / Math.Log10(Math.Clamp(Threshold, 1e-300, 0.999999))
        : v / Math.Max(Threshold, 1e-12);
}

/// <summary>Every monitored column's drift in one window, for the version that served most of it.</summary>
/// <param name="Predictions">Predictions the window holds (all versions of the model).</param>
/// <param name="Stored">True when read from the drift history (a closed window the recurring job computed); false when computed now.</param>
/// <param name="FlagRate">Share of the window's predictions decided fraud; <paramref name="ReferenceFlagRate"/> is the validation holdout's at the same threshold.</param>
/// <param name="MeanScore">Mean fraud probability served; <paramref name="ReferenceMeanScore"/> is the validation holdout's.</param>
public sealed record DriftWindow(
    DateTime Start, DateTime End, Guid? VersionId, int? Version, long Predictions, IReadOnlyList<ColumnDrift> Columns,
    double DriftShare, double DriftShareThreshold, bool DatasetDrift, bool Stored, DateTime? ComputedAt,
    double? FlagRate = null, double? ReferenceFlagRate = null, double? MeanScore = null, double? ReferenceMeanScore = null)
{
    /// <summary>The drift rows of the model's inputs (protected and other logged columns are shown, not counted).</summary>
    /// <remarks>Not serialised: a repeat of <see cref="Columns"/>' input rows.</remarks>
    [JsonIgnore]
    public IEnumerable<ColumnDrift> Inputs => Columns.Where(c => c.Kind == ColumnKind.Input);

    public ColumnDrift? Column(string name) => Columns.FirstOrDefault(c => c.Column == name);
}

/// <param name="LastComputed">When the recurring job last stored a window of this model; null when never.</param>
public sealed record DriftReport(string Model, MonitoringRange Range, IReadOnlyList<DriftWindow> Windows, DateTime? LastComputed);

/// <summary>A column's reference and current distributions over a range, in the reference's bins.</summary>
/// <param name="Labels">A label per bin: the category, or the bin's range for numbers; unseen categories last, one bin each.</param>
/// <param name="Edges">For binned numbers: the inner bin edges; null for categories.</param>
/// <param name="Reference">Reference values per bin (counts).</param>
/// <param name="Current">Current values per bin (counts).</param>
public sealed record ColumnDistribution(
    string Column, string Kind, string Type, IReadOnlyList<string> Labels, IReadOnlyList<double>? Edges,
    IReadOnlyList<long> Reference, IReadOnlyList<long> Current, IReadOnlyList<bool> IsUnseen)
{
    public long ReferenceTotal => Reference.Sum();

    public long CurrentTotal => Current.Sum();
}

/// <summary>One column's data quality in one window.</summary>
/// <param name="UnseenValues">The most frequent unseen values with their counts (top 20).</param>
/// <param name="Below">Numeric values under the reference's minimum.</param>
/// <param name="Above">Numeric values over the reference's maximum.</param>
public sealed record ColumnQuality(
    string Column, string Kind, string Type, long Rows, long Missing, double ReferenceMissingShare, long Unseen,
    IReadOnlyList<ValueCount> UnseenValues, long Below, long Above, double? ReferenceMin, double? ReferenceMax)
{
    public double? MissingShare => Rows == 0 ? null : (double)Missing / Rows;

    public long OutOfRange => Below + Above;

    /// <summary>
    /// A problem worth a look: unseen categories, values out of range, or a missing share clearly above the reference's
    /// (more than 5 points and a 3-standard-error rise, so a few nulls in a small window do not count).
    /// </summary>
    public bool HasProblem => Unseen > 0 || OutOfRange > 0 || MissingRise;

    public bool MissingRise => MissingShare is { } m && Rows > 0 && m - ReferenceMissingShare > 0.05
        && m - ReferenceMissingShare > 3 * Math.Sqrt(Math.Max(ReferenceMissingShare * (1 - ReferenceMissingShare), 1e-6) / Rows);
}

public sealed record ValueCount(string Value, long Count);

/// <param name="Refused">Transactions the scoring contract refused in the window.</param>
/// <param name="RefusedFields">The fields named by refusals, with counts.</param>
public sealed record QualityWindow(DateTime Start, DateTime End, long Predictions, long Refused, IReadOnlyList<ValueCount> RefusedFields, IReadOnlyList<ColumnQuality> Columns)
{
    public int Problems => Columns.Count(c => c.HasProblem) + (Refused > 0 ? 1 : 0);
}

public sealed record QualityReport(string Model, MonitoringRange Range, IReadOnlyList<QualityWindow> Windows);

/// <summary>A production model at a glance, for the dashboard.</summary>
/// <param name="Predictions24h">Predictions over the last 24 hours.</param>
/// <param name="DriftedInputs">Drifted inputs in the last closed day (or the day so far when none closed yet).</param>
/// <param name="QualityProblems">Data-quality problems over the last 24 hours.</param>
public sealed record ModelHealth(
    string Model, int? ProductionVersion, long Predictions24h, int DriftedInputs, int TestedInputs, bool DatasetDrift, bool? ScoreDrift, int QualityProblems, DateTime? LastComputed);

/// <summary>Published when the recurring job stored new drift windows for a model: open monitoring pages reload.</summary>
[Events.EventName("monitoring.computed")]
public sealed record MonitoringComputed(string Model, string Window, DateTime WindowStart);

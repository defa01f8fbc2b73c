using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <summary>The transforms and fraud recipes a feature can use.</summary>
public static class FeatureKind
{
    /// <summary>A numeric column: imputation (with an optional missing indicator), clipping at quantiles, log1p, standardisation.</summary>
    public const string Numeric = "numeric";
    /// <summary>The top K categories plus "other", one slot each.</summary>
    public const string OneHot = "one_hot";
    /// <summary>The category's share of the fitting rows; unseen categories get 0.</summary>
    public const string Frequency = "frequency";
    /// <summary>Weight of evidence of the category, fitted on labelled fitting rows only.</summary>
    public const string TargetEncoding = "target_encoding";
    /// <summary>Hour, day of week, weekend and night (00–05) of a datetime column.</summary>
    public const string DateParts = "date_parts";
    /// <summary>1 when two columns differ (ip country vs home country), else 0.</summary>
    public const string Mismatch = "mismatch";
    /// <summary>A value divided by the mean of the same entity's strictly earlier values.</summary>
    public const string EntityRatio = "entity_ratio";
    /// <summary>Count and sum of the entity's strictly earlier events per window, and seconds since its previous event.</summary>
    public const string Velocity = "velocity";

    public static readonly IReadOnlyList<string> All = [Numeric, OneHot, Frequency, TargetEncoding, DateParts, Mismatch, EntityRatio, Velocity];
}

/// <summary>One feature of a feature set. Which fields apply depends on <see cref="Kind"/>.</summary>
/// <param name="Column">The input column (for velocity: the value summed, optional).</param>
/// <param name="Other">The second column of a mismatch.</param>
/// <param name="Entity">The entity key column of entity_ratio and velocity.</param>
/// <param name="Impute">numeric: median (default), mean or constant.</param>
/// <param name="Clip">numeric: lower and upper quantile levels to clip at, e.g. [0.01, 0.99].</param>
/// <param name="Windows">velocity: e.g. ["1h", "24h", "7d"].</param>
public sealed record FeatureSpec(
    string Kind,
    string? Column = null,
    string? Other = null,
    string? Entity = null,
    string? Impute = null,
    double? ImputeValue = null,
    bool MissingIndicator = false,
    bool Log1p = false,
    IReadOnlyList<double>? Clip = null,
    bool Standardize = false,
    int? TopK = null,
    IReadOnlyList<string>? Parts = null,
    IReadOnlyList<string>? Windows = null);

public sealed record FeatureSetDefinition(IReadOnlyList<FeatureSpec> Features)
{
    public static readonly IReadOnlyList<string> DateParts = ["hour", "day_of_week", "weekend", "night"];

    /// <summary>
    /// The definition with every default written out, so that two ways of saying the same thing hash alike.
    /// </summary>
    public FeatureSetDefinition Normalise() => new([.. Features.Select(f => f.Kind switch
    {
        // Fields that do not apply to a kind are cleared, so they cannot change the hash.
        FeatureKind.Numeric => new FeatureSpec(f.Kind, f.Column, Impute: f.Impute ?? "median", ImputeValue: f.Impute == "constant" ? f.ImputeValue ?? 0 : null,
            MissingIndicator: f.MissingIndicator, Log1p: f.Log1p, Clip: f.Clip, Standardize: f.Standardize),
        FeatureKind.OneHot => new FeatureSpec(f.Kind, f.Column, TopK: f.TopK ?? 10),
        FeatureKind.Frequency or FeatureKind.TargetEncoding => new FeatureSpec(f.Kind, f.Column),
        FeatureKind.DateParts => new FeatureSpec(f.Kind, f.Column, Parts: f.Parts is { Count: > 0 } p ? [.. DateParts.Where(p.Contains)] : DateParts),
        FeatureKind.Mismatch => new FeatureSpec(f.Kind, f.Column, f.Other),
        FeatureKind.EntityRatio => new FeatureSpec(f.Kind, f.Column, Entity: f.Entity),
        FeatureKind.Velocity => new FeatureSpec(f.Kind, f.Column, Entity: f.Entity,
            Windows: [.. (f.Windows is { Count: > 0 } w ? w : ["1h", "24h", "7d"]).Select(ParseWindow).Distinct().Order().Select(Canonical)]),
        _ => f,
    })]);

    /// <summary>One spelling per span: 24h and 1d are both "24h"; whole days from two on are days ("7d").</summary>
    public static string Canonical(TimeSpan window)
    {
        var seconds = (long)window.TotalSeconds;
        return seconds % 86_400 == 0 && seconds >= 2 * 86_400 ? $"{seconds / 86_400}d"
            : seconds % 3_600 == 0 ? $"{seconds / 3_600}h"
            : seconds % 60 == 0 ? $"{seconds / 60}m"
            : $"{seconds}s";
    }

    /// <summary>SHA-256 of the normalised definition together with the types and roles of the columns it reads.</summary>
    public string Hash(DatasetSchema schema)
    {
        var normalised = Normalise();
        var used = normalised.Features.SelectMany(f => new[] { f.Column, f.Other, f.Entity }).Where(c => c is not null).Distinct().Order(StringComparer.Ordinal)
            .Select(c => schema.Columns.FirstOrDefault(x => x.Name == c) is { } col ? new { col.Name, col.Type, col.DateFormat } : new { Name = c!, Type = "?", DateFormat = (string?)null });
        var label = schema.Label is { } l ? new { l.Name, schema.PositiveLabel } : null;
        // The event time decides every point-in-time feature, so its type and format count too.
        var eventTime = schema.EventTime is { } t ? new { t.Name, t.Type, t.DateFormat } : null;
        var canonical = JsonSerializer.Serialize(new { definition = normalised, inputs = used, label, eventTime }, DatasetSchema.Json);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))).ToLowerInvariant();
    }

    public static readonly TimeSpan LongestWindow = TimeSpan.FromDays(366);

    /// <summary>Parses "90s", "30m", "1h", "7d" (up to a year) into a span.</summary>
    public static TimeSpan ParseWindow(string text)
    {
        text = text.Trim().ToLowerInvariant();
        if (text.Length >= 2 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            long? unit = text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3_600, 'd' => 86_400, _ => null };
            if (unit is long u && n <= (long)LongestWindow.TotalSeconds / u) return TimeSpan.FromSeconds(n * u);
            if (unit is not null) throw new FormatException($"'{text}' is longer than the longest window, {LongestWindow.TotalDays:0} days.");
        }

        throw new FormatException($"'{text}' is not a window such as 30m, 1h, 24h or 7d.");
    }
}

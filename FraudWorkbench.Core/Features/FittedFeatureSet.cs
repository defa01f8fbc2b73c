using System.Text.Json.Serialization;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// A feature with the state fitted on the training rows: imputation value, clip edges, scaling,
/// vocabulary or encoding. Stored with the feature set version it was fitted for.
/// </summary>
public sealed record FittedFeature(
    FeatureSpec Spec,
    IReadOnlyList<string> Slots,
    double? Fill = null,
    double? ClipLow = null,
    double? ClipHigh = null,
    double? Mean = null,
    double? Std = null,
    IReadOnlyList<string>? Categories = null,
    IReadOnlyDictionary<string, double>? Encoding = null,
    IReadOnlyList<long>? WindowTicks = null)
{
    /// <summary>The longest velocity window: how much history an entity keeps.</summary>
    [JsonIgnore]
    public long KeepTicks => WindowTicks is { Count: > 0 } w ? w[^1] : 0;
}

/// <summary>The rows a fit read when the whole version did not fit its memory budget.</summary>
/// <param name="ByEntity">Set when whole entities were kept (every row of a kept customer), so their histories are exact.</param>
public sealed record FitSample(int Rows, long OfRows, string? ByEntity);

/// <param name="Sample">Null when the fit read every row of the version.</param>
public sealed record FittedFeatureSet(FeatureSetDefinition Definition, DatasetSchema Schema, IReadOnlyList<FittedFeature> Features, FitSample? Sample = null)
{
    [JsonIgnore]
    public IReadOnlyList<string> SlotNames => field ??= [.. Features.SelectMany(f => f.Slots)];

    [JsonIgnore]
    public int SlotCount => SlotNames.Count;

    /// <summary>Events scored up to this long after later ones still see their full windows.</summary>
    public static readonly long AllowedLateness = TimeSpan.TicksPerDay;

    /// <summary>How long an entity's events are remembered: the longest window of any entity feature plus the allowed lateness.</summary>
    [JsonIgnore]
    public long KeepTicks => Features.Select(f => f.KeepTicks).DefaultIfEmpty(0).Max() + AllowedLateness;
}

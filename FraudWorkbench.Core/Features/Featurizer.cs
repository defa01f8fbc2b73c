using System.Security.Cryptography;
using System.Text;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// The one code path from a raw row to model inputs, used by batch featurization over a dataset and
/// by scoring of a single transaction. Entity features read an <see cref="EntityHistory"/> supplied by
/// the caller (in memory for a batch, loaded from PostgreSQL when scoring) and see only events strictly
/// earlier than the row's event time.
/// </summary>
public sealed class Featurizer
{
    private readonly FittedFeatureSet set;
    private readonly int[] column;
    private readonly int[] other;
    private readonly int[] entity;
    private readonly int eventTime;
    private readonly string eventFormat;
    private readonly int[] offset;
    private readonly bool[] booleanCategory;
    private readonly IReadOnlyList<string>?[] categories;
    private readonly IReadOnlyDictionary<string, double>?[] encodings;

    public Featurizer(FittedFeatureSet set)
    {
        this.set = set;
        var schema = set.Schema;
        column = [.. set.Features.Select(f => f.Spec.Column is { } c ? schema.IndexOf(c) : -1)];
        other = [.. set.Features.Select(f => f.Spec.Other is { } c ? schema.IndexOf(c) : -1)];
        entity = [.. set.Features.Select(f => f.Spec.Entity is { } c ? schema.IndexOf(c) : -1)];
        eventTime = schema.EventTime is { } t ? schema.IndexOf(t.Name) : -1;
        eventFormat = schema.EventTime?.DateFormat ?? ValueParsing.Iso;
        offset = new int[set.Features.Count];
        for (int i = 0, slot = 0; i < set.Features.Count; slot += set.Features[i].Slots.Count, i++) offset[i] = slot;

        // A boolean column's categories are compared as true/false, whichever spelling the dataset used (yes/no, Y/N, 1/0):
        // a transaction may send any of them, and a fit stored with the file's own spelling keeps working.
        booleanCategory = [.. set.Features.Select((f, i) => column[i] >= 0 && schema.Columns[column[i]].Type == ColumnType.Boolean
            && f.Spec.Kind is FeatureKind.OneHot or FeatureKind.Frequency or FeatureKind.TargetEncoding)];
        categories = [.. set.Features.Select((f, i) => f.Categories is { } c && booleanCategory[i] ? [.. c.Select(BooleanCategory)] : f.Categories)];
        encodings = [.. set.Features.Select((f, i) => f.Encoding is { } e && booleanCategory[i] ? Canonical(e) : f.Encoding)];
    }

    /// <summary>The encoding keyed by true/false; of spellings the fit kept apart (Yes and yes), the first in ordinal order stands.</summary>
    private static Dictionary<string, double> Canonical(IReadOnlyDictionary<string, double> encoding)
    {
        var canonical = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in encoding.OrderBy(kv => kv.Key, StringComparer.Ordinal)) canonical.TryAdd(BooleanCategory(key), value);
        return canonical;
    }

    private static string BooleanCategory(string category) => ValueParsing.TryBoolean(category, out var flag) ? flag ? "true" : "false" : category;

    public FittedFeatureSet Set => set;

    /// <summary>The row's event time in ticks, or null when the dataset has none or the cell is missing.</summary>
    public long? EventTicks(string?[] row) =>
        eventTime >= 0 && row[eventTime] is { } text && !CsvFile.IsMissing(text) && ValueParsing.TryDateTime(text, eventFormat, out var t) ? t.Ticks : null;

    /// <summary>Entity keys longer than this are known by their SHA-256 instead (see <see cref="EntityOf"/>).</summary>
    public const int MaxKeyLength = 256;

    /// <summary>
    /// The entity each entity feature of the row belongs to (null for other features or a missing key). A key longer
    /// than <see cref="MaxKeyLength"/> characters becomes "sha256:" and its hash: the online state's primary key holds
    /// it, and PostgreSQL cannot index a text of a few kilobytes. Every path (batch, backfill, scoring) keys by this.
    /// </summary>
    public string? EntityOf(int feature, string?[] row)
    {
        if (entity[feature] < 0 || row[entity[feature]] is not { } text || CsvFile.IsMissing(text)) return null;
        var key = text.Trim();
        return key.Length <= MaxKeyLength ? key : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    public bool IsEntityFeature(int feature) => entity[feature] >= 0;

    /// <summary>Writes the row's features into <paramref name="output"/> (length <see cref="FittedFeatureSet.SlotCount"/>).</summary>
    /// <param name="history">The history of (feature, entity); null when the entity has none yet.</param>
    public void Compute(string?[] row, long? ticks, Func<int, string, EntityHistory?> history, Span<float> output)
    {
        ComputeRowFeatures(row, output);
        ComputeEntityFeatures(row, ticks, history, output);
    }

    /// <summary>The features that depend on the row alone; a batch computes these for many rows at once.</summary>
    public void ComputeRowFeatures(string?[] row, Span<float> output)
    {
        for (var i = 0; i < set.Features.Count; i++)
        {
            if (!IsEntityFeature(i)) Feature(i, row, null, null, output);
        }
    }

    /// <summary>The point-in-time features of the row's entities.</summary>
    public void ComputeEntityFeatures(string?[] row, long? ticks, Func<int, string, EntityHistory?>? history, Span<float> output)
    {
        for (var i = 0; i < set.Features.Count; i++)
        {
            if (IsEntityFeature(i)) Feature(i, row, ticks, history, output);
        }
    }

    private void Feature(int i, string?[] row, long? ticks, Func<int, string, EntityHistory?>? history, Span<float> output)
    {
        var slot = offset[i];
        var f = set.Features[i];
        {
            switch (f.Spec.Kind)
            {
                case FeatureKind.Numeric:
                    output[slot++] = (float)NumericValue(f, row[column[i]], out var missing);
                    if (f.Spec.MissingIndicator) output[slot++] = missing ? 1 : 0;
                    break;
                case FeatureKind.OneHot:
                    var known = categories[i]!;
                    var hit = OneHotIndex(i, row);
                    for (var c = 0; c <= known.Count; c++) output[slot + c] = 0;
                    output[slot + (hit < 0 ? known.Count : hit)] = 1;
                    slot += known.Count + 1;
                    break;
                case FeatureKind.Frequency:
                case FeatureKind.TargetEncoding:
                    // Unseen: frequency 0, and weight of evidence 0, the population's own odds (also what out-of-fold training
                    // gave a category its other folds never saw).
                    output[slot++] = (float)encodings[i]!.GetValueOrDefault(CategoryValue(i, row));
                    break;
                case FeatureKind.DateParts:
                    var instant = default(DateTime);
                    var parsed = row[column[i]] is { } text && !CsvFile.IsMissing(text)
                        && ValueParsing.TryDateTime(text, set.Schema.Columns[column[i]].DateFormat ?? ValueParsing.Iso, out instant);
                    foreach (var part in f.Spec.Parts!)
                    {
                        output[slot++] = !parsed ? -1 : part switch
                        {
                            "hour" => instant.Hour,
                            "day_of_week" => (int)instant.DayOfWeek,
                            "weekend" => instant.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1 : 0,
                            _ => instant.Hour < 6 ? 1 : 0,
                        };
                    }

                    break;
                case FeatureKind.Mismatch:
                    var a = row[column[i]];
                    var b = row[other[i]];
                    output[slot++] = a is not null && b is not null && !CsvFile.IsMissing(a) && !CsvFile.IsMissing(b)
                        && !a.AsSpan().Trim().SequenceEqual(b.AsSpan().Trim()) ? 1 : 0;
                    break;
                case FeatureKind.EntityRatio:
                {
                    var h = ticks is long t && history is not null && EntityOf(i, row) is { } key ? history(i, key) : null;
                    var mean = h is not null ? h.MeanBefore(ticks!.Value) : null;
                    output[slot++] = TryNumber(row[column[i]], out var value) && mean is double m && m != 0 ? (float)(value / m) : 1;
                    break;
                }

                case FeatureKind.Velocity:
                {
                    var h = ticks is long t && history is not null && EntityOf(i, row) is { } key ? history(i, key) : null;
                    foreach (var window in f.WindowTicks!)
                    {
                        var (count, sum) = h?.Window(ticks!.Value, window) ?? (0, 0);
                        output[slot++] = count;
                        if (f.Spec.Column is not null) output[slot++] = (float)sum;
                    }

                    // Capped at the longest window, which is also the value when there is no earlier event:
                    // "never seen" must not look more recent than "seen long ago".
                    var cap = f.KeepTicks / (double)TimeSpan.TicksPerSecond;
                    output[slot++] = (float)Math.Min(h?.SecondsSincePrevious(ticks!.Value) ?? cap, cap);
                    break;
                }
            }
        }
    }

    /// <summary>
    /// The row's value as category feature <paramref name="feature"/> compares it with its fitted state: trimmed, and
    /// true/false for any spelling of a boolean column.
    /// </summary>
    public string CategoryValue(int feature, string?[] row)
    {
        var category = CategoryOf(row[column[feature]]);
        return booleanCategory[feature] ? BooleanCategory(category) : category;
    }

    private int OneHotIndex(int feature, string?[] row)
    {
        var category = CategoryValue(feature, row);
        var known = categories[feature]!;
        for (var c = 0; c < known.Count; c++) if (known[c] == category) return c;
        return -1;
    }

    /// <summary>
    /// Whether category feature <paramref name="feature"/> has fitted state for the row's value: for one-hot, whether
    /// it is one of the top K (else it goes to 'other', as rare values did in training); for frequency and target
    /// encodings, whether the fitting rows held it (else 0). Null for other kinds and for a missing value.
    /// </summary>
    public bool? Knows(int feature, string?[] row)
    {
        if (column[feature] < 0 || row[column[feature]] is not { } text || CsvFile.IsMissing(text)) return null;
        return set.Features[feature].Spec.Kind switch
        {
            FeatureKind.OneHot => OneHotIndex(feature, row) >= 0,
            FeatureKind.Frequency or FeatureKind.TargetEncoding => encodings[feature]!.ContainsKey(CategoryValue(feature, row)),
            _ => null,
        };
    }

    /// <summary>Records the row in its entities' histories, after its features were computed.</summary>
    public void Observe(string?[] row, long ticks, Func<int, string, EntityHistory> history)
    {
        for (var i = 0; i < set.Features.Count; i++)
        {
            if (!IsEntityFeature(i) || EntityOf(i, row) is not { } key) continue;
            var f = set.Features[i];
            var hasValue = TryNumber(column[i] >= 0 ? row[column[i]] : null, out var value);
            if (f.Spec.Kind == FeatureKind.EntityRatio && !hasValue) continue; // a missing amount says nothing about the mean
            history(i, key).Observe(ticks, hasValue ? value : 0, set.KeepTicks);
        }
    }

    public static bool TryNumber(string? text, out double value)
    {
        value = 0;
        if (text is null || CsvFile.IsMissing(text)) return false;
        if (ValueParsing.TryDecimal(text, out value)) return true;
        if (ValueParsing.TryBoolean(text, out var flag)) { value = flag ? 1 : 0; return true; }
        return false;
    }

    public static string CategoryOf(string? text) => text is null || CsvFile.IsMissing(text) ? FeatureSetFitter.Other : text.Trim();

    /// <summary>Imputation, clipping, signed log1p and standardisation, in that order.</summary>
    public static double NumericValue(FittedFeature f, string? text, out bool missing)
    {
        missing = !TryNumber(text, out var x);
        if (missing) x = f.Fill ?? 0;
        if (f.ClipLow is double lo && x < lo) x = lo;
        if (f.ClipHigh is double hi && x > hi) x = hi;
        if (f.Spec.Log1p) x = Math.Sign(x) * Math.Log(1 + Math.Abs(x));
        if (f.Mean is double mean && f.Std is double std) x = (x - mean) / std;
        return x;
    }
}

/// <summary>Featurizes a whole dataset version point-in-time: rows are walked in event-time order, and rows sharing an instant never see each other.</summary>
public static class BatchFeaturizer
{
    /// <returns>Row-major features in the rows' original order.</returns>
    public static float[] Run(FittedFeatureSet set, IReadOnlyList<string?[]> rows, CancellationToken cancellationToken = default)
    {
        var featurizer = new Featurizer(set);
        var width = set.SlotCount;
        var output = new float[rows.Count * width];
        var ticks = new long?[rows.Count];
        for (var r = 0; r < rows.Count; r++) ticks[r] = featurizer.EventTicks(rows[r]);
        var order = TimeOrder(ticks);

        // One dictionary per entity feature, and each row's histories looked up once for both computing and recording.
        var features = set.Features.Count;
        var histories = Enumerable.Range(0, features).Select(_ => new Dictionary<string, EntityHistory>(StringComparer.Ordinal)).ToArray();
        var entityFeatures = Enumerable.Range(0, features).Where(featurizer.IsEntityFeature).ToArray();
        var resolved = new List<EntityHistory?[]>(); // reused: one array per row of the current instant
        EntityHistory?[] current = [];
        Func<int, string, EntityHistory?> find = (f, _) => current[f];
        Func<int, string, EntityHistory> record = (f, _) => current[f]!;

        // Row features need no history: both cores share them. Entity features walk time order.
        Parallel.For(0, rows.Count, new ParallelOptions { CancellationToken = cancellationToken }, r => featurizer.ComputeRowFeatures(rows[r], output.AsSpan(r * width, width)));
        if (entityFeatures.Length == 0) return output;

        var start = 0;
        while (start < order.Length)
        {
            if ((start & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var end = start;
            while (end < order.Length && ticks[order[end]] == ticks[order[start]]) end++;
            for (var k = start; k < end; k++)
            {
                var r = order[k];
                if (resolved.Count <= k - start) resolved.Add(new EntityHistory?[features]);
                var mine = resolved[k - start];
                Array.Clear(mine);
                if (ticks[r] is not null)
                {
                    foreach (var f in entityFeatures)
                    {
                        if (featurizer.EntityOf(f, rows[r]) is not { } key) continue;
                        // An empty history answers exactly as no history does, so it can be created before computing.
                        if (!histories[f].TryGetValue(key, out var h)) histories[f][key] = h = new EntityHistory();
                        mine[f] = h;
                    }
                }

                current = mine;
                featurizer.ComputeEntityFeatures(rows[r], ticks[r], find, output.AsSpan(r * width, width));
            }

            for (var k = start; k < end; k++)
            {
                var r = order[k];
                current = resolved[k - start];
                if (ticks[r] is long t) featurizer.Observe(rows[r], t, record);
            }

            start = end;
        }

        return output;
    }

    /// <summary>Row indices by event time, rows without one first, ties in file order.</summary>
    public static int[] TimeOrder(long?[] ticks)
    {
        var keys = new long[ticks.Length];
        var order = new int[ticks.Length];
        for (var i = 0; i < ticks.Length; i++)
        {
            keys[i] = ticks[i] ?? long.MinValue;
            order[i] = i;
        }

        Array.Sort(keys, order);
        // Array.Sort is not stable: put each run of equal instants back in file order.
        var start = 0;
        while (start < keys.Length)
        {
            var end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            if (end - start > 1) Array.Sort(order, start, end - start);
            start = end;
        }

        return order;
    }
}

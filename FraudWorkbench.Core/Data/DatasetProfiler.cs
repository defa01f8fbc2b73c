using System.Text;

namespace FraudWorkbench.Core.Data;

/// <summary>
/// One streaming pass over a file with a settled schema: every value is checked against its column's
/// type (bad values are reported by row and column, up to ten examples) and the profile is accumulated.
/// Memory stays bounded: quantiles and histograms come from a uniform reservoir of at most
/// <see cref="SampleCapacity"/> values per column (exact below that), distinct counts stop at
/// <see cref="DistinctCapacity"/>.
/// </summary>
public static class DatasetProfiler
{
    public const int SampleCapacity = 500_000;
    public const int DistinctCapacity = 100_000;
    public const int MaxExamples = 10;
    private const int HistogramBins = 20;
    private const int TopCategories = 20;

    public static DatasetProfile Run(string path, DatasetSchema schema, Action<double>? progress = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return RunCore(path, schema, progress, cancellationToken);
        }
        catch (DecoderFallbackException)
        {
            // The parser reads ahead, so where it noticed says little: scan for the exact line.
            throw CsvFile.NotUtf8(path);
        }
    }

    private static DatasetProfile RunCore(string path, DatasetSchema schema, Action<double>? progress, CancellationToken cancellationToken)
    {
        using var reader = CsvFile.OpenReader(path, schema.Delimiter, out var file);
        if (!reader.MoveNext()) throw new DatasetValidationException("The file is empty.");
        var names = CsvFile.HeaderNames(reader.Current);
        if (!names.SequenceEqual(schema.Columns.Select(c => c.Name)))
        {
            throw new DatasetValidationException("The file's header does not match the schema's columns.", field: "schema");
        }

        var columns = schema.Columns;
        var width = columns.Count;
        var labelIndex = schema.Label is { } labelColumn ? schema.IndexOf(labelColumn.Name) : -1;
        var accumulators = columns.Select((c, i) => new Accumulator(c, i == labelIndex, seed: i)).ToArray();
        var issues = new List<DataIssue>();
        long issueCount = 0;
        var labelValues = new Dictionary<string, long>();
        long labelMissing = 0;
        long rows = 0;
        long lastLine = 1;
        var length = Math.Max(1, file.Length);
        var scratch = new char[256];

        void Report(DataIssue issue)
        {
            issueCount++;
            if (issues.Count < MaxExamples) issues.Add(issue);
        }

        try
        {
            while (reader.MoveNext())
            {
                var row = reader.Current;
                lastLine = row.LineNumberFrom;
                if (CsvFile.IsBlank(row)) continue;
                rows++;
                if ((rows & 0x3FFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Invoke((double)file.Position / length);
                }

                if (row.ColCount != width)
                {
                    Report(new DataIssue(rows, row.LineNumberFrom, null, null, $"has {row.ColCount} fields but the header has {width}"));
                    continue;
                }

                sbyte label = -1;
                if (labelIndex >= 0)
                {
                    var value = CsvFile.Cell(row[labelIndex].Span, ref scratch, out _);
                    if (CsvFile.IsMissing(value)) labelMissing++;
                    else
                    {
                        var text = value.Trim();
                        label = schema.PositiveLabel is not null && text.SequenceEqual(schema.PositiveLabel) ? (sbyte)1 : (sbyte)0;
                        // Counting stops at four classes: more than two is an error whatever the rest holds.
                        var lookup = labelValues.GetAlternateLookup<ReadOnlySpan<char>>();
                        if (lookup.TryGetValue(text, out var seen)) lookup[text] = seen + 1;
                        else if (labelValues.Count <= 3) lookup[text] = 1;
                    }
                }

                for (var i = 0; i < width; i++)
                {
                    var value = CsvFile.Cell(row[i].Span, ref scratch, out var malformed);
                    var error = malformed ? CsvFile.MalformedQuoteMessage : accumulators[i].Add(value, label);
                    if (error is not null) Report(new DataIssue(rows, row.LineNumberFrom, columns[i].Name, row[i].ToString(), error));
                }
            }
        }
        catch (NotSupportedException)
        {
            throw CsvFile.RowTooLong(lastLine);
        }

        if (issueCount > 0)
        {
            throw new DatasetValidationException(
                $"{issueCount} {(issueCount == 1 ? "problem" : "problems")} in the file (rows with the wrong number of fields, values that do not fit their column's type, or stray quotes). " +
                "Fix the file, or change the column's type. Nothing was stored.",
                issues);
        }

        if (rows == 0) throw new DatasetValidationException("The file has a header but no data rows.");

        LabelBalance? balance = null;
        if (labelIndex >= 0)
        {
            var name = columns[labelIndex].Name;
            if (labelValues.Count > 2)
                throw new DatasetValidationException($"The label column '{name}' has more than two classes ({string.Join(", ", labelValues.Keys.Take(5).Select(v => $"'{v}'"))}…); a label must be binary.", field: "schema");
            if (labelValues.Count < 2)
                throw new DatasetValidationException($"The label column '{name}' has only one class ({string.Join(", ", labelValues.Keys.Select(v => $"'{v}'"))}); a label needs both fraud and legitimate rows.", field: "schema");
            if (schema.PositiveLabel is null || !labelValues.ContainsKey(schema.PositiveLabel))
                throw new DatasetValidationException($"The positive (fraud) value of the label column '{name}' must be one of {string.Join(", ", labelValues.Keys.Select(v => $"'{v}'"))}.", field: "schema");
            var negative = labelValues.Keys.First(k => k != schema.PositiveLabel);
            balance = new LabelBalance(name, schema.PositiveLabel, negative, labelValues[schema.PositiveLabel], labelValues[negative], labelMissing);
        }

        progress?.Invoke(1);
        var hasLabel = labelIndex >= 0;
        var profiles = accumulators.Select(a => a.ToProfile(rows, hasLabel)).ToList();
        var eventTime = schema.EventTime is { } t ? profiles[schema.IndexOf(t.Name)].Range : null;
        return new DatasetProfile(rows, profiles, balance, eventTime, Math.Min(rows, SampleCapacity));
    }

    private sealed class Accumulator(DatasetColumn column, bool isLabel, int seed)
    {
        private const string OtherCategory = "(other values)";
        private readonly string type = column.Type;
        private readonly Random random = new(12345 + seed); // the same file always gives the same profile
        private long missing;
        private long count;
        private double mean;
        private double m2;
        private double min = double.PositiveInfinity;
        private double max = double.NegativeInfinity;
        private double[] sample = [];
        private sbyte[] sampleLabels = [];
        private int sampleSize;
        private HashSet<double>? distinctNumbers;
        private Dictionary<string, long[]>? categories; // value -> [count, positives, labelled]
        private bool distinctOverflow;

        /// <summary>Adds one cell; returns an error message when the value does not fit the column's type.</summary>
        public string? Add(ReadOnlySpan<char> value, sbyte label)
        {
            if (CsvFile.IsMissing(value))
            {
                missing++;
                return null;
            }

            double number;
            switch (type)
            {
                case ColumnType.Integer:
                    if (!ValueParsing.TryInteger(value, out var integer)) return "is not an integer";
                    number = integer;
                    break;
                case ColumnType.Decimal:
                    if (!ValueParsing.TryDecimal(value, out number)) return "is not a number";
                    break;
                case ColumnType.DateTime:
                    if (!ValueParsing.TryDateTime(value, column.DateFormat ?? ValueParsing.Iso, out var instant))
                        return $"is not a date/time in the format '{column.DateFormat ?? ValueParsing.Iso}'";
                    number = (instant - DateTime.UnixEpoch).TotalSeconds;
                    break;
                case ColumnType.Boolean:
                    if (!ValueParsing.TryBoolean(value, out var flag)) return "is not a boolean (true/false, yes/no, y/n, 1/0)";
                    Count(flag ? "true" : "false", label);
                    count++;
                    return null;
                default:
                    Count(value.Trim(), label);
                    count++;
                    return null;
            }

            count++;
            var delta = number - mean;
            mean += delta / count;
            m2 += delta * (number - mean);
            if (number < min) min = number;
            if (number > max) max = number;
            if (!distinctOverflow)
            {
                distinctNumbers ??= [];
                distinctNumbers.Add(number);
                if (distinctNumbers.Count >= DistinctCapacity) distinctOverflow = true;
            }

            // Reservoir sampling over this column's own values (algorithm R), so a sparse column still has its values.
            var slot = count <= SampleCapacity ? (int)(count - 1) : random.NextInt64(count) is var r && r < SampleCapacity ? (int)r : -1;
            if (slot >= 0)
            {
                if (slot >= sample.Length)
                {
                    var size = Math.Min(SampleCapacity, Math.Max(1024, sample.Length * 2));
                    Array.Resize(ref sample, size);
                    Array.Resize(ref sampleLabels, size);
                }

                sample[slot] = number;
                sampleLabels[slot] = label;
                sampleSize = Math.Max(sampleSize, slot + 1);
            }

            return null;
        }

        private void Count(ReadOnlySpan<char> value, sbyte label)
        {
            categories ??= new Dictionary<string, long[]>();
            var lookup = categories.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(value, out var counts))
            {
                if (categories.Count >= DistinctCapacity)
                {
                    distinctOverflow = true;
                    if (!categories.TryGetValue(OtherCategory, out counts)) categories[OtherCategory] = counts = new long[3];
                }
                else
                {
                    counts = new long[3];
                    lookup[value] = counts;
                }
            }

            counts[0]++;
            if (label == 1) counts[1]++;
            if (label >= 0) counts[2]++;
        }

        public ColumnProfile ToProfile(long rows, bool hasLabel)
        {
            var missingPercent = rows == 0 ? 0 : 100.0 * missing / rows;
            var withRates = hasLabel && !isLabel;
            if (categories is not null)
            {
                var top = categories.OrderByDescending(kv => kv.Value[0]).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(TopCategories)
                    .Select(kv => new CategoryCount(kv.Key, kv.Value[0], withRates ? kv.Value[1] : null, withRates ? kv.Value[2] : null)).ToList();
                return new ColumnProfile(column.Name, type, column.Role, missing, missingPercent, categories.Count, distinctOverflow, null, null, top, null);
            }

            NumericSummary? summary = null;
            List<HistogramBin>? histogram = null;
            string? bins = null;
            if (count > 0)
            {
                var values = sample.AsSpan(0, sampleSize);
                var sorted = values.ToArray();
                Array.Sort(sorted);
                summary = new NumericSummary(min, max, mean, count > 1 ? Math.Sqrt(m2 / (count - 1)) : 0,
                    Quantile(sorted, 0.01), Quantile(sorted, 0.05), Quantile(sorted, 0.25), Quantile(sorted, 0.50),
                    Quantile(sorted, 0.75), Quantile(sorted, 0.95), Quantile(sorted, 0.99));
                (histogram, bins) = Histogram(sorted, values, sampleLabels.AsSpan(0, sampleSize), withRates);
            }

            var range = type == ColumnType.DateTime && count > 0
                ? new TimeRange(DateTime.UnixEpoch.AddSeconds(min), DateTime.UnixEpoch.AddSeconds(max))
                : null;
            return new ColumnProfile(column.Name, type, column.Role, missing, missingPercent, distinctNumbers?.Count ?? 0, distinctOverflow, summary, histogram, null, range, bins);
        }

        private (List<HistogramBin> Bins, string Kind) Histogram(double[] sorted, ReadOnlySpan<double> values, ReadOnlySpan<sbyte> labels, bool withRates)
        {
            // Time columns keep equal widths (a calendar axis); numbers pick theirs from the shape of the sample.
            var kind = type == ColumnType.DateTime ? HistogramBinning.Linear : HistogramBinning.ChooseKind(sorted);
            double[] edges = min == max ? [min, max] : HistogramBinning.Edges(kind, sorted, HistogramBins);
            var bins = edges.Length - 1;
            var width = (max - min) / bins;
            var counts = new long[bins];
            var positives = new long[bins];
            var labelled = new long[bins];
            for (var i = 0; i < values.Length; i++)
            {
                var bin = kind == HistogramBinning.Linear
                    ? width == 0 ? 0 : Math.Min(bins - 1, (int)((values[i] - min) / width))
                    : HistogramBinning.BinOf(edges, values[i]);
                counts[bin]++;
                if (labels[i] == 1) positives[bin]++;
                if (labels[i] >= 0) labelled[bin]++;
            }

            // A sampled histogram is scaled to the column's full count.
            var scale = values.Length == 0 ? 1.0 : (double)count / values.Length;
            return ([.. Enumerable.Range(0, bins).Select(b => new HistogramBin(
                kind == HistogramBinning.Linear ? min + b * width : edges[b],
                b == bins - 1 ? max : kind == HistogramBinning.Linear ? min + (b + 1) * width : edges[b + 1],
                (long)Math.Round(counts[b] * scale),
                withRates ? (long)Math.Round(positives[b] * scale) : null,
                withRates ? (long)Math.Round(labelled[b] * scale) : null))], kind);
        }
    }

    /// <summary>Linear interpolation between the closest ranks: h = (n − 1)·p.</summary>
    public static double Quantile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}

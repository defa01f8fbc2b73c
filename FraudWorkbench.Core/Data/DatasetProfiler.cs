namespace FraudWorkbench.Core.Data;

/// <summary>
/// One streaming pass over a file with a settled schema: every value is checked against its column's
/// type (bad values are reported by row and column, up to ten examples) and the profile is accumulated.
/// Memory stays bounded: quantiles and histograms come from at most <see cref="SampleCapacity"/> values
/// per column (exact below that), distinct counts stop at <see cref="DistinctCapacity"/>.
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
        var accumulators = columns.Select((c, i) => new Accumulator(c, i == labelIndex)).ToArray();
        var issues = new List<DataIssue>();
        long issueCount = 0;
        var labelValues = new Dictionary<string, long>();
        long labelMissing = 0;
        var random = new Random(12345); // reservoir sampling: the same file always gives the same profile
        long rows = 0;
        var length = Math.Max(1, file.Length);

        while (reader.MoveNext())
        {
            var row = reader.Current;
            rows++;
            if ((rows & 0x3FFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Invoke((double)file.Position / length);
            }

            if (row.ColCount != width)
            {
                issueCount++;
                if (issues.Count < MaxExamples)
                    issues.Add(new DataIssue(rows, row.LineNumberFrom, null, null, $"has {row.ColCount} fields but the header has {width}"));
                continue;
            }

            sbyte label = -1;
            if (labelIndex >= 0)
            {
                var value = row[labelIndex].Span;
                if (CsvFile.IsMissing(value)) labelMissing++;
                else
                {
                    var text = value.Trim();
                    var positive = schema.PositiveLabel is not null && text.SequenceEqual(schema.PositiveLabel);
                    label = positive ? (sbyte)1 : (sbyte)0;
                    // Counting stops at four classes: more than two is an error whatever the rest holds.
                    var lookup = labelValues.GetAlternateLookup<ReadOnlySpan<char>>();
                    if (lookup.TryGetValue(text, out var seen)) lookup[text] = seen + 1;
                    else if (labelValues.Count <= 3) lookup[text] = 1;
                }
            }

            var slot = rows <= SampleCapacity ? (int)(rows - 1) : (int)random.NextInt64(rows);
            var sampled = slot < SampleCapacity;
            for (var i = 0; i < width; i++)
            {
                var error = accumulators[i].Add(row[i].Span, label, sampled ? slot : -1);
                if (error is not null)
                {
                    issueCount++;
                    if (issues.Count < MaxExamples)
                        issues.Add(new DataIssue(rows, row.LineNumberFrom, columns[i].Name, row[i].ToString(), error));
                }
            }
        }

        if (issueCount > 0)
        {
            var ragged = issues.Any(i => i.Column is null);
            throw new DatasetValidationException(
                $"{issueCount} {(issueCount == 1 ? "problem" : "problems")} in the file{(ragged ? " (rows with the wrong number of fields, or values that do not fit their column's type)" : " (values that do not fit their column's type)")}. " +
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

    private sealed class Accumulator(DatasetColumn column, bool isLabel)
    {
        private readonly string type = column.Type;
        private long missing;
        private long count;
        private double mean;
        private double m2;
        private double min = double.PositiveInfinity;
        private double max = double.NegativeInfinity;
        private double[]? sample;
        private sbyte[]? sampleLabels;
        private int sampleSize;
        private HashSet<double>? distinctNumbers;
        private Dictionary<string, long[]>? categories; // value -> [count, positives]
        private bool distinctOverflow;

        /// <summary>Adds one cell; returns an error message when the value does not fit the column's type.</summary>
        public string? Add(ReadOnlySpan<char> value, sbyte label, int slot)
        {
            if (CsvFile.IsMissing(value))
            {
                missing++;
                if (slot >= 0 && sampleLabels is not null && slot < sampleLabels.Length) sampleLabels[slot] = 0; // a replaced row leaves no value behind
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

            if (slot >= 0)
            {
                sample ??= new double[1024];
                sampleLabels ??= new sbyte[1024];
                if (slot >= sample.Length)
                {
                    var size = Math.Min(SampleCapacity, Math.Max(slot + 1, sample.Length * 2));
                    Array.Resize(ref sample, size);
                    Array.Resize(ref sampleLabels, size);
                }

                // Rows with a missing value leave gaps; the sample is compacted by position when read.
                sample[slot] = number;
                sampleLabels[slot] = (sbyte)(label + 2); // 0 marks an empty slot
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
                    if (!categories.TryGetValue(OtherCategory, out counts)) categories[OtherCategory] = counts = new long[2];
                }
                else
                {
                    counts = new long[2];
                    lookup[value] = counts;
                }
            }

            counts[0]++;
            if (label == 1) counts[1]++;
        }

        private const string OtherCategory = "(other values)";

        public ColumnProfile ToProfile(long rows, bool hasLabel)
        {
            var missingPercent = rows == 0 ? 0 : 100.0 * missing / rows;
            var labelForRates = hasLabel && !isLabel;
            if (categories is not null)
            {
                var top = categories.OrderByDescending(kv => kv.Value[0]).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(TopCategories)
                    .Select(kv => new CategoryCount(kv.Key, kv.Value[0], labelForRates ? kv.Value[1] : null)).ToList();
                return new ColumnProfile(column.Name, type, column.Role, missing, missingPercent, categories.Count, distinctOverflow, null, null, top, null);
            }

            var values = Compact(out var labels);
            NumericSummary? summary = null;
            List<HistogramBin>? histogram = null;
            if (count > 0)
            {
                var sorted = (double[])values.Clone();
                Array.Sort(sorted);
                summary = new NumericSummary(min, max, mean, count > 1 ? Math.Sqrt(m2 / (count - 1)) : 0,
                    Quantile(sorted, 0.01), Quantile(sorted, 0.05), Quantile(sorted, 0.25), Quantile(sorted, 0.50),
                    Quantile(sorted, 0.75), Quantile(sorted, 0.95), Quantile(sorted, 0.99));
                histogram = Histogram(values, labels, count, labelForRates);
            }

            var range = type == ColumnType.DateTime && count > 0
                ? new TimeRange(DateTime.UnixEpoch.AddSeconds(min), DateTime.UnixEpoch.AddSeconds(max))
                : null;
            return new ColumnProfile(column.Name, type, column.Role, missing, missingPercent, distinctNumbers?.Count ?? 0, distinctOverflow, summary, histogram, null, range);
        }

        private double[] Compact(out sbyte[] labels)
        {
            if (sample is null)
            {
                labels = [];
                return [];
            }

            var values = new List<double>(sampleSize);
            var flags = new List<sbyte>(sampleSize);
            for (var i = 0; i < sampleSize; i++)
            {
                if (sampleLabels![i] == 0) continue;
                values.Add(sample[i]);
                flags.Add((sbyte)(sampleLabels[i] - 2));
            }

            labels = [.. flags];
            return [.. values];
        }

        private List<HistogramBin> Histogram(double[] values, sbyte[] labels, long total, bool withRates)
        {
            var bins = min == max ? 1 : HistogramBins;
            var width = (max - min) / bins;
            var counts = new long[bins];
            var positives = new long[bins];
            for (var i = 0; i < values.Length; i++)
            {
                var bin = width == 0 ? 0 : Math.Min(bins - 1, (int)((values[i] - min) / width));
                counts[bin]++;
                if (labels[i] == 1) positives[bin]++;
            }

            // A sampled histogram is scaled to the column's full count.
            var scale = values.Length == 0 ? 1.0 : (double)total / values.Length;
            return [.. Enumerable.Range(0, bins).Select(b => new HistogramBin(
                min + b * width, b == bins - 1 ? max : min + (b + 1) * width,
                (long)Math.Round(counts[b] * scale), withRates ? (long)Math.Round(positives[b] * scale) : null))];
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

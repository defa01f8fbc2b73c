using System.Text;

namespace FraudWorkbench.Core.Data;

/// <summary>
/// Guesses each column's type from a sample of rows and its role from its name, the way an
/// experienced analyst would before looking closer; the user can override every guess.
/// </summary>
public static class SchemaInference
{
    public const int SampleRows = 100_000;
    private const int DistinctCap = 10_000;
    public static readonly IReadOnlyList<double> DefaultAgeBands = [18, 25, 35, 45, 55, 65];

    private static readonly HashSet<string> LabelNames = ["isfraud", "fraud", "class", "label", "target", "isfraudulent", "fraudflag", "fraudlabel", "y", "chargeback"];
    private static readonly string[] EntityWords = ["customer", "card", "account", "device", "user", "client", "merchant", "email", "cardholder"];
    private static readonly HashSet<string> ProtectedNames = ["gender", "sex", "age", "race", "ethnicity", "religion", "nationality", "maritalstatus", "disability"];

    /// <summary>Reads the header and up to <see cref="SampleRows"/> rows of the file and proposes a schema.</summary>
    public static DatasetSchema Infer(string path, char delimiter, int sampleRows = SampleRows) => Infer(path, delimiter, out _, sampleRows);

    /// <param name="examples">Per column, its most frequent values in the sample (up to ten), for the user reviewing the guesses.</param>
    /// <param name="sampleRows">Rows read; <see cref="int.MaxValue"/> reads the whole file.</param>
    public static DatasetSchema Infer(string path, char delimiter, out IReadOnlyDictionary<string, IReadOnlyList<string>> examples, int sampleRows = SampleRows)
    {
        using var reader = CsvFile.OpenReader(path, delimiter);
        if (!reader.MoveNext()) throw new DatasetValidationException("The file is empty.");
        var names = CsvFile.HeaderNames(reader.Current);
        var stats = names.Select(_ => new ColumnSample()).ToArray();
        var rows = 0;
        var scratch = new char[256];
        try
        {
            while (rows < sampleRows && reader.MoveNext())
            {
                var row = reader.Current;
                if (CsvFile.IsBlank(row)) continue;
                rows++;
                var count = Math.Min(row.ColCount, stats.Length);
                for (var i = 0; i < count; i++) stats[i].Add(CsvFile.Cell(row[i].Span, ref scratch, out _));
            }
        }
        catch (NotSupportedException)
        {
            throw CsvFile.RowTooLong(rows + 1);
        }

        var columns = new List<DatasetColumn>(names.Count);
        for (var i = 0; i < names.Count; i++) columns.Add(GuessColumn(names[i], stats[i], i));

        // One event time at most: the first datetime column named like a time, else the only datetime column.
        var times = columns.Where(c => c.Role == ColumnRole.EventTime).ToList();
        foreach (var extra in times.Skip(1)) columns[columns.IndexOf(extra)] = extra with { Role = ColumnRole.Feature };
        if (times.Count == 0 && columns.Count(c => c.Type == ColumnType.DateTime) == 1)
        {
            var only = columns.First(c => c.Type == ColumnType.DateTime);
            columns[columns.IndexOf(only)] = only with { Role = ColumnRole.EventTime };
        }

        var labels = columns.Where(c => c.Role == ColumnRole.Label).ToList();
        foreach (var extra in labels.Skip(1)) columns[columns.IndexOf(extra)] = extra with { Role = ColumnRole.Feature };
        examples = names.Select((n, i) => (n, i)).ToDictionary(x => x.n,
            x => (IReadOnlyList<string>)[.. stats[x.i].Distinct.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(10).Select(kv => kv.Key)]);
        var label = labels.FirstOrDefault();
        var positive = label is null ? null : GuessPositive(stats[names.ToList().IndexOf(label.Name)]);
        return new DatasetSchema(delimiter, columns, positive);
    }

    /// <summary>Applies the user's overrides and checks that the result is coherent; errors name the column.</summary>
    public static DatasetSchema Apply(DatasetSchema inferred, SchemaOverrides overrides)
    {
        var columns = inferred.Columns.ToList();
        foreach (var (name, change) in overrides.Columns ?? new Dictionary<string, ColumnOverride>())
        {
            if (change is null) throw new DatasetValidationException($"The schema's entry for column '{name}' is empty; give a type and/or a role.", field: "schema");
            var index = columns.FindIndex(c => c.Name == name);
            if (index < 0) throw new DatasetValidationException($"The schema names a column '{name}' that the file does not have.", field: "schema");
            if (change.Type is not null && !ColumnType.All.Contains(change.Type))
                throw new DatasetValidationException($"Column '{name}': type '{change.Type}' is not one of {string.Join(", ", ColumnType.All)}.", field: "schema");
            if (change.Role is not null && !ColumnRole.All.Contains(change.Role))
                throw new DatasetValidationException($"Column '{name}': role '{change.Role}' is not one of {string.Join(", ", ColumnRole.All)}.", field: "schema");
            if (change.DateFormat is not null && !ValueParsing.DateFormats.Contains(change.DateFormat) && change.DateFormat is not (ValueParsing.EpochSeconds or ValueParsing.EpochMilliseconds))
                throw new DatasetValidationException($"Column '{name}': date format '{change.DateFormat}' is not supported.", field: "schema");

            var column = columns[index];
            var type = change.Type ?? column.Type;
            columns[index] = column with
            {
                Type = type,
                Role = change.Role ?? column.Role,
                DateFormat = type == ColumnType.DateTime ? change.DateFormat ?? column.DateFormat ?? ValueParsing.Iso : null,
                AgeBands = change.AgeBands ?? column.AgeBands,
            };
        }

        if (columns.Count(c => c.Role == ColumnRole.Label) > 1) throw new DatasetValidationException("Only one column can be the label.", field: "schema");
        if (columns.Count(c => c.Role == ColumnRole.EventTime) > 1) throw new DatasetValidationException("Only one column can be the event time.", field: "schema");
        if (columns.FirstOrDefault(c => c.Role == ColumnRole.EventTime) is { Type: not ColumnType.DateTime } time)
            throw new DatasetValidationException($"Column '{time.Name}' is the event time, so its type must be datetime.", field: "schema");

        var hasLabel = columns.Any(c => c.Role == ColumnRole.Label);
        var positive = hasLabel ? overrides.PositiveLabel ?? inferred.PositiveLabel : null;
        return inferred with { Columns = columns, PositiveLabel = positive };
    }

    private static DatasetColumn GuessColumn(string name, ColumnSample s, int position)
    {
        var key = Normalise(name);
        var tokens = name.ToLowerInvariant().Split(['_', ' ', '-', '.'], StringSplitOptions.RemoveEmptyEntries);
        var timeLike = key.Contains("time") || key.Contains("date") || key.Contains("timestamp") || key is "ts" || name.EndsWith("_at", StringComparison.OrdinalIgnoreCase);

        string type;
        string? dateFormat = null;
        if (s.NonMissing == 0) type = ColumnType.Text;
        else if (s.BooleanMask != 0 && !(timeLike && s.AllIntegers)) type = ColumnType.Boolean; // every value is one spelling pair, in any case
        else if (s.AllIntegers && timeLike && s.EpochSecondsRange) { type = ColumnType.DateTime; dateFormat = ValueParsing.EpochSeconds; }
        else if (s.AllIntegers && timeLike && s.EpochMillisecondsRange) { type = ColumnType.DateTime; dateFormat = ValueParsing.EpochMilliseconds; }
        else if (s.AllIntegers) type = ColumnType.Integer;
        else if (s.AllDecimals) type = ColumnType.Decimal;
        else if (s.DateFormatMask != 0) { type = ColumnType.DateTime; dateFormat = ValueParsing.DateFormats[System.Numerics.BitOperations.TrailingZeroCount(s.DateFormatMask)]; }
        else if (s.Distinct.Count <= 50 || (s.Distinct.Count < DistinctCap && s.Distinct.Count <= 0.05 * s.NonMissing)) type = ColumnType.Categorical;
        else type = ColumnType.Text;

        var role = ColumnRole.Feature;
        IReadOnlyList<double>? bands = null;
        var uniqueIdentifier = !s.RepeatSeen && s.NonMissing > 50 && (type == ColumnType.Text || (type == ColumnType.Integer && key.EndsWith("id", StringComparison.Ordinal)));
        if (LabelNames.Contains(key) && s.Distinct.Count == 2) role = ColumnRole.Label;
        else if (type == ColumnType.DateTime && timeLike) role = ColumnRole.EventTime;
        else if (EntityWords.Any(w => key == w || key == w + "id" || key == w + "key" || key == w + "number")) role = ColumnRole.EntityKey;
        else if (ProtectedNames.Contains(key) || (tokens.Length > 0 && ProtectedNames.Contains(tokens[^1])))
        {
            role = ColumnRole.Protected;
            if (tokens.Length > 0 && tokens[^1] == "age" && ColumnType.IsNumeric(type)) bands = DefaultAgeBands;
        }
        else if (position == 0 && (name.StartsWith("column_", StringComparison.Ordinal) || key is "unnamed0" or "index") && s.AllIntegers) role = ColumnRole.Ignore;
        else if (type == ColumnType.Text || uniqueIdentifier) role = ColumnRole.Ignore;

        return new DatasetColumn(name, type, role, dateFormat, bands);
    }

    private static string? GuessPositive(ColumnSample s)
    {
        string[] positives = ["1", "true", "yes", "y", "t", "fraud", "fraudulent", "chargeback"];
        var values = s.Distinct.Keys.ToList();
        return values.FirstOrDefault(v => positives.Contains(v.Trim(), StringComparer.OrdinalIgnoreCase))
            ?? values.OrderBy(v => s.Distinct[v]).FirstOrDefault();
    }

    private static string Normalise(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name) if (char.IsLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
        return sb.ToString();
    }

    private sealed class ColumnSample
    {
        public int NonMissing;
        public bool AllIntegers = true;
        public bool AllDecimals = true;
        public int BooleanMask = -1;
        public int DateFormatMask = -1;
        /// <summary>Some value occurred twice: not a unique identifier (tracked past the distinct cap too, for the values kept).</summary>
        public bool RepeatSeen;
        private long min = long.MaxValue;
        private long max = long.MinValue;
        public readonly Dictionary<string, int> Distinct = new();

        public bool EpochSecondsRange => NonMissing > 0 && min >= 100_000_000 && max < 10_000_000_000;
        public bool EpochMillisecondsRange => NonMissing > 0 && min >= 100_000_000_000 && max < 10_000_000_000_000;

        public void Add(ReadOnlySpan<char> value)
        {
            if (CsvFile.IsMissing(value)) return;
            NonMissing++;
            var text = value.Trim();
            var lookup = Distinct.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(text, out var seen))
            {
                lookup[text] = seen + 1;
                RepeatSeen = true;
            }
            else if (Distinct.Count < DistinctCap) lookup[text] = 1;

            if (AllIntegers)
            {
                if (ValueParsing.TryInteger(value, out var n)) { min = Math.Min(min, n); max = Math.Max(max, n); }
                else AllIntegers = false;
            }

            if (AllDecimals && !AllIntegers)
            {
                if (!ValueParsing.TryDecimal(value, out _)) AllDecimals = false;
            }

            if (BooleanMask != 0) BooleanMask &= ValueParsing.BooleanPairsOf(value);
            if (DateFormatMask != 0)
            {
                var mask = 0;
                for (var f = 0; f < ValueParsing.DateFormats.Count; f++)
                {
                    if ((DateFormatMask & (1 << f)) != 0 && ValueParsing.TryDateTime(value, ValueParsing.DateFormats[f], out _)) mask |= 1 << f;
                }

                DateFormatMask &= mask;
            }
        }
    }
}

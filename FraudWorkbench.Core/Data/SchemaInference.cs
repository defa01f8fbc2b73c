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
    // Who a row belongs to (velocity and history are kept per entity). A merchant is a counterparty shared by
    // thousands of customers, not an entity whose own history says it is being defrauded.
    private static readonly string[] EntityWords = ["customer", "card", "cc", "account", "acct", "device", "user", "client", "cardholder", "member", "email", "phone"];
    private static readonly string[] IdSuffixes = ["id", "key", "num", "number", "no", "nr", "hash"];
    private static readonly HashSet<string> IdNames = ["id", "uuid", "guid", "transnum", "transactionnumber", "txnum"];

    private static string[] Tokens(string name) => name.ToLowerInvariant().Split(['_', ' ', '-', '.'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A name that says "identifier": id, uuid, transaction_id, txn_no, TransactionId.</summary>
    public static bool IsIdName(string name)
    {
        var key = Normalise(name);
        var tokens = Tokens(name);
        return IdNames.Contains(key) || (tokens.Length > 1 && IdSuffixes.Contains(tokens[^1])) || key.EndsWith("id", StringComparison.Ordinal) && name.EndsWith("Id", StringComparison.Ordinal);
    }
    // Personal names and postal addresses: identifying, never predictive in a way worth the risk.
    private static readonly HashSet<string> PersonalNames = ["first", "last", "firstname", "lastname", "middlename", "name", "fullname", "surname", "forename", "givenname", "street", "address", "streetaddress", "address1", "address2", "addr"];
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
            if (change is null) throw new DatasetValidationException($"The schema's entry for column '{name}' is empty; give a type and/or a role.", field: "schema", column: name);
            var index = columns.FindIndex(c => c.Name == name);
            if (index < 0) throw new DatasetValidationException($"The schema names a column '{name}' that the file does not have.", field: "schema", column: name);
            if (change.Type is not null && !ColumnType.All.Contains(change.Type))
                throw new DatasetValidationException($"Column '{name}': type '{change.Type}' is not one of {string.Join(", ", ColumnType.All)}.", field: "schema", column: name);
            if (change.Role is not null && !ColumnRole.All.Contains(change.Role))
                throw new DatasetValidationException($"Column '{name}': role '{change.Role}' is not one of {string.Join(", ", ColumnRole.All)}.", field: "schema", column: name);
            if (change.DateFormat is not null && !ValueParsing.DateFormats.Contains(change.DateFormat) && change.DateFormat is not (ValueParsing.EpochSeconds or ValueParsing.EpochMilliseconds))
                throw new DatasetValidationException($"Column '{name}': date format '{change.DateFormat}' is not supported.", field: "schema", column: name);

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

        foreach (var (single, what) in new[] { (ColumnRole.Label, "the label"), (ColumnRole.EventTime, "the event time") })
        {
            var marked = columns.Where(c => c.Role == single).Select(c => c.Name).ToList();
            if (marked.Count > 1)
                throw new DatasetValidationException($"Only one column can be {what}: {string.Join(", ", marked.Select(n => $"'{n}'"))} are all marked {what}.", field: "schema", column: marked[^1]);
        }
        if (columns.FirstOrDefault(c => c.Role == ColumnRole.EventTime) is { Type: not ColumnType.DateTime } time)
            throw new DatasetValidationException($"Column '{time.Name}' is the event time, so its type must be datetime.", field: "schema", column: time.Name);

        var hasLabel = columns.Any(c => c.Role == ColumnRole.Label);
        var positive = hasLabel ? overrides.PositiveLabel ?? inferred.PositiveLabel : null;
        return inferred with { Columns = columns, PositiveLabel = positive };
    }

    /// <summary>
    /// For a new version of an existing dataset: the roles (and the positive label) the user settled on
    /// in the previous version win over fresh guesses for columns of the same name and a compatible type,
    /// so a correction is made once, not on every upload.
    /// </summary>
    public static DatasetSchema CarryOver(DatasetSchema inferred, DatasetSchema? previous)
    {
        if (previous is null) return inferred;
        var columns = inferred.Columns.ToList();
        for (var i = 0; i < columns.Count; i++)
        {
            var index = previous.IndexOf(columns[i].Name);
            if (index < 0) continue;
            var before = previous.Columns[index];
            if (before.Role == ColumnRole.EventTime && columns[i].Type != ColumnType.DateTime) continue;
            columns[i] = columns[i] with { Role = before.Role, AgeBands = before.AgeBands ?? columns[i].AgeBands };
        }

        // A single label and event time: the previous version's choice wins over a guess elsewhere.
        foreach (var single in new[] { ColumnRole.Label, ColumnRole.EventTime })
        {
            var chosen = previous.Columns.FirstOrDefault(c => c.Role == single && columns.Any(n => n.Name == c.Name && n.Role == single));
            if (chosen is null) continue;
            for (var i = 0; i < columns.Count; i++)
                if (columns[i].Role == single && columns[i].Name != chosen.Name) columns[i] = columns[i] with { Role = ColumnRole.Feature };
        }

        var label = columns.FirstOrDefault(c => c.Role == ColumnRole.Label);
        var positive = label is null ? null
            : previous.Label?.Name == label.Name && previous.PositiveLabel is not null ? previous.PositiveLabel : inferred.PositiveLabel;
        return inferred with { Columns = columns, PositiveLabel = positive };
    }

    private static DatasetColumn GuessColumn(string name, ColumnSample s, int position)
    {
        var key = Normalise(name);
        var tokens = Tokens(name);
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
        var entityName = EntityWords.Any(w => key == w || IdSuffixes.Any(x => key == w + x));
        var idName = IsIdName(name);
        var highCardinality = s.Distinct.Count > 50 && s.Distinct.Count > 0.05 * s.NonMissing;
        // Card numbers, account numbers and UUIDs: digits or hex that only identify. As numbers they would be a
        // meaningless feature (and a 19-digit card number does not even fit a long), so they are text.
        var identifierValues = s.NonMissing > 0 && type != ColumnType.DateTime && (s.AllLongDigits || s.AllUuids);
        // An entity key is a name for someone, not a quantity: integer keys are text too.
        if (identifierValues || (entityName && type is ColumnType.Integer or ColumnType.Decimal)) type = ColumnType.Text;
        var uniqueIdentifier = !s.RepeatSeen && s.NonMissing > 50 && (type == ColumnType.Text || (type == ColumnType.Integer && key.EndsWith("id", StringComparison.Ordinal)));
        if (LabelNames.Contains(key) && s.Distinct.Count == 2) role = ColumnRole.Label;
        else if (type == ColumnType.DateTime && timeLike) role = ColumnRole.EventTime;
        else if (entityName) role = ColumnRole.EntityKey;
        else if (PersonalNames.Contains(key) || (tokens.Length > 1 && tokens[^1] == "name")) role = ColumnRole.Ignore;
        else if (identifierValues || (idName && (highCardinality || uniqueIdentifier))) role = ColumnRole.Ignore; // per-row or unknown identifiers
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

    private static bool IsUuidLike(ReadOnlySpan<char> text) =>
        (text.Length == 32 && !text.ContainsAnyExcept("0123456789abcdefABCDEF"))
        || (text.Length == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-' && !text.ContainsAnyExcept("0123456789abcdefABCDEF-"));

    private sealed class ColumnSample
    {
        public int NonMissing;
        public bool AllIntegers = true;
        public bool AllDecimals = true;
        public int BooleanMask = -1;
        public int DateFormatMask = -1;
        /// <summary>Some value occurred twice: not a unique identifier (tracked past the distinct cap too, for the values kept).</summary>
        public bool RepeatSeen;
        /// <summary>Every value is a string of at least 12 digits (card, account or phone numbers), or a UUID / 32-hex hash.</summary>
        public bool AllLongDigits = true;
        public bool AllUuids = true;
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

            if (AllLongDigits) AllLongDigits = text.Length >= 12 && !text.ContainsAnyExcept("0123456789");
            if (AllUuids) AllUuids = IsUuidLike(text);

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

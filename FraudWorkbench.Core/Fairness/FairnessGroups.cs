using System.Globalization;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// The rows of a set split into the groups of one protected column, or of several crossed (intersectional groups).
/// </summary>
/// <param name="Name">The column, or the crossed columns joined by " × ".</param>
/// <param name="Labels">Each group's name, indexed by group number.</param>
/// <param name="Of">Each row's group number.</param>
/// <param name="Bucketed">How many distinct values went into <see cref="FairnessGroups.Other"/> (0 when none did).</param>
public sealed record Grouping(string Name, IReadOnlyList<string> Labels, int[] Of, int Bucketed = 0)
{
    public int Count => Labels.Count;
}

/// <summary>
/// How rows are put into groups: a protected column's value; a numeric column with age bands by its band; a missing
/// or unreadable value as its own group; past the <see cref="MaxGroups"/> most frequent values the rest together as
/// "other", so a column with hundreds of values still gives a table someone can read.
/// </summary>
public static class FairnessGroups
{
    public const string Missing = "(missing)";
    public const string Other = "(other)";
    public const int MaxGroups = 20;
    public const string Separator = " × ";

    /// <summary>The band of <paramref name="value"/>: "&lt;18", "18–24", …, "65+" for bands [18, 25, …, 65].</summary>
    public static string Band(double value, IReadOnlyList<double> bands)
    {
        if (value < bands[0]) return "<" + Number(bands[0]);
        for (var i = 1; i < bands.Count; i++)
        {
            if (value < bands[i]) return BandLabel(bands, i - 1);
        }

        return Number(bands[^1]) + "+";
    }

    /// <summary>Every band's label in order (below the first, each band, the last and above).</summary>
    public static IReadOnlyList<string> BandLabels(IReadOnlyList<double> bands) =>
        ["<" + Number(bands[0]), .. Enumerable.Range(0, bands.Count - 1).Select(i => BandLabel(bands, i)), Number(bands[^1]) + "+"];

    // Whole-number bounds read as ages do (18–24); others as a half-open interval.
    private static string BandLabel(IReadOnlyList<double> bands, int i) =>
        IsWhole(bands[i]) && IsWhole(bands[i + 1]) ? $"{Number(bands[i])}–{Number(bands[i + 1] - 1)}" : $"[{Number(bands[i])}, {Number(bands[i + 1])})";

    private static bool IsWhole(double value) => Math.Abs(value - Math.Round(value)) < 1e-9;

    private static string Number(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The groups of <paramref name="column"/> over <paramref name="rows"/> (cells in the schema's order).</summary>
    public static Grouping Of(DatasetColumn column, int index, IReadOnlyList<string?[]> rows)
    {
        var bands = column.AgeBands is { Count: > 0 } b && ColumnType.IsNumeric(column.Type) ? b : null;
        // A protected column holds few distinct cells (sexes, ages, countries): each distinct cell is read and banded
        // once, and every row gets its cell's code, instead of parsing a million cells.
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        var values = new List<string>();
        var of = new int[rows.Count];
        var nullCode = -1;
        for (var r = 0; r < rows.Count; r++)
        {
            var cell = rows[r][index];
            if (cell is null)
            {
                if (nullCode < 0)
                {
                    nullCode = values.Count;
                    values.Add(Missing);
                }

                of[r] = nullCode;
                continue;
            }

            if (!codes.TryGetValue(cell, out var code))
            {
                codes[cell] = code = values.Count;
                values.Add(Value(cell, bands));
            }

            of[r] = code;
        }

        return FromCodes(column.Name, values, of, bands is null ? null : BandLabels(bands));
    }

    private static string Value(string cell, IReadOnlyList<double>? bands)
    {
        if (CsvFile.IsMissing(cell)) return Missing;
        if (bands is null) return cell.Trim();
        return double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? Band(x, bands) : Missing;
    }

    /// <summary>Groups from each row's value; <paramref name="order"/> fixes the order of known values (bands), else by count.</summary>
    public static Grouping FromValues(string name, IReadOnlyList<string> values, IReadOnlyList<string>? order = null)
    {
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new List<string>();
        var of = new int[values.Count];
        for (var r = 0; r < values.Count; r++)
        {
            if (!codes.TryGetValue(values[r], out var code))
            {
                codes[values[r]] = code = distinct.Count;
                distinct.Add(values[r]);
            }

            of[r] = code;
        }

        return FromCodes(name, distinct, of, order);
    }

    /// <summary>
    /// Groups from each row's code into <paramref name="values"/> (several codes may share a value); <paramref name="of"/>
    /// is rewritten in place from codes to group numbers.
    /// </summary>
    private static Grouping FromCodes(string name, IReadOnlyList<string> values, int[] of, IReadOnlyList<string>? order)
    {
        var perCode = new int[values.Count];
        foreach (var code in of) perCode[code]++;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < values.Count; c++) counts[values[c]] = counts.GetValueOrDefault(values[c]) + perCode[c];
        var present = counts.Keys.Where(v => v != Missing).ToList();
        List<string> kept;
        var bucketed = 0;
        if (order is not null)
        {
            kept = [.. order.Where(counts.ContainsKey)];
        }
        else
        {
            var ranked = present.OrderByDescending(v => counts[v]).ThenBy(v => v, StringComparer.Ordinal).ToList();
            kept = [.. ranked.Take(MaxGroups).Order(StringComparer.Ordinal)];
            bucketed = Math.Max(0, ranked.Count - MaxGroups);
        }

        var labels = new List<string>(kept);
        if (bucketed > 0) labels.Add(Other);
        if (counts.ContainsKey(Missing)) labels.Add(Missing);
        var number = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var group = values.Select(v => number.TryGetValue(v, out var g) ? g : number[Other]).ToArray();
        for (var r = 0; r < of.Length; r++) of[r] = group[of[r]];
        return new Grouping(name, labels, of, bucketed);
    }

    /// <summary>The intersectional groups of two or three groupings: one group per combination that occurs ("F × 25–34").</summary>
    public static Grouping Cross(IReadOnlyList<Grouping> parts)
    {
        if (parts.Count is < 2 or > 3) throw new ArgumentException("Cross two or three protected columns.", nameof(parts));
        var rows = parts[0].Of.Length;
        var combos = new Dictionary<(int, int, int), int>();
        var of = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            var key = (parts[0].Of[r], parts[1].Of[r], parts.Count == 3 ? parts[2].Of[r] : 0);
            if (!combos.TryGetValue(key, out var g)) combos[key] = g = combos.Count;
            of[r] = g;
        }

        // Numbered in the parts' own orders, so "F × <18" comes before "F × 18–24" whatever row came first.
        var ordered = combos.Keys.Order().ToList();
        var renumber = new int[combos.Count];
        for (var i = 0; i < ordered.Count; i++) renumber[combos[ordered[i]]] = i;
        for (var r = 0; r < rows; r++) of[r] = renumber[of[r]];
        var labels = ordered.Select(k => string.Join(Separator, new[] { parts[0].Labels[k.Item1], parts[1].Labels[k.Item2] }
            .Concat(parts.Count == 3 ? [parts[2].Labels[k.Item3]] : []))).ToList();
        return new Grouping(string.Join(Separator, parts.Select(p => p.Name)), labels, of);
    }
}

using System.Text.Json;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// A column's values in one bucket (an hour or a day of one version), counted into its reference's bins: the row
/// <c>monitoring_counts</c> holds. Counts of buckets add up, so any window is a sum of its buckets.
/// </summary>
public sealed class ColumnCounts(int bins)
{
    /// <summary>Unseen values kept per bucket with their counts; the rest are counted in <see cref="Unseen"/> only.</summary>
    public const int KeptUnseenValues = 100;

    public long Rows { get; set; }
    public long Missing { get; set; }
    public long[] Counts { get; private set; } = new long[bins];

    /// <summary>Per quantile bin the sum of its values; empty for columns counted per value.</summary>
    public double[] Sums { get; private set; } = [];
    public long Unseen { get; set; }
    public Dictionary<string, long> UnseenValues { get; } = new(StringComparer.Ordinal);
    public long Below { get; set; }
    public long Above { get; set; }
    public double Sum { get; set; }
    public double? Min { get; set; }
    public double? Max { get; set; }

    public long NonMissing => Rows - Missing;

    /// <summary>Counts a raw transaction value.</summary>
    public void Add(ColumnReference reference, string? raw, Dictionary<string, int>? categoryIndex)
    {
        Rows++;
        if (reference.IsNumeric)
        {
            if (ColumnReference.Number(raw) is not { } x)
            {
                Missing++;
                return;
            }

            AddNumber(reference, x, categoryIndex);
            return;
        }

        var category = reference.Category(raw);
        if (category is null)
        {
            Missing++;
            return;
        }

        AddCategory(reference, category, categoryIndex!);
    }

    /// <summary>Counts a number (a numeric column's value or a served probability); the caller counted the row.</summary>
    public void AddNumber(ColumnReference reference, double x, Dictionary<string, int>? categoryIndex)
    {
        Sum += x;
        Min = Min is { } min ? Math.Min(min, x) : x;
        Max = Max is { } max ? Math.Max(max, x) : x;
        if (reference.Min is { } lo && x < lo) Below++;
        if (reference.Max is { } hi && x > hi) Above++;
        if (reference.ByValue)
        {
            AddCategory(reference, ColumnReferenceBuilder.Format(x), categoryIndex!);
            return;
        }

        var bin = reference.Bin(x);
        Counts[bin]++;
        if (Sums.Length == 0) Sums = new double[Counts.Length];
        Sums[bin] += x;
    }

    private void AddCategory(ColumnReference reference, string category, Dictionary<string, int> categoryIndex)
    {
        if (categoryIndex.TryGetValue(category, out var bin))
        {
            Counts[bin]++;
        }
        else if (reference.CategoriesTruncated)
        {
            Counts[^1]++; // "other": maybe a rare value the reference did not list, so not called unseen
        }
        else
        {
            Unseen++;
            if (UnseenValues.TryGetValue(category, out var n) || UnseenValues.Count < KeptUnseenValues) UnseenValues[category] = n + 1;
        }
    }

    /// <summary>Adds another bucket's counts (of the same reference).</summary>
    public void Add(ColumnCounts other)
    {
        Rows += other.Rows;
        Missing += other.Missing;
        if (Counts.Length != other.Counts.Length) throw new InvalidOperationException("Counts of different references cannot be added.");
        for (var i = 0; i < Counts.Length; i++) Counts[i] += other.Counts[i];
        if (other.Sums.Length > 0)
        {
            if (Sums.Length == 0) Sums = new double[Counts.Length];
            for (var i = 0; i < Sums.Length; i++) Sums[i] += other.Sums[i];
        }

        Unseen += other.Unseen;
        foreach (var (value, n) in other.UnseenValues) UnseenValues[value] = UnseenValues.GetValueOrDefault(value) + n;
        Below += other.Below;
        Above += other.Above;
        Sum += other.Sum;
        Min = Min is { } a ? other.Min is { } b ? Math.Min(a, b) : a : other.Min;
        Max = Max is { } c ? other.Max is { } d ? Math.Max(c, d) : c : other.Max;
    }

    /// <summary>A stored row's counts.</summary>
    public static ColumnCounts From(CountsRow row)
    {
        var counts = new ColumnCounts(row.Counts.Length)
        {
            Rows = row.Rows, Missing = row.Missing, Unseen = row.Unseen, Below = row.Below, Above = row.Above, Sum = row.Sum, Min = row.Min, Max = row.Max,
        };
        row.Counts.CopyTo(counts.Counts, 0);
        if (row.Sums.Length == row.Counts.Length) counts.Sums = [.. row.Sums];
        if (!string.IsNullOrEmpty(row.UnseenValues) && row.UnseenValues != "{}")
        {
            foreach (var (value, n) in JsonSerializer.Deserialize<Dictionary<string, long>>(row.UnseenValues)!) counts.UnseenValues[value] = n;
        }

        return counts;
    }
}

/// <summary>A <c>monitoring_counts</c> row.</summary>
public sealed record CountsRow
{
    public Guid ModelVersionId { get; init; }
    public DateTime BucketStart { get; init; }
    public string ColumnName { get; init; } = "";
    public long Rows { get; init; }
    public long Missing { get; init; }
    public long[] Counts { get; init; } = [];
    public double[] Sums { get; init; } = [];
    public long Unseen { get; init; }
    public string UnseenValues { get; init; } = "{}";
    public long Below { get; init; }
    public long Above { get; init; }
    public double Sum { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
}

/// <summary>Counts every column of a version's transactions into a bucket.</summary>
public sealed class BucketCounter(VersionReference reference)
{
    private readonly MonitoredColumn[] columns = [.. reference.Columns ?? []];
    private readonly Dictionary<string, int>?[] indexes = [.. reference.All.Select(c => c.Reference.Categories is { } categories
        ? categories.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal)
        : null)];

    public VersionReference Reference => reference;

    /// <summary>Counts per column, in <see cref="VersionReference.All"/>'s order.</summary>
    public ColumnCounts[] Counts { get; } = [.. reference.All.Select(c => new ColumnCounts(c.Reference.BinCount))];

    public void Add(string?[]? row, double probability, bool decision)
    {
        if (row is not null)
        {
            for (var c = 0; c < columns.Length; c++)
            {
                var column = columns[c];
                Counts[c].Add(column.Reference, column.SchemaIndex < row.Length ? row[column.SchemaIndex] : null, indexes[c]);
            }
        }

        var next = columns.Length;
        if (reference.Score is { } score)
        {
            Counts[next].Rows++;
            Counts[next].AddNumber(score.Reference, probability, indexes[next]);
            next++;
        }

        if (reference.Decision is { } flag)
        {
            Counts[next].Add(flag.Reference, decision ? "true" : "false", indexes[next]);
            if (decision) Counts[next].Sum++;
        }
    }
}

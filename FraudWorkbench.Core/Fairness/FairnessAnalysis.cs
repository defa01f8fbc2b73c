using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Fairness;

/// <summary>A protected column as the report describes it: its type and, for a banded number such as age, its bands.</summary>
public sealed record ProtectedColumn(string Name, string Type, IReadOnlyList<string>? Bands);

/// <summary>
/// How a version treats the groups of its protected columns on one set of rows (the validation holdout, or a
/// production range): each column alone, then every two and three of them crossed.
/// </summary>
/// <param name="Subject">"holdout", or the production range it covers.</param>
/// <param name="Threshold">The version's decision threshold: selection = score ≥ it.</param>
/// <param name="WhatIf">Per protected column (not crossed), each group's rates at other thresholds; null in reports from before it.</param>
public sealed record FairnessReport(
    Guid VersionId, string Model, int Version, string Subject, int Rows, long Fraud, double Threshold,
    IReadOnlyList<ProtectedColumn> Columns, FairnessSettings Settings, IReadOnlyList<GroupingFairness> Groupings, DateTime ComputedAt,
    IReadOnlyList<ThresholdCurves>? WhatIf = null);

public static class FairnessAnalysis
{
    /// <summary>At most this many crossings (pairs first, then triples), so a dataset with many protected columns stays readable.</summary>
    public const int MaxCrossings = 10;

    public static IReadOnlyList<ProtectedColumn> ProtectedColumns(DatasetSchema schema) =>
        [.. schema.Columns.Where(c => c.Role == ColumnRole.Protected).Select(c => new ProtectedColumn(c.Name, c.Type,
            c.AgeBands is { Count: > 0 } bands && ColumnType.IsNumeric(c.Type) ? FairnessGroups.BandLabels(bands) : null))];

    /// <summary>The groupings of <paramref name="rows"/> (cells in <paramref name="schema"/>'s order) and their fairness, one protected column at a time, then crossed.</summary>
    public static (IReadOnlyList<GroupingFairness> Groupings, IReadOnlyList<ThresholdCurves> WhatIf) Evaluate(
        DatasetSchema schema, IReadOnlyList<string?[]> rows, IReadOnlyList<bool> labels, IReadOnlyList<double> scores, double threshold, FairnessSettings settings,
        int maxParallelism = -1)
    {
        var groupings = Groupings(schema, rows);
        var singles = groupings.Take(schema.Columns.Count(c => c.Role == ColumnRole.Protected));
        var sorted = FairnessCells.ScoreOrder.Of(labels, scores);
        return ([.. groupings.Select(g => FairnessCalculator.Evaluate(g, sorted, threshold, settings, maxParallelism))],
            [.. singles.Select(g => ThresholdWhatIf.Compute(g, labels, scores, settings.MinGroupSize))]);
    }

    /// <summary>The groupings of <paramref name="rows"/> (cells in the schema's order): each protected column, then every two and three crossed, at most <see cref="MaxCrossings"/>.</summary>
    public static IReadOnlyList<Grouping> Groupings(DatasetSchema schema, IReadOnlyList<string?[]> rows)
    {
        var singles = schema.Columns.Where(c => c.Role == ColumnRole.Protected)
            .Select(c => FairnessGroups.Of(c, schema.IndexOf(c.Name), rows)).ToList();
        var crossings = Combinations(singles.Count, 2).Concat(Combinations(singles.Count, 3)).Take(MaxCrossings)
            .Select(combo => FairnessGroups.Cross([.. combo.Select(i => singles[i])]));
        return [.. singles, .. crossings];
    }

    private static IEnumerable<int[]> Combinations(int n, int k) => k switch
    {
        2 => from a in Enumerable.Range(0, n) from b in Enumerable.Range(a + 1, Math.Max(0, n - a - 1)) select new[] { a, b },
        3 => from a in Enumerable.Range(0, n) from b in Enumerable.Range(a + 1, Math.Max(0, n - a - 1)) from c in Enumerable.Range(b + 1, Math.Max(0, n - b - 1)) select new[] { a, b, c },
        _ => [],
    };
}

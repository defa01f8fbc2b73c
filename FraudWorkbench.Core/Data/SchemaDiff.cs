namespace FraudWorkbench.Core.Data;

/// <param name="Kind"><c>type</c> or <c>role</c>.</param>
public sealed record ColumnChange(string Column, string Kind, string From, string To);

/// <summary>
/// A category value of this version that the previous one did not have. <paramref name="Certain"/> when the previous
/// profile listed all its values; otherwise the value was only not among its most frequent (and is shown from 1 % of rows).
/// </summary>
public sealed record NewCategory(string Column, string Value, long Count, double Share, bool Certain);

/// <summary>
/// What changed in a dataset's schema from one version to the next, and what of it matters for
/// training (a lost label or event time), so the user reads it before training on the new version.
/// </summary>
public sealed record SchemaDiff(
    int? FromVersion,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<ColumnChange> Changed,
    IReadOnlyList<string> Warnings)
{
    /// <summary>Category values new in this version: a feature set fitted on the previous one scores them as unknown.</summary>
    public IReadOnlyList<NewCategory> NewValues { get; init; } = [];

    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;

    /// <summary>Values among a column's most frequent in <paramref name="current"/> that <paramref name="previous"/> did not have.</summary>
    public static IReadOnlyList<NewCategory> NewCategories(DatasetProfile previous, DatasetProfile current)
    {
        var found = new List<NewCategory>();
        foreach (var column in current.Columns)
        {
            if (column.TopCategories is not { } top || previous.Columns.FirstOrDefault(c => c.Name == column.Name) is not { TopCategories: { } before } old) continue;
            var known = before.Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
            // Every value of the previous version is listed when it had no more distinct values than it lists.
            var certain = !old.DistinctAtLeast && old.Distinct <= before.Count(c => !IsBucket(c.Value));
            var rows = Math.Max(1, current.RowCount);
            foreach (var category in top.Where(c => !IsBucket(c.Value) && !known.Contains(c.Value)))
            {
                var share = (double)category.Count / rows;
                if (certain || share >= 0.01) found.Add(new NewCategory(column.Name, category.Value, category.Count, share, certain));
            }
        }

        return found;
    }

    // The profiler's "(other values)" row and similar: not a value of the data.
    private static bool IsBucket(string value) => value.StartsWith('(') && value.EndsWith(')');

    public static SchemaDiff Between(DatasetSchema? previous, DatasetSchema current, int? fromVersion = null)
    {
        var warnings = new List<string>();
        if (current.Label is null)
        {
            warnings.Add(previous?.Label is { } lost
                ? $"No label: the previous version's label column '{lost.Name}' is {(current.IndexOf(lost.Name) < 0 ? "missing" : "no longer the label")}, so this version cannot train a model."
                : "No label column: this version cannot train a model until a column is given the label role.");
        }

        if (previous is null) return new SchemaDiff(fromVersion, [], [], [], warnings);

        var added = current.Columns.Where(c => previous.IndexOf(c.Name) < 0).Select(c => c.Name).ToList();
        var removed = previous.Columns.Where(c => current.IndexOf(c.Name) < 0).Select(c => c.Name).ToList();
        var changed = new List<ColumnChange>();
        foreach (var column in current.Columns)
        {
            var index = previous.IndexOf(column.Name);
            if (index < 0) continue;
            var before = previous.Columns[index];
            if (before.Type != column.Type) changed.Add(new ColumnChange(column.Name, "type", before.Type, column.Type));
            if (before.Role != column.Role) changed.Add(new ColumnChange(column.Name, "role", before.Role, column.Role));
        }

        if (previous.EventTime is { } time && current.EventTime is null)
            warnings.Add($"No event time: the previous version's event time '{time.Name}' is gone, so time splits and velocity features are unavailable.");
        foreach (var key in previous.Columns.Where(c => c.Role == ColumnRole.EntityKey && current.IndexOf(c.Name) < 0))
            warnings.Add($"The entity key '{key.Name}' is missing: feature sets that aggregate per '{key.Name}' cannot use this version.");
        if (removed.Count > 0)
            warnings.Add($"{removed.Count} column{(removed.Count == 1 ? " is" : "s are")} missing; feature sets that read {(removed.Count == 1 ? "it" : "them")} cannot use this version.");
        return new SchemaDiff(fromVersion, added, removed, changed, warnings);
    }
}

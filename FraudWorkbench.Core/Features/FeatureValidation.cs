using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

/// <param name="Field">Where in the request, e.g. <c>features[2].column</c>.</param>
public sealed record FeatureIssue(string Field, string Message);

/// <summary>The definition does not fit the dataset version; nothing was saved.</summary>
public sealed class FeatureValidationException(IReadOnlyList<FeatureIssue> issues)
    : Exception(string.Join(" ", issues.Select(i => $"{i.Field}: {i.Message}")))
{
    public IReadOnlyList<FeatureIssue> Issues { get; } = issues;
}

public static class FeatureValidation
{
    public const int MaxFeatures = 1000;
    public const int MaxWindows = 10;

    private static readonly string[] NumericTypes = [ColumnType.Integer, ColumnType.Decimal, ColumnType.Boolean];
    private static readonly string[] CategoryTypes = [ColumnType.Categorical, ColumnType.Boolean, ColumnType.Text, ColumnType.Integer];

    /// <summary>Checks every feature against the dataset version's schema; throws with every problem found.</summary>
    public static void Validate(FeatureSetDefinition definition, DatasetSchema schema)
    {
        var issues = new List<FeatureIssue>();
        if (definition.Features is not { Count: > 0 }) issues.Add(new("features", "A feature set needs at least one feature."));
        if (definition.Features?.Count > MaxFeatures) throw new FeatureValidationException([new("features", $"A feature set has at most {MaxFeatures:N0} features.")]);

        for (var i = 0; i < (definition.Features?.Count ?? 0); i++)
        {
            var f = definition.Features![i];
            var at = $"features[{i}]";
            if (f is null) { issues.Add(new(at, "is empty.")); continue; }
            if (!FeatureKind.All.Contains(f.Kind)) { issues.Add(new($"{at}.kind", $"'{f.Kind}' is not one of {string.Join(", ", FeatureKind.All)}.")); continue; }

            DatasetColumn? Need(string? name, string field, string[]? types, bool required = true)
            {
                if (name is null)
                {
                    if (required) issues.Add(new($"{at}.{field}", $"A {f.Kind} feature needs '{field}'."));
                    return null;
                }

                var column = schema.Columns.FirstOrDefault(c => c.Name == name);
                if (column is null) { issues.Add(new($"{at}.{field}", $"The dataset version has no column '{name}'.")); return null; }
                if (column.Role is ColumnRole.Label) issues.Add(new($"{at}.{field}", $"'{name}' is the label; a feature cannot read it."));
                if (column.Role is ColumnRole.Protected)
                    issues.Add(new($"{at}.{field}", $"'{name}' is a protected attribute: it is kept for fairness checks, not used as a model input."));
                if (column.Role is ColumnRole.Ignore) issues.Add(new($"{at}.{field}", $"'{name}' is marked ignore in the dataset version."));
                if (types is not null && !types.Contains(column.Type))
                    issues.Add(new($"{at}.{field}", $"A {f.Kind} feature needs a {string.Join(" or ", types)} column; '{name}' is {column.Type}."));
                return column;
            }

            switch (f.Kind)
            {
                case FeatureKind.Numeric:
                    Need(f.Column, "column", NumericTypes);
                    if (f.Impute is not (null or "median" or "mean" or "constant")) issues.Add(new($"{at}.impute", "Impute with median, mean or constant."));
                    if (f.ImputeValue is { } imputeValue && !double.IsFinite(imputeValue)) issues.Add(new($"{at}.imputeValue", "The constant to impute must be a finite number."));
                    if (f.Clip is { } clip && (clip.Count != 2 || clip[0] is not (>= 0 and <= 1) || clip[1] is not (>= 0 and <= 1) || !(clip[0] < clip[1])))
                        issues.Add(new($"{at}.clip", "Clip takes two quantile levels, lower before upper, within [0, 1], e.g. [0.01, 0.99]."));
                    break;
                case FeatureKind.OneHot:
                    Need(f.Column, "column", CategoryTypes);
                    if (f.TopK is < 1 or > 200) issues.Add(new($"{at}.topK", "Top K must be between 1 and 200."));
                    break;
                case FeatureKind.Frequency:
                    Need(f.Column, "column", CategoryTypes);
                    break;
                case FeatureKind.TargetEncoding:
                    Need(f.Column, "column", CategoryTypes);
                    if (schema.Label is null) issues.Add(new($"{at}.kind", "Target encoding needs a label column in the dataset version."));
                    break;
                case FeatureKind.DateParts:
                    Need(f.Column, "column", [ColumnType.DateTime]);
                    if (f.Parts?.Except(FeatureSetDefinition.DateParts).ToList() is { Count: > 0 } unknown)
                        issues.Add(new($"{at}.parts", $"Unknown part {string.Join(", ", unknown)}; use {string.Join(", ", FeatureSetDefinition.DateParts)}."));
                    break;
                case FeatureKind.Mismatch:
                    Need(f.Column, "column", null);
                    Need(f.Other, "other", null);
                    if (f.Column is not null && f.Column == f.Other) issues.Add(new($"{at}.other", "A mismatch compares two different columns."));
                    break;
                case FeatureKind.EntityRatio:
                case FeatureKind.Velocity:
                    Need(f.Column, "column", [ColumnType.Integer, ColumnType.Decimal], required: f.Kind == FeatureKind.EntityRatio);
                    var entity = Need(f.Entity, "entity", null);
                    if (entity is not null && entity.Role != ColumnRole.EntityKey) issues.Add(new($"{at}.entity", $"'{entity.Name}' is not an entity key of the dataset version; mark it as one first."));
                    if (schema.EventTime is null) issues.Add(new($"{at}.kind", $"A {f.Kind} feature is point-in-time: the dataset version needs an event-time column."));
                    if (f.Windows?.Count > MaxWindows) issues.Add(new($"{at}.windows", $"At most {MaxWindows} windows."));
                    foreach (var window in (f.Windows ?? []).Take(MaxWindows))
                    {
                        try { FeatureSetDefinition.ParseWindow(window); }
                        catch (FormatException ex) { issues.Add(new($"{at}.windows", ex.Message)); }
                    }

                    break;
            }
        }

        if (issues.Count == 0)
        {
            // The same feature twice would give two inputs with one name.
            var normalised = definition.Normalise().Features;
            for (var i = 0; i < normalised.Count; i++)
            {
                var first = normalised.Take(i).ToList().IndexOf(normalised[i]);
                if (first >= 0) issues.Add(new($"features[{i}]", $"repeats features[{first}]."));
            }
        }

        if (issues.Count > 0) throw new FeatureValidationException(issues);
    }
}

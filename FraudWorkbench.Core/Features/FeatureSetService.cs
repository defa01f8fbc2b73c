using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Core.Features;

public sealed record NewFeatureSet(string Name, Guid DatasetId, int DatasetVersion, FeatureSetDefinition Definition);

/// <summary>Creates feature set versions: validate against the dataset version, fit, featurize, keep the reference statistics.</summary>
public sealed class FeatureSetService(DatasetStore datasets, ArtifactStore artifacts, FeatureSetStore store)
{
    public async Task<(FeatureSetVersion Version, bool Created)> CreateAsync(NewFeatureSet request, string actor, CancellationToken cancellationToken = default)
    {
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > 200) throw new FeatureValidationException([new("name", "Give the feature set a name of 1 to 200 characters.")]);
        if (StoredText.Problem(name, 200) is { } unstorable) throw new FeatureValidationException([new("name", unstorable)]);
        if (request.Definition is null) throw new FeatureValidationException([new("features", "A feature set needs at least one feature.")]);
        var version = await datasets.GetVersionAsync(request.DatasetId, request.DatasetVersion, cancellationToken)
            ?? throw new FeatureValidationException([new("datasetVersion", $"Dataset {request.DatasetId} has no version {request.DatasetVersion}.")]);

        var schema = version.Schema;
        FeatureValidation.Validate(request.Definition, schema);
        CheckRatioDenominators(request.Definition, version.Profile);

        var rows = await DatasetRows.ReadAsync(artifacts, version, cancellationToken);

        var fitted = FeatureSetFitter.Fit(request.Definition, schema, rows);
        var matrix = BatchFeaturizer.Run(fitted, rows);
        // Statistics of a target encoding fitted on the very rows it encodes would flatter it (an id column scores AUC 1).
        FeatureSetFitter.ApplyOutOfFoldTargetEncoding(fitted, rows, matrix);
        var reference = FeatureReferenceBuilder.Build(fitted, matrix, rows.Count, Labels(schema, rows), rows);
        return await store.CreateVersionAsync(name, request.DatasetId, request.DatasetVersion, request.Definition.Hash(schema), fitted, reference, actor, cancellationToken);
    }

    /// <summary>Per row 1 (fraud), 0 (legitimate) or −1 (unlabelled); null when the dataset has no label.</summary>
    public static sbyte[]? Labels(DatasetSchema schema, IReadOnlyList<string?[]> rows)
    {
        if (schema.Label is not { } label) return null;
        var index = schema.IndexOf(label.Name);
        return [.. rows.Select(r => r[index] is { } y && !CsvFile.IsMissing(y) ? (sbyte)(y.Trim() == schema.PositiveLabel ? 1 : 0) : (sbyte)-1)];
    }

    /// <summary>A ratio to a running mean is only defined when the values cannot average to zero.</summary>
    private static void CheckRatioDenominators(FeatureSetDefinition definition, DatasetProfile profile)
    {
        var issues = new List<FeatureIssue>();
        for (var i = 0; i < definition.Features.Count; i++)
        {
            var f = definition.Features[i];
            if (f.Kind != FeatureKind.EntityRatio || profile.Columns.FirstOrDefault(c => c.Name == f.Column)?.Numeric is not { } n) continue;
            if (n.Min <= 0)
            {
                issues.Add(new($"features[{i}].column",
                    $"A ratio to the entity's mean divides by the mean of earlier '{f.Column}' values, which can be zero here (the column's minimum is {n.Min}); use a column with positive values."));
            }
        }

        if (issues.Count > 0) throw new FeatureValidationException(issues);
    }
}

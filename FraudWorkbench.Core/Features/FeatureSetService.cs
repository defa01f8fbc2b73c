using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Features;

public sealed record NewFeatureSet(string Name, Guid DatasetId, int DatasetVersion, FeatureSetDefinition Definition);

/// <summary>Creates feature set versions: validate against the dataset version, fit, featurize, keep the reference statistics.</summary>
public sealed class FeatureSetService(DatasetStore datasets, ArtifactStore artifacts, FeatureSetStore store, IOptions<FeatureSetOptions>? options = null)
{
    /// <summary>
    /// Everything that can be checked before reading the rows, including the memory the fit needs against the budget:
    /// the API checks it before queueing the fit, so a definition that cannot be fitted is a 400, not a failed job.
    /// </summary>
    /// <returns>The trimmed name and the dataset version.</returns>
    public async Task<(string Name, DatasetVersion Version)> ValidateAsync(NewFeatureSet request, CancellationToken cancellationToken = default)
    {
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > 200) throw new FeatureValidationException([new("name", "Give the feature set a name of 1 to 200 characters.")]);
        if (StoredText.Problem(name, 200) is { } unstorable) throw new FeatureValidationException([new("name", unstorable)]);
        if (request.Definition is null) throw new FeatureValidationException([new("features", "A feature set needs at least one feature.")]);
        var version = await datasets.GetVersionAsync(request.DatasetId, request.DatasetVersion, cancellationToken)
            ?? throw new FeatureValidationException([new("datasetVersion", $"Dataset {request.DatasetId} has no version {request.DatasetVersion}.")]);

        FeatureValidation.Validate(request.Definition, version.Schema);
        CheckRatioDenominators(request.Definition, version.Profile);
        if (TooLargeToSample(version, request.Definition, options?.Value) is { } tooLarge) throw new FeatureValidationException([new("datasetVersion", tooLarge)]);
        return (name, version);
    }

    /// <summary>A fit on fewer rows than this says too little to be worth making: past the budget's reach, refuse instead.</summary>
    public const int MinSampleRows = 10_000;

    /// <summary>
    /// The share of the version's rows a feature-set fit reads: all of them when the estimate fits the budget, else as many
    /// as do. Fitted statistics (quantiles, category shares, encodings, scaling) and the reference statistics are then estimates
    /// from a sample, which the version records (<see cref="FittedFeatureSet.Sample"/>).
    /// </summary>
    public static double FitShare(DatasetVersion version, FeatureSetDefinition definition, FeatureSetOptions? options) =>
        Math.Min(1, (double)(options ?? new FeatureSetOptions()).Budget / FitMemoryBytes(version, definition));

    private static string? TooLargeToSample(DatasetVersion version, FeatureSetDefinition definition, FeatureSetOptions? options)
    {
        var share = FitShare(version, definition, options);
        return share >= 1 || share * version.RowCount >= MinSampleRows ? null
            : $"Fitting these {definition.Features.Count} features needs about {DatasetIngestor.FormatBytes(FitMemoryBytes(version, definition))} of memory for the "
                + $"{version.RowCount:N0} rows; the {DatasetIngestor.FormatBytes((options ?? new FeatureSetOptions()).Budget)} allowed ({FeatureSetOptions.Section}:MaxFitMemoryBytes) "
                + $"holds a sample of only about {share * version.RowCount:N0} rows, fewer than the {MinSampleRows:N0} a fit needs. Raise the budget, or use fewer one-hot categories and velocity windows.";
    }

    /// <summary>
    /// Why fitting <paramref name="definition"/> on <paramref name="version"/> cannot run within the memory budget, or null when it can.
    /// Every step that reads a whole dataset version and fits the features on it (a feature set, a training run) asks first.
    /// </summary>
    public static string? OverBudget(DatasetVersion version, FeatureSetDefinition definition, FeatureSetOptions? options)
    {
        var needed = FitMemoryBytes(version, definition);
        var budget = (options ?? new FeatureSetOptions()).Budget;
        return needed <= budget ? null
            : $"Fitting these {definition.Features.Count} features on {version.RowCount:N0} rows needs about {DatasetIngestor.FormatBytes(needed)} of memory, more than the "
                + $"{DatasetIngestor.FormatBytes(budget)} allowed ({FeatureSetOptions.Section}:MaxFitMemoryBytes). Use a smaller dataset version (a sample of the rows), or fewer one-hot categories and velocity windows.";
    }

    /// <summary>Validates the request (<see cref="ValidateAsync"/>) and returns the version that already holds it, if any: then nothing needs fitting.</summary>
    public async Task<FeatureSetVersion?> ExistingAsync(NewFeatureSet request, CancellationToken cancellationToken = default)
    {
        var (name, version) = await ValidateAsync(request, cancellationToken);
        return await store.FindVersionAsync(name, request.Definition.Hash(version.Schema), request.DatasetId, request.DatasetVersion, cancellationToken);
    }

    /// <param name="progress">Told the percentage and stage as the fit goes (the job's progress).</param>
    public async Task<(FeatureSetVersion Version, bool Created)> CreateAsync(
        NewFeatureSet request, string actor, CancellationToken cancellationToken = default, Func<int, string, Task>? progress = null)
    {
        progress ??= (_, _) => Task.CompletedTask;
        var (name, version) = await ValidateAsync(request, cancellationToken);
        var schema = version.Schema;
        if (await store.FindVersionAsync(name, request.Definition.Hash(schema), request.DatasetId, request.DatasetVersion, cancellationToken) is { } same) return (same, false);
        var share = FitShare(version, request.Definition, options?.Value);
        FitSample? sample = null;
        List<string?[]> rows;
        if (share < 1)
        {
            // Whole entities when the features follow one: a kept customer's velocity and running mean see its every earlier event.
            var entities = request.Definition.Features.Select(f => f.Entity).OfType<string>().Distinct().ToList();
            var byEntity = entities.Count == 1 ? entities[0] : null;
            await progress(10, $"reading a sample of about {share:P0} of the rows{(byEntity is null ? "" : $" (whole {byEntity} values)")}: the whole version exceeds the memory budget");
            rows = await DatasetRows.ReadAsync(artifacts, version, cancellationToken, DatasetRows.Sample(share, byEntity is null ? null : schema.IndexOf(byEntity)));
            sample = new FitSample(rows.Count, version.RowCount, byEntity);
        }
        else
        {
            await progress(10, "reading the dataset");
            rows = await DatasetRows.ReadAsync(artifacts, version, cancellationToken);
        }

        await progress(40, "fitting the features");
        var fitted = FeatureSetFitter.Fit(request.Definition, schema, rows, cancellationToken) with { Sample = sample };
        await progress(55, "featurizing every row point-in-time");
        var matrix = BatchFeaturizer.Run(fitted, rows, cancellationToken);
        // Statistics of a target encoding fitted on the very rows it encodes would flatter it (an id column scores AUC 1).
        FeatureSetFitter.ApplyOutOfFoldTargetEncoding(fitted, rows, matrix);
        await progress(80, "reference statistics and single-input AUC");
        var reference = FeatureReferenceBuilder.Build(fitted, matrix, rows.Count, Labels(schema, rows), rows);
        cancellationToken.ThrowIfCancellationRequested();
        return await store.CreateVersionAsync(name, request.DatasetId, request.DatasetVersion, request.Definition.Hash(schema), fitted, reference, actor, cancellationToken);
    }

    /// <summary>
    /// What a fit holds at its peak, estimated from the version's size: every row as cell strings (an array per row, a
    /// string per cell, the file's text in UTF-16), the float matrix, per numeric feature its sorted values and the
    /// transformed copy (fitted in parallel), the event-time order, and per entity feature the histories it replays.
    /// </summary>
    public static long FitMemoryBytes(DatasetVersion version, FeatureSetDefinition definition)
    {
        var normalised = definition.Normalise();
        long slots = normalised.Features.Sum(f => f.Kind switch
        {
            FeatureKind.Numeric => f.MissingIndicator ? 2 : 1,
            FeatureKind.OneHot => (f.TopK ?? 10) + 1,
            FeatureKind.DateParts => f.Parts?.Count ?? 1,
            FeatureKind.Velocity => (f.Windows?.Count ?? 3) * (f.Column is null ? 1 : 2) + 1,
            _ => 1,
        });
        long numeric = normalised.Features.Count(f => f.Kind == FeatureKind.Numeric);
        long entity = normalised.Features.Count(f => f.Kind is FeatureKind.Velocity or FeatureKind.EntityRatio);
        var rowsAsText = version.RowCount * (32 + 8L * version.ColumnCount + 24L * version.ColumnCount) + 2 * version.SizeBytes;
        return rowsAsText + version.RowCount * (4 * slots + 16 * numeric + 24 + 48 * entity);
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

using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>A column monitoring follows, with its reference; <paramref name="SchemaIndex"/> is −1 for the score and the decision.</summary>
public sealed record MonitoredColumn(string Name, string Kind, int SchemaIndex, ColumnReference Reference)
{
    public string Type => Reference.Type;
}

/// <summary>
/// What a model version's traffic is compared with: its training rows' raw columns (kept with its feature fit), its
/// validation scores and the decisions they give at its threshold. Columns are ordered inputs first, then protected
/// ones, then the other logged columns.
/// </summary>
/// <param name="Columns">Null when the feature set was fitted before monitoring references were kept.</param>
public sealed record VersionReference(
    Guid VersionId, Guid RegisteredModelId, string ModelName, int Version, double Threshold, IReadOnlyList<MonitoredColumn>? Columns,
    MonitoredColumn? Score, MonitoredColumn? Decision)
{
    /// <summary>Every column counted as predictions are logged: the transaction's columns, then the score and the decision.</summary>
    public IEnumerable<MonitoredColumn> All => (Columns ?? []).Concat(new[] { Score, Decision }.OfType<MonitoredColumn>());

    public MonitoredColumn? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}

/// <summary>Loads and keeps each version's <see cref="VersionReference"/> (immutable, so cached for good).</summary>
public sealed class MonitoringReferences(RegistryStore registry, TrainingRunStore runs, FeatureSetStore featureSets, ArtifactStore artifacts)
{
    private readonly VersionCache<VersionReference?> cache = new();

    public Task<VersionReference?> GetAsync(Guid versionId, CancellationToken cancellationToken = default) => cache.GetAsync(versionId, LoadAsync, cancellationToken);

    private async Task<VersionReference?> LoadAsync(Guid versionId)
    {
        var version = await registry.GetVersionAsync(versionId, CancellationToken.None);
        if (version is null) return null;
        var run = await runs.GetAsync(version.RunId, CancellationToken.None);
        if (run?.Result is not { } result) return null;
        var featureSet = await featureSets.GetVersionAsync(run.FeatureSetVersionId, CancellationToken.None);
        var threshold = result.Threshold.Threshold;
        IReadOnlyList<MonitoredColumn>? columns = null;
        if (featureSet?.Reference.Columns is { } references)
        {
            var schema = featureSet.Fitted.Schema;
            columns = [.. references
                .Select(r => new MonitoredColumn(r.Name, r.IsInput ? ColumnKind.Input : r.Role == ColumnRole.Protected ? ColumnKind.Protected : ColumnKind.Other, schema.IndexOf(r.Name), r))
                .Where(c => c.SchemaIndex >= 0)
                .OrderBy(c => c.Kind switch { ColumnKind.Input => 0, ColumnKind.Protected => 1, _ => 2 })];
        }

        MonitoredColumn? score = null, decision = null;
        // Up to 200,000 probabilities (a larger validation set was sampled at one rate per class).
        var validation = await ValidationScores.LoadAsync(run, artifacts, CancellationToken.None);
        if (validation is not null)
        {
            var probabilities = validation.Probabilities;
            score = new MonitoredColumn(MonitoredColumns.Score, ColumnKind.Score, -1,
                ColumnReferenceBuilder.Binned(MonitoredColumns.Score, ColumnType.Decimal, "score", false, probabilities.Length, 0, probabilities));
            decision = new MonitoredColumn(MonitoredColumns.Decision, ColumnKind.Decision, -1,
                ColumnReferenceBuilder.Build(new DatasetColumn(MonitoredColumns.Decision, ColumnType.Boolean, "decision"), false,
                    probabilities.Select(p => p >= threshold ? "true" : "false")));
        }

        return new VersionReference(version.Id, version.RegisteredModelId, version.ModelName, version.Version, threshold, columns, score, decision);
    }
}

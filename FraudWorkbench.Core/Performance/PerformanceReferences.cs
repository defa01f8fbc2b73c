using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Performance;

/// <summary>What performance monitoring needs of a model version, loaded once (a version never changes).</summary>
/// <param name="AmountColumn">The column a missed fraud costs: the threshold settings' amount column, else a numeric
/// column named "amount"; null when there is neither (no money figures).</param>
/// <param name="AmountIndex">Its index in the transaction row; −1 without one.</param>
/// <param name="Cbpe">From the run's validation holdout; null for a run that kept none.</param>
/// <param name="TransactionColumn">The dataset's transaction id column (<see cref="DatasetSchema.TransactionId"/>), by which labels may name a transaction.</param>
public sealed record VersionPerformance(
    Guid VersionId, Guid ModelId, double Threshold, string? AmountColumn, int AmountIndex, double ReviewCost, CbpeReference? Cbpe, string? TransactionColumn = null)
{
    public double? Amount(string?[]? row) =>
        AmountIndex >= 0 && row is not null && AmountIndex < row.Length && double.TryParse(row[AmountIndex], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value : null;

    public double? Amount(System.Text.Json.JsonElement input) =>
        AmountColumn is not null && input.ValueKind == System.Text.Json.JsonValueKind.Object && input.TryGetProperty(AmountColumn, out var v)
            ? v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetDouble()
            : v.ValueKind == System.Text.Json.JsonValueKind.String && double.TryParse(v.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && double.IsFinite(s) ? s : null
            : null;
}

/// <summary>Loads and keeps each version's <see cref="VersionPerformance"/>.</summary>
public sealed class PerformanceReferences(RegistryStore registry, TrainingRunStore runs, FeatureSetStore featureSets, ArtifactStore artifacts)
{
    private readonly VersionCache<VersionPerformance?> cache = new();

    public Task<VersionPerformance?> GetAsync(Guid versionId, CancellationToken cancellationToken = default) => cache.GetAsync(versionId, LoadAsync, cancellationToken);

    private async Task<VersionPerformance?> LoadAsync(Guid versionId)
    {
        var version = await registry.GetVersionAsync(versionId, CancellationToken.None);
        if (version is null) return null;
        var run = await runs.GetAsync(version.RunId, CancellationToken.None);
        if (run?.Result is not { } result) return null;
        var featureSet = await featureSets.GetVersionAsync(run.FeatureSetVersionId, CancellationToken.None);
        var schema = featureSet?.Fitted.Schema;
        var settings = run.Config.Threshold ?? new ThresholdSettings();
        var amount = settings.AmountColumn is { } named && schema?.Columns.FirstOrDefault(c => c.Name == named) is { } configured
            ? configured
            : schema?.Columns.FirstOrDefault(c => string.Equals(c.Name, "amount", StringComparison.OrdinalIgnoreCase) && ColumnType.IsNumeric(c.Type));
        var threshold = result.Threshold.Threshold;
        var validation = await ValidationScores.LoadAsync(run, artifacts, CancellationToken.None);
        var cbpe = validation is { Count: > 0 } ? new CbpeReference(validation.Probabilities, validation.Labels, threshold) : null;
        return new VersionPerformance(version.Id, version.RegisteredModelId, threshold, amount?.Name, amount is null ? -1 : schema!.IndexOf(amount.Name), settings.ReviewCost, cbpe, schema?.TransactionId?.Name);
    }
}

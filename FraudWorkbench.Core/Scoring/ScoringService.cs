using System.Diagnostics;
using System.Text.Json;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Core.Scoring;

/// <param name="PredictionId">Null for a dry run (nothing logged, entity histories untouched).</param>
/// <param name="Reasons">The input columns that moved the score most, by |contribution| (log-odds), signed; null when not asked for or the version cannot explain.</param>
/// <param name="Unseen">Category values the model did not see in training and how it scored them; empty when none.</param>
public sealed record Prediction(Guid? PredictionId, double Probability, bool Decision, double Threshold, string Model, int Version, double LatencyMs, IReadOnlyList<Reason>? Reasons, IReadOnlyList<UnseenValue> Unseen);

/// <summary>An input column's signed contribution to the raw score, with the value the transaction had.</summary>
public sealed record Reason(string Column, double Contribution, string? Value);

/// <summary>The log is full: the request is refused (503) rather than scored without a record.</summary>
public sealed class PredictionLogFullException() : Exception("The prediction log is saturated; retry shortly.");

/// <summary>
/// A batch failed after its first <see cref="Recorded"/> transactions were scored, logged and added to their entities'
/// histories: those stay (undoing them could erase other requests' events), so the caller must learn which they
/// were, or a resend of the whole batch would count them twice in every velocity feature.
/// </summary>
public sealed class PartialBatchException(IReadOnlyList<Prediction> recorded, Exception inner)
    : Exception($"The batch failed after {recorded.Count} of its transactions were scored and recorded.", inner)
{
    public IReadOnlyList<Prediction> Recorded { get; } = recorded;
}

/// <summary>
/// Scores transactions: the model's own feature fit computes the features (entity features from the
/// online state, which each scored transaction then joins), the engine scores them, the recalibration
/// and threshold decide, and the prediction goes to the log.
/// </summary>
public sealed class ScoringService(EntityStateStore entities, PredictionLog log, TimeProvider time)
{
    /// <param name="rows">Parsed by <paramref name="model"/>'s <see cref="TransactionContract"/>, in the dataset's column order.</param>
    /// <param name="inputs">The transactions as sent, stored in the log.</param>
    /// <param name="dryRun">Score without recording: for trying a version from its page.</param>
    /// <param name="reasons">How many reasons to give per prediction (0: none).</param>
    public async Task<IReadOnlyList<Prediction>> PredictAsync(
        ServingModel model, IReadOnlyList<string?[]> rows, IReadOnlyList<JsonElement> inputs, string actor, bool dryRun, CancellationToken cancellationToken, int reasons = 0)
    {
        if (!dryRun && !log.TryReserve(rows.Count)) throw new PredictionLogFullException();
        var logged = 0;
        var results = new Prediction[rows.Count];
        var done = 0;
        try
        {
            var probability = new double[1];
            var transactionId = model.Contract.Schema.TransactionId is { } idColumn ? model.Contract.Schema.IndexOf(idColumn.Name) : -1;
            for (var i = 0; i < rows.Count; i++, done++)
            {
                var start = Stopwatch.GetTimestamp();
                var features = await entities.ComputeAsync(model.FeatureSetVersionId, model.Featurizer, rows[i], record: !dryRun, cancellationToken);
                model.Probabilities(features, 1, probability);
                var decision = probability[0] >= model.Threshold;
                var top = reasons > 0 ? Reasons(model, features, rows[i], reasons) : null;
                var unseen = model.Contract.Unseen(rows[i]);
                var latency = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                Guid? id = null;
                if (!dryRun)
                {
                    var now = time.GetUtcNow();
                    id = Guid.CreateVersion7(now);
                    log.Write(new PredictionRecord(id.Value, now.UtcDateTime, model.VersionId, actor, inputs[i].GetRawText(), features, probability[0], decision, (float)latency,
                        top is null ? null : JsonSerializer.Serialize(top, Data.DatasetSchema.Json), unseen.Count == 0 ? null : JsonSerializer.Serialize(unseen, Data.DatasetSchema.Json), rows[i],
                        transactionId >= 0 ? rows[i][transactionId] : null));
                    logged++;
                }

                results[i] = new Prediction(id, probability[0], decision, model.Threshold, model.ModelName, model.Version, Math.Round(latency, 3), top, unseen);
            }

            return results;
        }
        catch (Exception ex) when (!dryRun && done > 0 && ex is not OperationCanceledException)
        {
            throw new PartialBatchException(results[..done], ex);
        }
        finally
        {
            if (!dryRun && logged < rows.Count) log.Release(rows.Count - logged);
        }
    }

    /// <summary>A full explanation of one transaction against the current entity histories, recording nothing.</summary>
    public async Task<Explain.TransactionExplanation?> ExplainAsync(ServingModel model, string?[] row, CancellationToken cancellationToken)
    {
        var features = await entities.ComputeAsync(model.FeatureSetVersionId, model.Featurizer, row, record: false, cancellationToken);
        return model.Explain(features);
    }

    private static List<Reason>? Reasons(ServingModel model, float[] features, string?[] row, int count)
    {
        if (model.Explainer is null) return null;
        var columns = model.Attribution.Columns(model.Explainer.Explain(features));
        var schema = model.Features.Schema;
        return [.. columns.OrderByDescending(c => Math.Abs(c.Value)).Take(count)
            .Select(c => new Reason(c.Name, Math.Round(c.Value, 6), schema.IndexOf(c.Name) is var i and >= 0 ? row[i] : null))];
    }
}

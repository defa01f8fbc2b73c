using System.Text.Json;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Performance;

/// <summary>
/// Counts every logged batch into its versions' day rows, in the batch's transaction, so a cohort's performance is a
/// sum of days whatever the traffic. A version whose reference cannot be read is logged and left uncounted.
/// </summary>
public sealed class PerformanceLogSink(PerformanceReferences references, IOptions<MonitoringOptions> options, ILogger<PerformanceLogSink> logger) : IPredictionLogSink
{
    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken)
    {
        if (!options.Value.AggregateOnLog) return;
        var days = new List<PerformanceDay>();
        foreach (var byVersion in batch.GroupBy(r => r.ModelVersionId))
        {
            var version = await PerformanceSink.ReferenceAsync(references, logger, byVersion.Key, cancellationToken);
            if (version is null) continue;
            foreach (var byDay in byVersion.GroupBy(r => DateOnly.FromDateTime(r.CreatedAt)))
            {
                var counts = new PerformanceCounts();
                foreach (var r in byDay) counts.AddPrediction(r.Probability, r.Decision, version.Amount(r.Row));
                days.Add(new PerformanceDay(byVersion.Key, byDay.Key, counts));
            }
        }

        await PerformanceStore.AddPredictionsAsync(connection, transaction, days, cancellationToken);
    }
}

/// <summary>Applies label changes to their predictions' day rows, in the feedback's transaction: the old label taken back, the new one added.</summary>
public sealed class PerformanceFeedbackSink(PerformanceReferences references, ILogger<PerformanceFeedbackSink> logger) : IFeedbackSink
{
    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<LabelChange> changes, CancellationToken cancellationToken)
    {
        var days = new List<PerformanceDay>();
        foreach (var byVersion in changes.GroupBy(c => c.ModelVersionId))
        {
            var version = await PerformanceSink.ReferenceAsync(references, logger, byVersion.Key, cancellationToken);
            if (version is null) continue;
            foreach (var byDay in byVersion.GroupBy(c => DateOnly.FromDateTime(c.CreatedAt)))
            {
                var counts = new PerformanceCounts();
                foreach (var c in byDay)
                {
                    double? amount = null;
                    if (version.AmountColumn is not null)
                    {
                        using var input = JsonDocument.Parse(c.InputJson);
                        amount = version.Amount(input.RootElement);
                    }

                    if (c.WasFraud is { } was) counts.AddLabel(c.Probability, c.Decision, amount, was, Delay(c.CreatedAt, c.WasLabelTime ?? c.LabelTime), -1);
                    counts.AddLabel(c.Probability, c.Decision, amount, c.IsFraud, Delay(c.CreatedAt, c.LabelTime), 1);
                }

                days.Add(new PerformanceDay(byVersion.Key, byDay.Key, counts));
            }
        }

        await PerformanceStore.AddLabelsAsync(connection, transaction, days, cancellationToken);
    }

    private static double Delay(DateTime predicted, DateTime labelled) => (labelled - predicted).TotalDays;
}

internal static class PerformanceSink
{
    public static async Task<VersionPerformance?> ReferenceAsync(PerformanceReferences references, ILogger logger, Guid versionId, CancellationToken cancellationToken)
    {
        try
        {
            return await references.GetAsync(versionId, cancellationToken);
        }
        catch (Exception ex) when (ex is ArtifactCorruptedException or IOException or JsonException or InvalidDataException)
        {
            logger.LogWarning(ex, "Performance monitoring cannot read the reference of model version {Version}; its predictions and labels are stored but not counted", versionId);
            return null;
        }
    }
}

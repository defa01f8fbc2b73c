using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// Counts every logged batch into its versions' hour and day buckets, in the batch's transaction: a window's drift is
/// then a sum of buckets, whatever the traffic. A version whose reference cannot be read is logged and left uncounted
/// rather than holding up the log.
/// </summary>
public sealed class MonitoringLogSink(MonitoringReferences references, IOptions<MonitoringOptions> options, ILogger<MonitoringLogSink> logger) : IPredictionLogSink
{
    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken)
    {
        if (!options.Value.AggregateOnLog) return;
        var rows = new List<(Guid, string, DateTime, string, ColumnCounts)>();
        foreach (var byVersion in batch.GroupBy(r => r.ModelVersionId))
        {
            VersionReference? reference;
            try
            {
                reference = await references.GetAsync(byVersion.Key, cancellationToken);
            }
            catch (Exception ex) when (ex is ArtifactCorruptedException or IOException or System.Text.Json.JsonException)
            {
                logger.LogWarning(ex, "Monitoring cannot read the reference of model version {Version}; its predictions are logged but not counted", byVersion.Key);
                continue;
            }

            if (reference is null) continue;
            foreach (var byHour in byVersion.GroupBy(r => WindowSize.Start(WindowSize.Hour, r.CreatedAt)))
            {
                var counter = new BucketCounter(reference);
                foreach (var record in byHour) counter.Add(record.Row, record.Probability, record.Decision);
                var day = WindowSize.Start(WindowSize.Day, byHour.Key);
                var columns = reference.All.ToList();
                for (var c = 0; c < columns.Count; c++)
                {
                    rows.Add((reference.VersionId, MonitoringStore.Hour, byHour.Key, columns[c].Name, counter.Counts[c]));
                    rows.Add((reference.VersionId, MonitoringStore.Day, day, columns[c].Name, counter.Counts[c]));
                }
            }
        }

        // Hours of one day each add to its day row: merge them first so a batch writes each row once.
        var merged = rows.GroupBy(r => (r.Item1, r.Item2, r.Item3, r.Item4)).Select(g =>
        {
            var first = g.First().Item5;
            if (g.Count() == 1) return (g.Key.Item1, g.Key.Item2, g.Key.Item3, g.Key.Item4, first);
            var sum = new ColumnCounts(first.Counts.Length);
            foreach (var r in g) sum.Add(r.Item5);
            return (g.Key.Item1, g.Key.Item2, g.Key.Item3, g.Key.Item4, sum);
        }).ToList();
        await MonitoringStore.AddCountsAsync(connection, transaction, merged, cancellationToken);
    }
}

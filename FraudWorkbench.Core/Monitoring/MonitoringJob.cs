using Dapper;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using Npgsql;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// Decides drift for a closed window (an hour or a day) of every model with traffic in it, for each version that
/// served it, and stores the decisions as the drift history; open monitoring pages hear of it at once.
/// </summary>
public sealed class MonitoringJobHandler(
    NpgsqlDataSource dataSource, MonitoringService monitoring, MonitoringStore store, EventHub events, TimeProvider time, IEnumerable<IMonitoringWindowStep> steps) : IJobHandler
{
    public const string HourKind = "monitoring.drift.hour";
    public const string DayKind = "monitoring.drift.day";

    public string Kind => HourKind;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var window = context.Payload<RecurringWindow>();
        var size = window.End - window.Start == TimeSpan.FromDays(1) ? WindowSize.Day : WindowSize.Hour;
        return await ComputeAsync(size, window.Start, cancellationToken);
    }

    /// <summary>Computes and stores one window for every model with traffic in it; returns what it stored.</summary>
    public async Task<object> ComputeAsync(string size, DateTime start, CancellationToken cancellationToken)
    {
        var end = start + WindowSize.Of(size);
        const string sql = """
            SELECT DISTINCT v.registered_model_id, m.name, c.model_version_id
            FROM monitoring_counts c JOIN model_versions v ON v.id = c.model_version_id JOIN registered_models m ON m.id = v.registered_model_id
            WHERE c.bucket = @bucket AND c.column_name = ':score' AND c.bucket_start >= @start AND c.bucket_start < @end
            """;
        List<(Guid ModelId, string Name, Guid VersionId)> served;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            var bucket = size == WindowSize.Hour ? MonitoringStore.Hour : MonitoringStore.Day;
            served = [.. await connection.QueryAsync<(Guid, string, Guid)>(new CommandDefinition(sql, new { bucket, start, end }, cancellationToken: cancellationToken))];
        }

        var stored = 0;
        foreach (var model in served.GroupBy(s => (s.ModelId, s.Name)))
        {
            var config = await store.ConfigAsync(model.Key.ModelId, cancellationToken);
            var now = time.GetUtcNow().UtcDateTime;
            var rows = new List<DriftResultRow>();
            foreach (var (_, _, versionId) in model)
            {
                if (await monitoring.ComputeVersionAsync(versionId, size, start, config, cancellationToken) is { } computed) rows.AddRange(MonitoringService.ToRows(computed, size, now));
            }

            if (rows.Count == 0) continue;
            await store.SaveResultsAsync(model.Key.ModelId, rows, cancellationToken);
            stored += rows.Count;
            await events.PublishAsync(new MonitoringComputed(model.Key.Name, size, start), cancellationToken);
        }

        // Then the steps newer capabilities add (fairness of the day's traffic), each after the drift is safely stored.
        var done = new List<object>();
        foreach (var step in steps)
        {
            if (await step.RunAsync(size, start, cancellationToken) is { } result) done.Add(result);
        }

        return new { window = size, start, models = served.Select(s => s.Name).Distinct().Count(), rows = stored, steps = done };
    }
}

/// <summary>The same handler under the day's kind (a kind has one handler; the work is the same).</summary>
public sealed class MonitoringDayJobHandler(MonitoringJobHandler hourly) : IJobHandler
{
    public string Kind => MonitoringJobHandler.DayKind;

    public Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken) => hourly.ExecuteAsync(context, cancellationToken);
}

public static class MonitoringSchedule
{
    public const string Actor = "system:monitoring";

    /// <summary>Every hour for the hour just closed; after downtime the last day's hours are caught up.</summary>
    public static readonly RecurringJob Hourly = new(MonitoringJobHandler.HourKind, TimeSpan.FromHours(1), Actor, CatchUpWindows: 24);

    /// <summary>Every UTC midnight for the day just closed; a week caught up.</summary>
    public static readonly RecurringJob Daily = new(MonitoringJobHandler.DayKind, TimeSpan.FromDays(1), Actor, CatchUpWindows: 7);
}

public sealed class MonitoringJobSubjects : IJobDescriber
{
    public IReadOnlyList<string> Kinds { get; } = [MonitoringJobHandler.HourKind, MonitoringJobHandler.DayKind, TrafficReplayJobHandler.KindName];

    public Task<IReadOnlyDictionary<Guid, JobSubject>> DescribeAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<Guid, JobSubject>>(jobs.ToDictionary(j => j.Id, j =>
        {
            if (j.Kind == TrafficReplayJobHandler.KindName)
            {
                var replay = j.PayloadAs<TrafficReplayRequest>();
                return new JobSubject(replay is null ? "Score a dataset as traffic" : $"Score a dataset as traffic of {replay.Model}",
                    replay is null ? null : $"models/{Uri.EscapeDataString(replay.Model)}/monitoring");
            }

            var window = j.PayloadAs<RecurringWindow>();
            var title = window is null ? "Compute drift" : j.Kind == MonitoringJobHandler.DayKind
                ? $"Compute drift for {window.Start:yyyy-MM-dd} (UTC day)"
                : $"Compute drift for {window.Start:yyyy-MM-dd HH}:00–{window.End:HH}:00 UTC";
            return new JobSubject(title, null);
        }));
}

using Dapper;
using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Traffic, latency, no data, label freshness, job failures and scoring errors: counts over the log and the operational tables.</summary>
public sealed partial class AlertMetricReader
{
    private sealed record LogWindow(int I, long N, long Flagged, double? Mean, double? P99);

    private sealed record HourTraffic(DateTime BucketStart, string ColumnName, long Rows, long Missing, double Sum);

    /// <summary>Volume, flag rate and mean score: the hour buckets' <c>:score</c> and <c>:decision</c> rows when the windows are whole hours, else the log.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> TrafficAsync(ModelScope scope, string kind, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        if (!HourAligned(window, ends))
        {
            var log = await LogWindowsAsync(scope.Versions, window, ends, latency: false, cancellationToken);
            return [.. log.Select(w => kind switch
            {
                AlertMetricKind.Volume => ((double?)w.N, w.N),
                AlertMetricKind.FlagRate => (w.N > 0 ? (double)w.Flagged / w.N : null, w.N),
                _ => (w.Mean, w.N),
            })];
        }

        var (from, to) = Range(window, ends);
        const string sql = """
            SELECT bucket_start, column_name, sum(rows)::bigint AS rows, sum(missing)::bigint AS missing, sum(sum) AS sum
            FROM monitoring_counts
            WHERE model_version_id = ANY(@versions) AND bucket = 'hour' AND column_name IN (':score', ':decision') AND bucket_start >= @from AND bucket_start < @to
            GROUP BY bucket_start, column_name
            """;
        List<HourTraffic> hours;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            hours = [.. await connection.QueryAsync<HourTraffic>(new CommandDefinition(sql, new { versions = scope.Versions, from, to }, cancellationToken: cancellationToken))];
        }

        var score = hours.Where(h => h.ColumnName == MonitoredColumns.Score).ToList();
        var decision = hours.Where(h => h.ColumnName == MonitoredColumns.Decision).ToList();
        return [.. ends.Select(t =>
        {
            var start = t - window;
            var s = score.Where(h => h.BucketStart >= start && h.BucketStart < t).ToList();
            var predictions = s.Sum(h => h.Rows);
            if (kind == AlertMetricKind.Volume) return ((double?)predictions, predictions);
            if (kind == AlertMetricKind.MeanScore)
            {
                var scored = predictions - s.Sum(h => h.Missing);
                return (scored > 0 ? s.Sum(h => h.Sum) / scored : (double?)null, predictions);
            }

            // A :decision row's sum is its count of fraud decisions.
            var d = decision.Where(h => h.BucketStart >= start && h.BucketStart < t).ToList();
            var decided = d.Sum(h => h.Rows - h.Missing);
            return (decided > 0 ? d.Sum(h => h.Sum) / decided : (double?)null, predictions);
        })];
    }

    private async Task<IReadOnlyList<(double? Value, long Sample)>> LatencyAsync(ModelScope scope, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var log = await LogWindowsAsync(scope.Versions, window, ends, latency: true, cancellationToken);
        return [.. log.Select(w => (w.P99, w.N))];
    }

    /// <summary>Per window, straight from the prediction log: predictions, fraud decisions, mean score and (when asked) the p99 latency.</summary>
    private async Task<IReadOnlyList<LogWindow>> LogWindowsAsync(Guid[] versions, TimeSpan window, DateTime[] ends, bool latency, CancellationToken cancellationToken)
    {
        // One query for every window: each end joins the log rows of its own window (the index on version and time serves each).
        const string plain = """
            SELECT t.i::int AS i, count(p.id) AS n, count(p.id) FILTER (WHERE p.decision) AS flagged, avg(p.probability) AS mean, NULL::double precision AS p99
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            LEFT JOIN predictions p ON p.model_version_id = ANY(@versions) AND p.created_at >= t.e - @window AND p.created_at < t.e
            GROUP BY t.i ORDER BY t.i
            """;
        const string withLatency = """
            SELECT t.i::int AS i, count(p.id) AS n, count(p.id) FILTER (WHERE p.decision) AS flagged, avg(p.probability) AS mean,
                   (percentile_disc(0.99) WITHIN GROUP (ORDER BY p.latency_ms))::double precision AS p99
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            LEFT JOIN predictions p ON p.model_version_id = ANY(@versions) AND p.created_at >= t.e - @window AND p.created_at < t.e
            GROUP BY t.i ORDER BY t.i
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<LogWindow>(new CommandDefinition(latency ? withLatency : plain, new { ends, versions, window }, cancellationToken: cancellationToken));
        return [.. rows.OrderBy(r => r.I)];
    }

    /// <summary>
    /// 1 when a production model had predictions in the 7 days before the window but none in it, 0 when it had some, no
    /// decision when none are expected. The window is counted exactly from the log; the 7 days before it from the hour
    /// buckets (whole hours: at most an hour off at each edge of a week, which cannot turn "traffic" into "none").
    /// </summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> NoDataAsync(ModelScope scope, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        if (scope.Production is null) return Nothing(ends.Length);
        var lookback = TimeSpan.FromDays(7);
        var log = await LogWindowsAsync(scope.Versions, window, ends, latency: false, cancellationToken);
        var from = Floor(ends.Min() - window - lookback);
        var to = ends.Max() - window;
        const string sql = """
            SELECT bucket_start, sum(rows)::bigint
            FROM monitoring_counts
            WHERE model_version_id = ANY(@versions) AND bucket = 'hour' AND column_name = ':score' AND bucket_start >= @from AND bucket_start < @to
            GROUP BY bucket_start
            """;
        List<(DateTime Start, long Rows)> hours;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            hours = [.. await connection.QueryAsync<(DateTime, long)>(new CommandDefinition(sql, new { versions = scope.Versions, from, to }, cancellationToken: cancellationToken))];
        }

        return [.. ends.Select((t, i) =>
        {
            var (start, end) = (Floor(t - window - lookback), Floor(t - window));
            var before = hours.Where(h => h.Start >= start && h.Start < end).Sum(h => h.Rows);
            var now = log[i].N;
            return now > 0 ? (0.0, before) : before > 0 ? (1.0, before) : ((double?)null, before);
        })];
    }

    private static DateTime Floor(DateTime t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc);

    /// <summary>Days from the model's latest feedback label (by arrival) to t; without any, days since its first prediction.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> FreshnessAsync(ModelScope scope, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        const string latest = """
            SELECT t.i::int,
                   (SELECT max(f.received_at) FROM prediction_feedback f JOIN predictions p ON p.id = f.prediction_id AND p.created_at = f.prediction_created_at
                    WHERE p.model_version_id = ANY(@versions) AND f.received_at <= t.e)
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            ORDER BY t.i
            """;
        const string first = "SELECT min(created_at) FROM predictions WHERE model_version_id = ANY(@versions)";
        List<(int I, DateTime? Last)> labels;
        DateTime? firstPrediction;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            labels = [.. await connection.QueryAsync<(int, DateTime?)>(new CommandDefinition(latest, new { ends, versions = scope.Versions }, cancellationToken: cancellationToken))];
            firstPrediction = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(first, new { versions = scope.Versions }, cancellationToken: cancellationToken));
        }

        var log = await LogWindowsAsync(scope.Versions, window, ends, latency: false, cancellationToken);
        return [.. ends.Select((t, i) =>
        {
            var since = labels[i].Last is { } last ? last : firstPrediction is { } f && f <= t ? f : (DateTime?)null;
            return (since is { } s ? (t - Utc(s)).TotalDays : (double?)null, log[i].N);
        })];
    }

    /// <summary>Jobs that finished failed in the window; the sample is every job that finished in it.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> JobFailuresAsync(TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT t.i::int, count(j.id) FILTER (WHERE j.status = 'failed'), count(j.id)
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            LEFT JOIN jobs j ON j.finished_at >= t.e - @window AND j.finished_at < t.e AND j.status IN ('succeeded', 'failed', 'cancelled')
            GROUP BY t.i ORDER BY t.i
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(int I, long Failed, long Finished)>(new CommandDefinition(sql, new { ends, window }, cancellationToken: cancellationToken));
        return [.. rows.OrderBy(r => r.I).Select(r => ((double?)r.Failed, r.Finished))];
    }

    /// <summary>5xx (503 included) over scoring requests, from the minutes <see cref="Scoring.ScoringRequestStats"/> wrote; the installation's for <c>*</c>.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> ErrorRateAsync(string model, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT t.i::int, coalesce(sum(s.requests), 0)::bigint, coalesce(sum(s.errors), 0)::bigint
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            LEFT JOIN scoring_requests s ON s.minute >= t.e - @window AND s.minute < t.e AND (@model = '*' OR lower(s.model) = lower(@model))
            GROUP BY t.i ORDER BY t.i
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(int I, long Requests, long Errors)>(
            new CommandDefinition(sql, new { ends, window, model = string.IsNullOrEmpty(model) ? AlertLabels.AllModels : model }, cancellationToken: cancellationToken));
        return [.. rows.OrderBy(r => r.I).Select(r => (r.Requests > 0 ? (double)r.Errors / r.Requests : (double?)null, r.Requests))];
    }
}

using Dapper;
using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Drift (the stored history), PSI and data quality of a column, unseen categories and refusals.</summary>
public sealed partial class AlertMetricReader
{
    /// <summary>Log rows a column reading outside whole hours reads at most; beyond it the readings are left undecided.</summary>
    public const int MaxLogRows = 200_000;

    private sealed record DriftReading(Guid ModelVersionId, DateTime WindowStart, double? Value, long Rows);

    /// <summary>
    /// The drift history as the recurring job stored it: the reading at t is the latest closed window (of the rule's size)
    /// that ended in [t − window, t], so an evaluation between two closed windows reads the last one and never a stale one.
    /// Of several versions serving that window, the one with most predictions.
    /// </summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> DriftHistoryAsync(ModelScope scope, string column, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var size = window == TimeSpan.FromHours(1) ? WindowSize.Hour : window == TimeSpan.FromDays(1) ? WindowSize.Day : null;
        if (size is null) return Nothing(ends.Length);
        const string sql = """
            SELECT model_version_id, window_start, value, rows FROM drift_results
            WHERE registered_model_id = @modelId AND window_size = @size AND column_name = @column AND window_start >= @from AND window_start <= @to
            """;
        List<DriftReading> rows;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            rows = [.. await connection.QueryAsync<DriftReading>(new CommandDefinition(sql,
                new { modelId = scope.Model.Id, size, column, from = ends.Min() - 2 * window, to = ends.Max() - window }, cancellationToken: cancellationToken))];
        }

        var byStart = rows.GroupBy(r => Utc(r.WindowStart)).OrderByDescending(g => g.Key).ToList();
        return [.. ends.Select(t =>
        {
            var latest = byStart.FirstOrDefault(g => g.Key + window <= t && g.Key + window >= t - window);
            if (latest is null) return ((double?)null, 0L);
            var top = latest.OrderByDescending(r => r.Rows).ThenByDescending(r => r.ModelVersionId).First();
            return (top.Value, top.Rows);
        })];
    }

    /// <summary>PSI or missing share of a column, for the version that served most of each window.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> ColumnMetricAsync(ModelScope scope, string kind, string column, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var counts = await ColumnCountsAsync(scope, column, window, ends, cancellationToken);
        return [.. counts.Select(c =>
        {
            if (c is not { } found) return ((double?)null, 0L);
            var (reference, current) = found;
            if (kind == AlertMetricKind.MissingShare) return (current.Rows > 0 ? (double)current.Missing / current.Rows : (double?)null, current.Rows);
            if (current.NonMissing == 0 || !reference.ByValue && reference.PsiEdges is null) return ((double?)null, current.NonMissing);
            // The drift table's bins: per value for categories (unseen ones as bins of their own), the reference's deciles for numbers.
            var (r, cur) = reference.ByValue ? DriftCalculator.CategoryBins(reference, current) : DriftCalculator.DecileBins(reference, current);
            return (DriftStatistics.Psi(r, cur), current.NonMissing);
        })];
    }

    /// <summary>Unseen categories: of one column, or of every input column; the sample is the window's predictions.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> UnseenAsync(ModelScope scope, string? column, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        if (column is not null)
        {
            var counts = await ColumnCountsAsync(scope, column, window, ends, cancellationToken);
            return [.. counts.Select(c => c is { } found ? ((double?)found.Current.Unseen, found.Current.Rows) : ((double?)null, 0L))];
        }

        if (!HourAligned(window, ends))
        {
            // The log keeps, per prediction, the category values training never saw (inputs only: the model reads nothing else).
            const string sql = """
                SELECT t.i::int, count(p.id), coalesce(sum(jsonb_array_length(p.unseen)), 0)::bigint
                FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
                LEFT JOIN predictions p ON p.model_version_id = ANY(@versions) AND p.created_at >= t.e - @window AND p.created_at < t.e
                GROUP BY t.i ORDER BY t.i
                """;
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var rows = await connection.QueryAsync<(int I, long Predictions, long Unseen)>(new CommandDefinition(sql, new { ends, versions = scope.Versions, window }, cancellationToken: cancellationToken));
            return [.. rows.OrderBy(r => r.I).Select(r => ((double?)r.Unseen, r.Predictions))];
        }

        var (from, to) = Range(window, ends);
        const string hourly = """
            SELECT model_version_id, bucket_start, column_name, rows, unseen FROM monitoring_counts
            WHERE model_version_id = ANY(@versions) AND bucket = 'hour' AND bucket_start >= @from AND bucket_start < @to AND (unseen > 0 OR column_name = ':score')
            """;
        List<(Guid Version, DateTime Start, string Column, long Rows, long Unseen)> buckets;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            buckets = [.. await connection.QueryAsync<(Guid, DateTime, string, long, long)>(new CommandDefinition(hourly, new { versions = scope.Versions, from, to }, cancellationToken: cancellationToken))];
        }

        var inputs = new Dictionary<Guid, HashSet<string>>();
        foreach (var version in buckets.Select(b => b.Version).Distinct())
        {
            var reference = await monitoringReferences.GetAsync(version, cancellationToken);
            inputs[version] = [.. (reference?.Columns ?? []).Where(c => c.Kind == ColumnKind.Input).Select(c => c.Name)];
        }

        return [.. ends.Select(t =>
        {
            var inWindow = buckets.Where(b => b.Start >= t - window && b.Start < t).ToList();
            var predictions = inWindow.Where(b => b.Column == MonitoredColumns.Score).Sum(b => b.Rows);
            var unseen = inWindow.Where(b => inputs[b.Version].Contains(b.Column)).Sum(b => b.Unseen);
            return ((double?)unseen, predictions);
        })];
    }

    /// <summary>Transactions the contract refused: the refusal buckets (whole hours) starting in the window; the sample is refused plus scored.</summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> RefusedAsync(ModelScope scope, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var (from, to) = Range(window, ends);
        const string sql = """
            SELECT bucket_start, sum(rows)::bigint FROM scoring_refusals
            WHERE model_version_id = ANY(@versions) AND bucket = 'hour' AND bucket_start >= @from AND bucket_start < @to
            GROUP BY bucket_start
            """;
        List<(DateTime Start, long Rows)> refusals;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            refusals = [.. await connection.QueryAsync<(DateTime, long)>(new CommandDefinition(sql, new { versions = scope.Versions, from, to }, cancellationToken: cancellationToken))];
        }

        var log = await LogWindowsAsync(scope.Versions, window, ends, latency: false, cancellationToken);
        return [.. ends.Select((t, i) =>
        {
            var refused = refusals.Where(r => r.Start >= t - window && r.Start < t).Sum(r => r.Rows);
            return ((double?)refused, refused + log[i].N);
        })];
    }

    /// <summary>
    /// A column's counts per window with the reference they were counted against, for the version with most values in it:
    /// summed hour buckets when the windows are whole hours, else the log's raw values counted the same way (up to
    /// <see cref="MaxLogRows"/> rows; beyond that, no reading).
    /// </summary>
    private async Task<IReadOnlyList<(Features.ColumnReference Reference, ColumnCounts Current)?>> ColumnCountsAsync(
        ModelScope scope, string column, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        var (from, to) = Range(window, ends);
        var references = new Dictionary<Guid, (Features.ColumnReference Reference, Dictionary<string, int>? Index)>();
        foreach (var version in scope.Versions)
        {
            if (await monitoringReferences.GetAsync(version, cancellationToken) is { } reference && reference.Find(column) is { } monitored)
            {
                var index = monitored.Reference.Categories?.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal);
                references[version] = (monitored.Reference, index);
            }
        }

        var result = new (Features.ColumnReference, ColumnCounts)?[ends.Length];
        if (references.Count == 0) return result;
        var versions = references.Keys.ToArray();

        if (HourAligned(window, ends))
        {
            const string sql = """
                SELECT model_version_id, bucket_start, column_name, rows, missing, counts, sums, unseen, unseen_values::text AS unseen_values, below, above, sum, min, max
                FROM monitoring_counts
                WHERE model_version_id = ANY(@versions) AND bucket = 'hour' AND column_name = @column AND bucket_start >= @from AND bucket_start < @to
                """;
            List<CountsRow> rows;
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                rows = [.. await connection.QueryAsync<CountsRow>(new CommandDefinition(sql, new { versions, column, from, to }, cancellationToken: cancellationToken))];
            }

            for (var i = 0; i < ends.Length; i++)
            {
                var t = ends[i];
                var top = rows.Where(r => r.BucketStart >= t - window && r.BucketStart < t).GroupBy(r => r.ModelVersionId)
                    .OrderByDescending(g => g.Sum(r => r.Rows)).ThenByDescending(g => g.Key).FirstOrDefault();
                if (top is null) continue;
                var reference = references[top.Key].Reference;
                var sum = new ColumnCounts(reference.BinCount);
                foreach (var row in top.Where(r => r.Counts.Length == reference.BinCount)) sum.Add(ColumnCounts.From(row));
                result[i] = (reference, sum);
            }

            return result;
        }

        const string raw = """
            SELECT created_at, model_version_id, input ->> @column FROM predictions
            WHERE model_version_id = ANY(@versions) AND created_at >= @from AND created_at < @to
            ORDER BY created_at LIMIT @limit
            """;
        List<(DateTime At, Guid Version, string? Value)> values;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            values = [.. await connection.QueryAsync<(DateTime, Guid, string?)>(new CommandDefinition(raw, new { column, versions, from, to, limit = MaxLogRows + 1 }, cancellationToken: cancellationToken))];
        }

        if (values.Count > MaxLogRows) return result;
        var times = values.Select(v => Utc(v.At)).ToArray();
        for (var i = 0; i < ends.Length; i++)
        {
            var (lo, hi) = (Lower(times, ends[i] - window), Lower(times, ends[i]));
            if (hi <= lo) continue;
            var top = values.Skip(lo).Take(hi - lo).GroupBy(v => v.Version).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First();
            var (reference, index) = references[top.Key];
            var sum = new ColumnCounts(reference.BinCount);
            foreach (var v in top) sum.Add(reference, v.Value, index);
            result[i] = (reference, sum);
        }

        return result;
    }

    /// <summary>The first index whose time is at or after <paramref name="t"/> in sorted <paramref name="times"/>.</summary>
    private static int Lower(DateTime[] times, DateTime t)
    {
        int lo = 0, hi = times.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (times[mid] < t) lo = mid + 1;
            else hi = mid;
        }

        return lo;
    }
}

using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Monitoring;

/// <summary>
/// Drift, data quality and distributions of a registered model's traffic for any range and window size, from the
/// buckets written with the log. Closed windows the recurring job decided are read from the drift history; the
/// rest (the window still open, week windows, a range never computed) are computed on demand from the same counts.
/// </summary>
public sealed class MonitoringService(
    RegistryStore registry, MonitoringStore store, MonitoringReferences references, NpgsqlDataSource dataSource, IOptions<MonitoringOptions> options, TimeProvider time)
{
    public async Task<DriftReport?> DriftAsync(string model, MonitoringRange range, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var config = await store.ConfigAsync(registered.Id, cancellationToken);
        var computed = await ComputeAsync(registered.Id, range, config, cancellationToken);
        var stored = range.Window == WindowSize.Week ? [] : await store.ResultsAsync(registered.Id, range.Window, range.From, range.To, cancellationToken);
        var byWindow = stored.ToLookup(r => (r.WindowStart, r.ModelVersionId));
        var windows = computed.Select(w => w.VersionId is { } v && byWindow[(w.Start, v)].ToList() is { Count: > 0 } rows ? FromHistory(w, rows) : w).ToList();
        return new DriftReport(registered.Name, range, windows, await store.LastComputedAsync(registered.Id, cancellationToken));
    }

    public async Task<QualityReport?> QualityAsync(string model, MonitoringRange range, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var bucket = BucketFor(range.Window);
        var traffic = await store.TrafficAsync(registered.Id, bucket, range.From, range.To, cancellationToken);
        var versions = traffic.Select(t => t.Version).Distinct().ToList();
        var counts = await store.CountsAsync(versions, bucket, range.From, range.To, cancellationToken);
        var refusals = await store.RefusalsAsync(versions, bucket, range.From, range.To, cancellationToken);
        var windows = new List<QualityWindow>();
        foreach (var start in range.WindowStarts())
        {
            var end = start + WindowSize.Of(range.Window);
            var top = TopVersion(traffic, start, end);
            var predictions = traffic.Where(t => t.Start >= start && t.Start < end).Sum(t => t.Predictions);
            var refused = refusals.Where(r => r.Start >= start && r.Start < end).ToList();
            var fields = refused.SelectMany(r => JsonSerializer.Deserialize<Dictionary<string, long>>(r.Fields)!)
                .GroupBy(kv => kv.Key).Select(g => new ValueCount(g.Key, g.Sum(kv => kv.Value))).OrderByDescending(v => v.Count).ThenBy(v => v.Value, StringComparer.Ordinal).ToList();
            var columns = new List<ColumnQuality>();
            if (top is { } v && await references.GetAsync(v, cancellationToken) is { Columns: not null } reference)
            {
                var summed = Sum(reference, counts.Where(c => c.ModelVersionId == v && c.BucketStart >= start && c.BucketStart < end));
                columns.AddRange(reference.Columns.Select(c => DriftCalculator.Quality(c, summed[c.Name])));
            }

            windows.Add(new QualityWindow(start, end, predictions, refused.Sum(r => r.Rows), fields, columns));
        }

        return new QualityReport(registered.Name, range, windows);
    }

    /// <summary>A column's reference and current distributions over [from, to), for the version that served most of it.</summary>
    public async Task<ColumnDistribution?> DistributionAsync(string model, string column, DateTime from, DateTime to, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var bucket = IsWholeDays(from, to) ? MonitoringStore.Day : MonitoringStore.Hour;
        var traffic = await store.TrafficAsync(registered.Id, bucket, from, to, cancellationToken);
        var version = TopVersion(traffic, from, to) ?? (await registry.GetProductionAsync(registered.Name, cancellationToken))?.Id;
        if (version is not { } v || await references.GetAsync(v, cancellationToken) is not { } reference || reference.Find(column) is not { } monitored) return null;
        var counts = await store.CountsAsync([v], bucket, from, to, cancellationToken);
        var summed = Sum(reference, counts.Where(c => c.ColumnName == column));
        return DriftCalculator.Distribution(monitored, summed[column]);
    }

    /// <summary>The columns a model's monitoring follows (its production version's, else its newest version's), for the configuration.</summary>
    public async Task<VersionReference?> ReferenceAsync(string model, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var version = await registry.GetProductionAsync(registered.Name, cancellationToken)
            ?? (await registry.ListVersionsAsync(registered.Id, cancellationToken)).FirstOrDefault();
        return version is null ? null : await references.GetAsync(version.Id, cancellationToken);
    }

    public async Task<MonitoringConfig?> ConfigAsync(string model, CancellationToken cancellationToken = default) =>
        await registry.GetModelAsync(model, cancellationToken) is { } registered ? await store.ConfigAsync(registered.Id, cancellationToken) : null;

    /// <summary>Validates and stores a model's configuration (audited); the problems, naming their fields, when it is refused.</summary>
    public async Task<IReadOnlyList<(string Field, string Message)>?> SaveConfigAsync(string model, MonitoringConfig config, string actor, CancellationToken cancellationToken = default)
    {
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var reference = await ReferenceAsync(registered.Name, cancellationToken);
        var columns = reference?.All.ToDictionary(c => c.Name, c => c.Reference.IsNumeric) ?? [];
        var issues = config.Validate(columns);
        if (issues.Count > 0) return issues;
        await store.SaveConfigAsync(registered.Id, registered.Name, config, actor, cancellationToken);
        return [];
    }

    /// <summary>Every model with a production version: traffic, drift and data quality over the last 24 hours.</summary>
    public async Task<IReadOnlyList<ModelHealth>> HealthAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var from = WindowSize.Start(WindowSize.Hour, now) - TimeSpan.FromHours(23);
        var to = from + TimeSpan.FromHours(24);
        var result = new List<ModelHealth>();
        foreach (var model in await registry.ListModelsAsync(cancellationToken))
        {
            if (model.ProductionVersion is null) continue;
            var config = await store.ConfigAsync(model.Id, cancellationToken);
            var windows = await ComputeWindowsAsync(model.Id, MonitoringStore.Hour, [(from, to)], config, cancellationToken);
            var window = windows[0];
            var quality = 0;
            if (window.VersionId is { } v && await references.GetAsync(v, cancellationToken) is { Columns: not null } reference)
            {
                var counts = await store.CountsAsync([v], MonitoringStore.Hour, from, to, cancellationToken);
                var summed = Sum(reference, counts);
                quality = reference.Columns.Count(c => DriftCalculator.Quality(c, summed[c.Name]).HasProblem);
                quality += (await store.RefusalsAsync([v], MonitoringStore.Hour, from, to, cancellationToken)).Sum(r => r.Rows) > 0 ? 1 : 0;
            }

            var inputs = window.Inputs.Where(c => c.Status == DriftStatus.Tested).ToList();
            result.Add(new ModelHealth(model.Name, model.ProductionVersion, window.Predictions, inputs.Count(c => c.Drifted == true), inputs.Count,
                window.DatasetDrift, window.Column(MonitoredColumns.Score)?.Drifted, quality, await store.LastComputedAsync(model.Id, cancellationToken)));
        }

        return result;
    }

    /// <summary>Every window of the range computed from the counts (for the version that served most of each).</summary>
    public Task<IReadOnlyList<DriftWindow>> ComputeAsync(Guid modelId, MonitoringRange range, MonitoringConfig config, CancellationToken cancellationToken) =>
        ComputeWindowsAsync(modelId, BucketFor(range.Window), [.. range.WindowStarts().Select(s => (s, s + WindowSize.Of(range.Window)))], config, cancellationToken);

    /// <summary>The drift of one version in one window, from the counts: what the recurring job stores for each version with traffic.</summary>
    public async Task<DriftWindow?> ComputeVersionAsync(Guid versionId, string window, DateTime start, MonitoringConfig config, CancellationToken cancellationToken)
    {
        var end = start + WindowSize.Of(window);
        if (await references.GetAsync(versionId, cancellationToken) is not { } reference) return null;
        var counts = await store.CountsAsync([versionId], BucketFor(window), start, end, cancellationToken);
        var predictions = counts.Where(c => c.ColumnName == MonitoredColumns.Score).Sum(c => c.Rows);
        return await WindowAsync(reference, Sum(reference, counts), predictions, start, end, config, cancellationToken);
    }

    private async Task<IReadOnlyList<DriftWindow>> ComputeWindowsAsync(Guid modelId, string bucket, IReadOnlyList<(DateTime Start, DateTime End)> windows, MonitoringConfig config, CancellationToken cancellationToken)
    {
        if (windows.Count == 0) return [];
        var (from, to) = (windows[0].Start, windows[^1].End);
        var traffic = await store.TrafficAsync(modelId, bucket, from, to, cancellationToken);
        var tops = windows.Select(w => TopVersion(traffic, w.Start, w.End)).ToList();
        var versions = tops.OfType<Guid>().Distinct().ToList();
        var counts = (await store.CountsAsync(versions, bucket, from, to, cancellationToken)).ToLookup(c => c.ModelVersionId);
        var result = new List<DriftWindow>(windows.Count);
        for (var i = 0; i < windows.Count; i++)
        {
            var (start, end) = windows[i];
            var predictions = traffic.Where(t => t.Start >= start && t.Start < end).Sum(t => t.Predictions);
            if (tops[i] is not { } v || await references.GetAsync(v, cancellationToken) is not { } reference)
            {
                result.Add(new DriftWindow(start, end, null, null, predictions, [], 0, config.DriftShare, false, false, null));
                continue;
            }

            var summed = Sum(reference, counts[v].Where(c => c.BucketStart >= start && c.BucketStart < end));
            result.Add((await WindowAsync(reference, summed, predictions, start, end, config, cancellationToken)));
        }

        return result;
    }

    private async Task<DriftWindow> WindowAsync(
        VersionReference reference, Dictionary<string, ColumnCounts> summed, long predictions, DateTime start, DateTime end, MonitoringConfig config, CancellationToken cancellationToken)
    {
        var columns = new List<ColumnDrift>();
        foreach (var column in reference.All)
        {
            var current = summed[column.Name];
            var settings = config.For(column.Name);
            IReadOnlyList<double>? raw = null;
            if (DriftCalculator.MethodFor(column.Reference, current, settings) == DriftMethod.KolmogorovSmirnov && column.Reference.Values is not null && current.NonMissing > 0 && column.SchemaIndex >= 0)
            {
                raw = await RawSampleAsync(reference.VersionId, column.Name, start, end, current.Rows, cancellationToken);
            }

            columns.Add(DriftCalculator.Drift(column, current, settings, raw));
        }

        // Inputs first, each kind sorted by how far past its threshold it is; the score and the decision on top.
        columns = [.. columns.OrderBy(c => c.Kind switch { ColumnKind.Score => 0, ColumnKind.Decision => 1, ColumnKind.Input => 2, ColumnKind.Protected => 3, _ => 4 })
            .ThenByDescending(c => c.Severity)];
        var tested = columns.Where(c => c.Kind == ColumnKind.Input && c.Status == DriftStatus.Tested).ToList();
        var drifted = tested.Count(c => c.Drifted == true);
        var share = tested.Count == 0 ? 0 : (double)drifted / tested.Count;
        var score = reference.Score is null ? null : summed[MonitoredColumns.Score];
        var decision = reference.Decision is null ? null : summed[MonitoredColumns.Decision];
        return new DriftWindow(start, end, reference.VersionId, reference.Version, predictions, columns, share, config.DriftShare,
            DriftMethod.IsDatasetDrift(drifted, tested.Count, config.DriftShare), false, null,
            decision is { NonMissing: > 0 } ? decision.Sum / decision.NonMissing : null,
            reference.Decision is { } d ? Share(d, "true") : null,
            score is { NonMissing: > 0 } ? score.Sum / score.NonMissing : null,
            reference.Score?.Reference.Mean);
    }

    private static double? Share(MonitoredColumn column, string value)
    {
        var reference = column.Reference;
        var i = reference.Categories!.ToList().IndexOf(value);
        return reference.NonMissing == 0 ? null : i < 0 ? 0 : (double)reference.CategoryCounts![i] / reference.NonMissing;
    }

    /// <summary>A uniform sample of a column's raw values in a window, read from the log: for KS against a small reference.</summary>
    private async Task<IReadOnlyList<double>> RawSampleAsync(Guid versionId, string column, DateTime from, DateTime to, long rows, CancellationToken cancellationToken)
    {
        var size = options.Value.RawSampleSize;
        const string sql = """
            SELECT input ->> @column FROM predictions
            WHERE model_version_id = @versionId AND created_at >= @from AND created_at < @to AND (@fraction >= 1 OR random() < @fraction)
            LIMIT @size
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var fraction = rows <= size ? 1.0 : size * 1.1 / rows; // a little over, so the limit rather than chance sets the size
        var values = await connection.QueryAsync<string?>(new CommandDefinition(sql, new { column, versionId, from, to, fraction, size }, cancellationToken: cancellationToken));
        return [.. values.Select(Features.ColumnReference.Number).OfType<double>()];
    }

    private static DriftWindow FromHistory(DriftWindow computed, IReadOnlyList<DriftResultRow> rows)
    {
        var byColumn = rows.ToDictionary(r => r.ColumnName);
        var columns = computed.Columns.Select(c => byColumn.TryGetValue(c.Column, out var r)
            ? c with { Method = r.Method, Value = r.Value, Threshold = r.Threshold, Drifted = r.Drifted, Status = r.Status, Rows = r.Rows, Missing = r.Missing, Unseen = r.Unseen, OutOfRange = r.OutOfRange }
            : c).ToList();
        var dataset = byColumn.GetValueOrDefault(MonitoredColumns.Dataset);
        return computed with
        {
            Columns = columns,
            DriftShare = dataset?.Value ?? computed.DriftShare,
            DriftShareThreshold = dataset?.Threshold ?? computed.DriftShareThreshold,
            DatasetDrift = dataset?.Drifted ?? computed.DatasetDrift,
            Stored = true,
            ComputedAt = rows.Max(r => r.ComputedAt),
        };
    }

    /// <summary>The rows the recurring job stores for a computed window: one per column and one for the dataset.</summary>
    public static IReadOnlyList<DriftResultRow> ToRows(DriftWindow window, string size, DateTime computedAt)
    {
        var rows = window.Columns.Select(c => new DriftResultRow(window.VersionId!.Value, size, window.Start, c.Column, c.Kind, c.Type, c.Method, c.Value, c.Threshold,
            c.Drifted, c.Status, c.Rows, c.ReferenceRows, c.Missing, c.Unseen, c.OutOfRange, computedAt)).ToList();
        var tested = window.Inputs.Count(c => c.Status == DriftStatus.Tested);
        rows.Add(new DriftResultRow(window.VersionId!.Value, size, window.Start, MonitoredColumns.Dataset, "dataset", "share", "share", tested == 0 ? null : window.DriftShare,
            window.DriftShareThreshold, tested == 0 ? null : window.DatasetDrift, tested == 0 ? DriftStatus.NoData : DriftStatus.Tested, window.Predictions, 0, 0, 0, 0, computedAt));
        return rows;
    }

    private static Dictionary<string, ColumnCounts> Sum(VersionReference reference, IEnumerable<CountsRow> rows)
    {
        var summed = reference.All.ToDictionary(c => c.Name, c => new ColumnCounts(c.Reference.BinCount), StringComparer.Ordinal);
        foreach (var row in rows)
        {
            // A row whose bins do not match the reference (never expected: references are immutable) is left out rather than misread.
            if (summed.TryGetValue(row.ColumnName, out var sum) && sum.Counts.Length == row.Counts.Length) sum.Add(ColumnCounts.From(row));
        }

        return summed;
    }

    private static Guid? TopVersion(IReadOnlyList<(Guid Version, DateTime Start, long Predictions)> traffic, DateTime start, DateTime end) =>
        traffic.Where(t => t.Start >= start && t.Start < end).GroupBy(t => t.Version).Select(g => (g.Key, Rows: g.Sum(t => t.Predictions)))
            .OrderByDescending(g => g.Rows).ThenByDescending(g => g.Key).Select(g => (Guid?)g.Key).FirstOrDefault();

    private static string BucketFor(string window) => window == WindowSize.Hour ? MonitoringStore.Hour : MonitoringStore.Day;

    private static bool IsWholeDays(DateTime from, DateTime to) => from.TimeOfDay == TimeSpan.Zero && to.TimeOfDay == TimeSpan.Zero;
}

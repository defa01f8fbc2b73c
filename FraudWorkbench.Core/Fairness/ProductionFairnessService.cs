using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Fairness;

/// <summary>A version that served part of a range, and how many predictions it made there.</summary>
public sealed record VersionTraffic(int Version, long Predictions);

/// <summary>Production fairness of a model over a range: the versions that served it, and the report of the one asked for (the busiest by default).</summary>
public sealed record ProductionFairnessRange(string Model, DateOnly From, DateOnly To, IReadOnlyList<VersionTraffic> Versions, ProductionFairnessReport? Report);

/// <summary>One day of the disparity series: the grouping's realized disparities (with intervals) and the estimated ones.</summary>
public sealed record FairnessSeriesPoint(
    DateOnly Day, int Version, long Predictions, int Sampled, double Maturity, bool Mature, bool? FourFifths,
    IReadOnlyList<Disparity> Realized, IReadOnlyList<Disparity> Estimated, DateTime ComputedAt);

/// <summary>The disparities of one grouping per stored day window (one point per version serving that day).</summary>
public sealed record FairnessSeries(string Model, DateOnly From, DateOnly To, string? Grouping, IReadOnlyList<string> Groupings, IReadOnlyList<FairnessSeriesPoint> Points);

/// <summary>
/// Fairness of a model's production traffic: any range on demand, and the daily windows the monitoring job keeps (the
/// closed day, and recent days whose labels changed or whose label window has just passed).
/// </summary>
public sealed class ProductionFairnessService(
    RegistryStore registry, TrainingRunStore runs, FeatureSetStore featureSets, PerformanceService performance, ProductionFairnessStore store,
    IOptions<FairnessOptions> options, IOptions<FairnessProductionOptions> production, TimeProvider time, ILogger<ProductionFairnessService> logger)
{
    /// <summary>The schema (protected columns, bands) and threshold a version was trained with; immutable, so cached for good.</summary>
    private sealed record VersionFacts(ModelVersion Version, DatasetSchema Schema, double Threshold);

    private readonly VersionCache<VersionFacts?> facts = new();

    /// <summary>Production fairness of <paramref name="model"/> over the UTC days [<paramref name="from"/>, <paramref name="to"/>]; null when there is no such model.</summary>
    /// <param name="version">The version to report (default: the one with most predictions in the range).</param>
    /// <param name="grouping">Compute only this grouping (a protected column or a crossing, as the report names it).</param>
    /// <exception cref="ArgumentOutOfRangeException">A backwards or too long range (named by ParamName).</exception>
    public async Task<ProductionFairnessRange?> RangeAsync(string model, DateOnly from, DateOnly to, int? version = null, string? grouping = null, CancellationToken cancellationToken = default)
    {
        var limits = production.Value;
        if (to < from) throw new ArgumentOutOfRangeException(nameof(to), "The last day must not be before the first.");
        if (to.DayNumber - from.DayNumber + 1 > limits.MaxRangeDays) throw new ArgumentOutOfRangeException(nameof(to), $"A range covers at most {limits.MaxRangeDays} days.");
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var traffic = (await store.TrafficAsync(from, to, cancellationToken)).Where(t => t.ModelId == registered.Id).ToList();
        var versions = (await registry.ListVersionsAsync(registered.Id, cancellationToken)).ToDictionary(v => v.Id);
        var served = traffic.GroupBy(t => t.VersionId).Where(g => versions.ContainsKey(g.Key))
            .Select(g => (Version: versions[g.Key], Predictions: g.Sum(t => t.Predictions))).OrderByDescending(v => v.Predictions).ThenByDescending(v => v.Version.Version).ToList();
        ModelVersion? chosen;
        if (version is { } number)
        {
            chosen = versions.Values.FirstOrDefault(v => v.Version == number) ?? throw new ArgumentOutOfRangeException(nameof(version), $"{registered.Name} has no version {number}.");
        }
        else
        {
            // No traffic yet: the production version, so the page can still say what it would group by.
            chosen = served.Count > 0 ? served[0].Version : versions.Values.Where(v => v.Stage == ModelStage.Production).MaxBy(v => v.Version);
        }

        var listed = served.Select(s => new VersionTraffic(s.Version.Version, s.Predictions)).OrderBy(v => v.Version).ToList();
        if (chosen is null) return new ProductionFairnessRange(registered.Name, from, to, listed, null);
        var (maturity, window) = await MaturityAsync(registered.Name, from, to, cancellationToken);
        var report = await ComputeAsync(chosen, from, to, maturity, window, limits.MaxRowsPerRange, grouping, cancellationToken);
        return new ProductionFairnessRange(registered.Name, from, to, listed, report);
    }

    /// <summary>Each day's label maturity as performance monitoring computes it (the learned label-arrival curve, the model's label window).</summary>
    private async Task<(IReadOnlyDictionary<DateOnly, (double Maturity, bool Mature)> Days, int Window)> MaturityAsync(
        string model, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var report = await performance.ReportAsync(model, from, to, CohortSize.Day, cancellationToken);
        if (report is null) return (new Dictionary<DateOnly, (double, bool)>(), PerformanceConfig.Default.LabelWindowDays);
        return (report.Cohorts.ToDictionary(c => c.Start, c => (c.Maturity, c.Mature)), report.Config.LabelWindowDays);
    }

    /// <summary>One version's production fairness over [<paramref name="from"/>, <paramref name="to"/>]; null when its training facts cannot be read.</summary>
    private async Task<ProductionFairnessReport?> ComputeAsync(
        ModelVersion version, DateOnly from, DateOnly to, IReadOnlyDictionary<DateOnly, (double Maturity, bool Mature)> maturity, int window, int cap, string? only,
        CancellationToken cancellationToken)
    {
        if (await facts.GetAsync(version.Id, LoadAsync, cancellationToken) is not { } known) return null;
        var (schema, threshold) = (known.Schema, known.Threshold);
        var columns = FairnessAnalysis.ProtectedColumns(schema);
        var settings = options.Value.Settings;
        var now = time.GetUtcNow().UtcDateTime;
        var rangeMature = Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).All(d => maturity.TryGetValue(from.AddDays(d), out var m) && m.Mature);
        if (columns.Count == 0)
            return new ProductionFairnessReport(version.ModelName, version.Id, version.Version, from, to, 0, 0, 0, 0, 0, rangeMature, window, threshold, [], [], settings, [], now);

        var (total, rows) = await store.ReadAsync(version.Id, from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), to.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            [.. columns.Select(c => c.Name)], cap, production.Value.SampleSeed, cancellationToken);
        // Cells in the schema's order, protected columns filled in, as the holdout's rows are.
        var indexes = columns.Select(c => schema.IndexOf(c.Name)).ToArray();
        var cells = rows.Select(r =>
        {
            var row = new string?[schema.Columns.Count];
            for (var c = 0; c < indexes.Length; c++) row[indexes[c]] = r.Cells[c];
            return row;
        }).ToList();
        var labels = rows.Select(r => r.Label == true).ToArray();
        var scores = rows.Select(r => r.Probability).ToArray();
        var rowMaturity = rows.Select(r => maturity.TryGetValue(DateOnly.FromDateTime(r.CreatedAt), out var m) ? (m.Mature ? 1 : m.Maturity) : 0).ToArray();
        var expected = rows.Select((r, i) => ProductionFairness.ExpectedFraud(r.Label, r.Probability, rowMaturity[i])).ToArray();
        var weight = scores.Sum();
        var meanMaturity = rangeMature ? 1 : weight > 0 ? scores.Select((p, i) => p * rowMaturity[i]).Sum() / weight : rowMaturity.DefaultIfEmpty(0).Average();
        var coverage = columns.Select((c, k) => new ColumnCoverage(c.Name, rows.LongCount(r => r.Cells[k] is not null), rows.LongCount(r => r.Cells[k] is null))).ToList();

        var all = FairnessAnalysis.Groupings(schema, cells);
        if (only is not null && all.All(g => g.Name != only))
            throw new ArgumentOutOfRangeException("grouping", $"No grouping '{only}': use a protected column ({string.Join(", ", columns.Select(c => c.Name))}) or two or three of them joined by \"{FairnessGroups.Separator}\", as the report names them.");
        var groupings = new List<ProductionGrouping>();
        if (rows.Count > 0)
        {
            foreach (var grouping in all.Where(g => only is null || g.Name == only))
            {
                cancellationToken.ThrowIfCancellationRequested();
                groupings.Add(ProductionFairness.Evaluate(grouping, labels, scores, expected, threshold, settings, options.Value.MaxParallelism));
            }
        }

        return new ProductionFairnessReport(version.ModelName, version.Id, version.Version, from, to, total, rows.Count, rows.LongCount(r => r.Label is not null),
            rows.LongCount(r => r.Label == true), meanMaturity, rangeMature, window, threshold, columns, coverage, settings, groupings, now);
    }

    private async Task<VersionFacts?> LoadAsync(Guid versionId)
    {
        var version = await registry.GetVersionAsync(versionId, CancellationToken.None);
        if (version is null) return null;
        var run = await runs.GetAsync(version.RunId, CancellationToken.None);
        if (run?.Result is not { } result) return null;
        var featureSet = await featureSets.GetVersionAsync(run.FeatureSetVersionId, CancellationToken.None);
        return featureSet is null ? null : new VersionFacts(version, featureSet.Fitted.Schema, result.Threshold.Threshold);
    }

    /// <summary>
    /// The daily windows after <paramref name="closed"/> has ended: that day for every version with traffic, and each
    /// earlier day (up to <see cref="FairnessProductionOptions.RecomputeDays"/> back) never computed, whose labels changed
    /// since, or whose label window has passed since. Idempotent: a second run finds nothing changed and computes nothing.
    /// </summary>
    /// <returns>How many windows it computed.</returns>
    public async Task<int> UpdateWindowsAsync(DateOnly closed, CancellationToken cancellationToken = default)
    {
        var since = closed.AddDays(-production.Value.RecomputeDays);
        var traffic = await store.TrafficAsync(since, closed, cancellationToken);
        if (traffic.Count == 0) return 0;
        var labels = await store.LabelsAsync(since, closed, cancellationToken);
        var states = await store.StatesAsync(since, closed, cancellationToken);
        var computed = 0;
        foreach (var model in traffic.GroupBy(t => (t.ModelId, t.Model)))
        {
            var (maturity, window) = await MaturityAsync(model.Key.Model, model.Min(t => t.Day), closed, cancellationToken);
            var changed = false;
            foreach (var day in model)
            {
                var (count, fraud, last) = labels.GetValueOrDefault((day.VersionId, day.Day));
                var mature = maturity.TryGetValue(day.Day, out var m) && m.Mature;
                var now = new FairnessWindowState(day.VersionId, day.Day, count, fraud, last, mature);
                if (states.TryGetValue((day.VersionId, day.Day), out var stored) && stored == now) continue;
                if (await registry.GetVersionAsync(day.VersionId, cancellationToken) is not { } version) continue;
                try
                {
                    var report = await ComputeAsync(version, day.Day, day.Day, maturity, window, production.Value.MaxRowsPerWindow, null, cancellationToken);
                    if (report is null)
                    {
                        logger.LogWarning("Production fairness cannot read the training facts of model version {Version}; its day {Day} is not computed", day.VersionId, day.Day);
                        continue;
                    }

                    await store.SaveAsync(model.Key.ModelId, report, now, cancellationToken);
                    (computed, changed) = (computed + 1, true);
                }
                catch (Exception ex) when (ex is not OperationCanceledException && ex is not Npgsql.NpgsqlException)
                {
                    // One window that cannot be computed must not stop every other model's, nor fail the drift job it runs in;
                    // it is tried again on the next run. A database fault still fails the job, which retries it whole.
                    logger.LogWarning(ex, "Production fairness of model version {Version} on {Day} could not be computed; the next run tries again", day.VersionId, day.Day);
                }
            }

            if (changed) await store.PublishAsync(model.Key.Model);
        }

        return computed;
    }

    /// <summary>The stored day windows' disparities for one grouping over [<paramref name="from"/>, <paramref name="to"/>]; null when there is no such model.</summary>
    public async Task<FairnessSeries?> SeriesAsync(string model, DateOnly from, DateOnly to, string? grouping = null, CancellationToken cancellationToken = default)
    {
        if (to < from) throw new ArgumentOutOfRangeException(nameof(to), "The last day must not be before the first.");
        if (to.DayNumber - from.DayNumber + 1 > PerformanceService.MaxRangeDays) throw new ArgumentOutOfRangeException(nameof(to), $"A series covers at most {PerformanceService.MaxRangeDays} days.");
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var names = await store.GroupingNamesAsync(registered.Id, from, to, cancellationToken);
        if (grouping is not null && names.Count > 0 && !names.Contains(grouping))
            throw new ArgumentOutOfRangeException(nameof(grouping), $"No grouping '{grouping}' in the stored windows: one of {string.Join(", ", names)}.");
        var windows = await store.WindowsAsync(registered.Id, from, to, grouping ?? names.FirstOrDefault(), cancellationToken);
        var points = windows.Where(w => w.Grouping is not null).Select(w => new FairnessSeriesPoint(w.Day, w.Version, w.Predictions, w.Sampled, w.Maturity, w.Mature,
            w.Grouping!.Realized.FourFifths, w.Grouping.Realized.Disparities, w.Grouping.Estimated.Disparities, w.ComputedAt)).ToList();
        return new FairnessSeries(registered.Name, from, to, grouping ?? names.FirstOrDefault(), names, points);
    }
}

/// <summary>The recurring monitoring job's fairness step: after each closed UTC day, that day's windows and the recent ones whose labels changed.</summary>
public sealed class FairnessMonitoringStep(ProductionFairnessService fairness) : IMonitoringWindowStep
{
    public async Task<object?> RunAsync(string size, DateTime start, CancellationToken cancellationToken)
    {
        if (size != WindowSize.Day) return null;
        var windows = await fairness.UpdateWindowsAsync(DateOnly.FromDateTime(start), cancellationToken);
        return new { step = "fairness", windows };
    }
}

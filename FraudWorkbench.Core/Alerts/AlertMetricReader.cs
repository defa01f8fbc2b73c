using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Where the evaluator and the backtest read metrics. The seam lets the lifecycle be tested against scripted readings
/// under a fake clock; production uses <see cref="AlertMetricReader"/>.
/// </summary>
public interface IAlertMetricSource
{
    /// <summary>One reading per time in <paramref name="times"/>, each over [t − <paramref name="window"/>, t), in the same order.</summary>
    Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken);

    /// <summary>The metric's own reference band for the model's production version (CBPE thresholds for estimated performance); null when it has none.</summary>
    Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken);

    /// <summary>The models a rule without a model covers: those with a production version (for global metrics: just <c>*</c>).</summary>
    Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken);
}

/// <summary>
/// Reads any alertable metric of a model as readings over windows. Every series is read in one or a few queries
/// whatever the number of times (the backtest asks for up to ~2,000): from the hour buckets monitoring writes with the
/// log when the window is whole, aligned hours, from the prediction log itself otherwise, and from the drift history,
/// the performance day rows, the stored fairness windows, the jobs, the scoring request counts and the audit log for the rest.
/// </summary>
public sealed partial class AlertMetricReader(
    NpgsqlDataSource dataSource, RegistryStore registry, MonitoringReferences monitoringReferences, PerformanceStore performanceStore,
    PerformanceReferences performanceReferences, ProductionFairnessStore fairnessStore, ProductionFairnessService fairness) : IAlertMetricSource
{
    /// <summary>A model that exists, with every version it ever had (a window may span a promotion).</summary>
    private sealed record ModelScope(RegisteredModel Model, Guid[] Versions, ModelVersion? Production);

    /// <summary>One reading per time in <paramref name="times"/>, each over [t − <paramref name="window"/>, t), in the same order.</summary>
    public async Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(times);
        if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), window, "A window is a positive duration.");
        if (times.Count == 0) return [];
        var ends = times.Select(Utc).ToArray();
        var info = AlertMetricKind.Find(metric.Kind) ?? throw new ArgumentOutOfRangeException(nameof(metric), metric.Kind, "Not an alertable metric.");
        // A column's distribution over whole hours is read at the last whole hour: live evaluations run at any second, and
        // off the hour the raw log (capped, slow on a busy model) would be read instead of the hour buckets. A column's
        // shape moves by hours; the reading lags by less than one.
        if (metric.Kind is AlertMetricKind.Psi or AlertMetricKind.MissingShare or AlertMetricKind.Unseen && window.Ticks % TimeSpan.TicksPerHour == 0)
            ends = [.. ends.Select(t => new DateTime(t.Ticks - t.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc))];
        IReadOnlyList<(double? Value, long Sample)> readings;
        if (info.Global)
        {
            readings = metric.Kind switch
            {
                AlertMetricKind.ErrorRate => await ErrorRateAsync(model, window, ends, cancellationToken),
                // A spec without its action (validation refuses it) reads as no data, as the model metrics' below.
                AlertMetricKind.AuditEvents => string.IsNullOrWhiteSpace(metric.Metric) ? Nothing(ends.Length)
                    : await AuditEventsAsync(model, metric.Metric, window, ends, cancellationToken),
                _ => await JobFailuresAsync(window, ends, cancellationToken),
            };
        }
        else
        {
            // A spec missing what its kind needs (validation refuses it) reads as no data rather than failing the evaluation.
            var incomplete = info.Column && string.IsNullOrEmpty(metric.Column) || info.Performance && metric.Metric is null || info.Fairness && metric.Disparity is null;
            if (incomplete || await ScopeAsync(model, cancellationToken) is not { } scope) return [.. times.Select(t => new MetricPoint(t, null, 0))];
            readings = metric.Kind switch
            {
                AlertMetricKind.Volume or AlertMetricKind.FlagRate or AlertMetricKind.MeanScore => await TrafficAsync(scope, metric.Kind, window, ends, cancellationToken),
                AlertMetricKind.LatencyP99 => await LatencyAsync(scope, window, ends, cancellationToken),
                AlertMetricKind.NoData => await NoDataAsync(scope, window, ends, cancellationToken),
                AlertMetricKind.LabelFreshness => await FreshnessAsync(scope, window, ends, cancellationToken),
                AlertMetricKind.DriftShare => await DriftHistoryAsync(scope, MonitoredColumns.Dataset, window, ends, cancellationToken),
                AlertMetricKind.DriftScore => await DriftHistoryAsync(scope, metric.Column!, window, ends, cancellationToken),
                AlertMetricKind.Psi or AlertMetricKind.MissingShare => await ColumnMetricAsync(scope, metric.Kind, metric.Column!, window, ends, cancellationToken),
                AlertMetricKind.Unseen => await UnseenAsync(scope, metric.Column, window, ends, cancellationToken),
                AlertMetricKind.Refused => await RefusedAsync(scope, window, ends, cancellationToken),
                AlertMetricKind.Realized or AlertMetricKind.Estimated => await PerformanceAsync(scope, metric.Kind == AlertMetricKind.Realized, metric.Metric!, window, ends, cancellationToken),
                AlertMetricKind.Disparity => await DisparityAsync(scope, metric.Disparity!, metric.Grouping, window, ends, cancellationToken),
                _ => [.. ends.Select(_ => ((double?)null, 0L))],
            };
        }

        return [.. times.Select((t, i) => new MetricPoint(t, readings[i].Value is { } v && double.IsFinite(v) ? v : null, readings[i].Sample))];
    }

    /// <summary>The metric's own reference band for the model's production version (CBPE thresholds for estimated performance); null when it has none.</summary>
    public async Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (metric.Kind is not (AlertMetricKind.Estimated or AlertMetricKind.Realized) || metric.Metric is null) return null;
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        if (await registry.GetProductionAsync(registered.Name, cancellationToken) is not { } production) return null;
        var reference = (await performanceReferences.GetAsync(production.Id, cancellationToken))?.Cbpe?.Metrics.FirstOrDefault(m => m.Metric == metric.Metric);
        return reference is null || reference.Lower is null && reference.Upper is null ? null : new MetricBand(reference.Lower, reference.Upper);
    }

    /// <summary>The models a rule without a model covers: those with a production version (for global metrics: just <c>*</c>).</summary>
    public async Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (AlertMetricKind.Find(metric.Kind) is { Global: true }) return [AlertLabels.AllModels];
        var production = await registry.ListProductionAsync(cancellationToken);
        return [.. production.Select(v => v.ModelName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private async Task<ModelScope?> ScopeAsync(string model, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(model) || model == AlertLabels.AllModels || !RegistryService.IsValidName(model)) return null;
        if (await registry.GetModelAsync(model, cancellationToken) is not { } registered) return null;
        var versions = await registry.ListVersionsAsync(registered.Id, cancellationToken);
        return new ModelScope(registered, [.. versions.Select(v => v.Id)], versions.FirstOrDefault(v => v.Stage == ModelStage.Production));
    }

    private static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };

    /// <summary>Whole hours read at hour boundaries: the hour buckets give exactly the window.</summary>
    private static bool HourAligned(TimeSpan window, IReadOnlyList<DateTime> ends) =>
        window.Ticks % TimeSpan.TicksPerHour == 0 && ends.All(t => t.Ticks % TimeSpan.TicksPerHour == 0);

    private static (DateTime From, DateTime To) Range(TimeSpan window, IReadOnlyList<DateTime> ends) => (ends.Min() - window, ends.Max());

    private static (double? Value, long Sample)[] Nothing(int count) => [.. Enumerable.Repeat(((double?)null, 0L), count)];
}

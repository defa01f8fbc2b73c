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

/// <summary>Reads any alertable metric of a model as readings over windows (STUB: implemented by the metrics work).</summary>
public sealed class AlertMetricReader : IAlertMetricSource
{
    /// <summary>One reading per time in <paramref name="times"/>, each over [t − <paramref name="window"/>, t), in the same order.</summary>
    public Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    /// <summary>The metric's own reference band for the model's production version (CBPE thresholds for estimated performance); null when it has none.</summary>
    public Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The models a rule without a model covers: those with a production version (for global metrics: just <c>*</c>).</summary>
    public Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken) => throw new NotImplementedException();
}

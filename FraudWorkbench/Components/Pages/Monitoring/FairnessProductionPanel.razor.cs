using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Monitoring;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>
/// The Fairness tab: computes the model's production fairness over the page's range on demand and reads the daily
/// disparity series; reloads when the monitoring job stores new windows for the model.
/// </summary>
public partial class FairnessProductionPanel : LiveComponent
{
    [Inject]
    private ProductionFairnessService Fairness { get; set; } = default!;

    [Parameter, EditorRequired]
    public string Model { get; set; } = "";

    [Parameter, EditorRequired]
    public MonitoringRange Range { get; set; } = default!;

    private static readonly (string Key, string Label)[] Views = [(FairnessProductionView.Realized, "Realized"), (FairnessProductionView.Estimated, "Estimated")];

    private (string, MonitoringRange)? shownFor;
    private bool loaded;
    private ProductionFairnessRange? range;
    private FairnessSeries? series;
    private string? error;
    private string? groupingName;
    private string metric = FairnessMetric.SelectionRate;
    private string view = FairnessProductionView.Realized;
    private string disparity = FairnessProductionView.Disparities[0].Key;

    private ProductionFairnessReport? report => range?.Report;

    /// <summary>The shown range and version as a report file (HTML or PDF), for team leads.</summary>
    private string ReportHref(string format) => report is { } r
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"api/v1/models/{Uri.EscapeDataString(Model)}/fairness/report.{format}?from={r.From:yyyy-MM-dd}&to={r.To:yyyy-MM-dd}&version={r.Version}")
        : "";

    private ProductionGrouping? Shown => report?.Groupings.FirstOrDefault(g => g.Name == groupingName) ?? report?.Groupings.FirstOrDefault();

    private GroupingFairness? ShownView => Shown is { } g ? (view == FairnessProductionView.Estimated ? g.Estimated : g.Realized) : null;

    private IReadOnlyList<GroupingFairness> ViewGroupings =>
        report?.Groupings.Select(g => view == FairnessProductionView.Estimated ? g.Estimated : g.Realized).ToList() ?? [];

    private string PanelState => error is not null ? "error" : !loaded ? "loading" : report is not { } r ? "empty"
        : r.Columns.Count == 0 ? "no-protected" : r.Sampled == 0 ? "empty" : r.Coverage.All(c => c.Sent == 0) ? "not-sent" : "loaded";

    protected override void OnInitialized() => ReloadOn<FairnessWindowsComputed>(e => e.Model == Model);

    protected override async Task OnParametersSetAsync()
    {
        if (shownFor == (Model, Range)) return;
        if (shownFor is { } shown && shown.Item1 != Model) groupingName = null;
        shownFor = (Model, Range);
        (loaded, range, series, error) = (false, null, null, null);
        await ReloadAsync();
    }

    protected override async Task LoadAsync()
    {
        var (model, shownRange, grouping) = (Model, Range, groupingName);
        var (from, to) = PerformanceView.Days(shownRange);
        ProductionFairnessRange? next = null;
        FairnessSeries? nextSeries = null;
        string? problem = null;
        try
        {
            // The bootstrap is CPU work: off the circuit's thread.
            next = await Task.Run(() => Fairness.RangeAsync(model, from, to));
            if (next is null) problem = $"There is no registered model '{model}'.";
            else nextSeries = await Fairness.SeriesAsync(model, from, to, grouping is not null && next.Report?.Groupings.Any(g => g.Name == grouping) == true ? grouping : null);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            problem = "Range: " + ex.Message.Split(" (Parameter", 2)[0];
        }

        if ((model, shownRange) != (Model, Range)) return;
        (range, series, error, loaded) = (next, nextSeries, problem, true);
    }

    private async Task ChooseGroupingAsync(string name)
    {
        groupingName = name;
        var (from, to) = PerformanceView.Days(Range);
        try
        {
            var names = series?.Groupings ?? [];
            series = await Fairness.SeriesAsync(Model, from, to, names.Contains(name) ? name : null);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            error = "Range: " + ex.Message.Split(" (Parameter", 2)[0];
        }
    }

    private void ChooseMetric(string value) => metric = FairnessMetric.All.Contains(value) ? value : FairnessMetric.SelectionRate;

    private void ChooseDisparity(string value) => disparity = FairnessProductionView.Disparities.Any(d => d.Key == value) ? value : FairnessProductionView.Disparities[0].Key;

    private string SeriesChart()
    {
        var (axis, ratio) = FairnessProductionView.Describe(disparity);
        var points = FairnessProductionView.Points(series!, disparity);
        return Charts.FairnessDisparitySeries(axis, points, ratio, name: $"{Model} {series!.Grouping} {axis} per day");
    }

    private static string Share(long part, long whole) => whole == 0 ? "0 %" : Share((double)part / whole);

    private static string Share(double share) => share.ToString("0 %", CultureInfo.InvariantCulture);
}

using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>
/// The Performance tab: loads the model's <see cref="PerformanceReport"/> for the page's range (as days) and its own cohort
/// size, and reloads when labels for one of the model's versions arrive or the recurring job stores a window of the model.
/// </summary>
public partial class PerformancePanel : LiveComponent
{
    [Inject]
    private PerformanceService Performance { get; set; } = default!;

    [Inject]
    private RegistryStore Registry { get; set; } = default!;

    [Parameter, EditorRequired]
    public string Model { get; set; } = "";

    [Parameter, EditorRequired]
    public MonitoringRange Range { get; set; } = default!;

    private (string, MonitoringRange, string)? shownFor;
    private PerformanceReport? report;
    private string? error;
    private string? chosenCohort;
    private string metric = PerformanceMetric.Recall;
    // Replaced whole, never changed in place: the event filter reads it on the publisher's thread.
    private IReadOnlySet<Guid> versions = new HashSet<Guid>();

    /// <summary>The cohort size shown: the user's choice, else by the range's length.</summary>
    private string Cohort => chosenCohort ?? PerformanceView.DefaultCohort(PerformanceView.Days(Range).From, PerformanceView.Days(Range).To);

    private string PanelState => error is not null ? "error" : report is null ? "loading" : report.Range is not { Realized.Predictions: > 0 } ? "empty" : "loaded";

    protected override void OnInitialized()
    {
        On<FeedbackRecorded>(e => e.Versions.Any(versions.Contains), _ => ReloadAsync());
        ReloadOn<MonitoringComputed>(e => e.Model == Model);
    }

    protected override async Task OnParametersSetAsync()
    {
        if (shownFor == (Model, Range, Cohort)) return;
        if (shownFor is { } shown && shown.Item1 != Model) chosenCohort = null;
        shownFor = (Model, Range, Cohort);
        (report, error) = (null, null);
        await ReloadAsync();
    }

    protected override async Task LoadAsync()
    {
        var (model, range, cohort) = (Model, Range, Cohort);
        var (from, to) = PerformanceView.Days(range);
        // Versions reloaded each time: one registered since the last load may be the one the labels are for next.
        if (await Registry.GetModelAsync(model) is { } registered)
            versions = (await Registry.ListVersionsAsync(registered.Id, default)).Select(v => v.Id).ToHashSet();
        PerformanceReport? loaded;
        string? problem = null;
        try
        {
            loaded = await Performance.ReportAsync(model, from, to, cohort);
            if (loaded is null) problem = $"There is no registered model '{model}'.";
        }
        catch (ArgumentOutOfRangeException ex)
        {
            (loaded, problem) = (null, "Range: " + ex.Message.Split(" (Parameter", 2)[0]);
        }

        if ((model, range, cohort) != (Model, Range, Cohort)) return;
        (report, error) = (loaded, problem);
    }

    private async Task ChooseCohortAsync(string size)
    {
        if (size == Cohort) return;
        chosenCohort = size;
        shownFor = (Model, Range, Cohort);
        report = null;
        await ReloadAsync();
    }

    private void ChooseMetric(string value) => metric = PerformanceMetric.All.Contains(value) ? value : PerformanceMetric.Recall;

    private string Chart()
    {
        var reference = PerformanceView.Reference(report!, metric);
        return Charts.PerformanceSeries(PerformanceMetric.Title(metric), PerformanceView.Points(report!, metric), reference?.Value, reference?.Lower, reference?.Upper,
            name: $"{Model} {metric} per {report!.Cohort}");
    }
}

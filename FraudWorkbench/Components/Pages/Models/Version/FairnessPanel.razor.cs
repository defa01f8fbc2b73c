using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Components.Pages.Models.VersionPanels;

/// <summary>The version's holdout fairness report, its job, and the protected columns its dataset marks; follows the job and the report live.</summary>
public partial class FairnessPanel : LiveComponent
{
    [Inject] private FairnessStore Fairness { get; set; } = default!;
    [Inject] private FairnessSignOffStore SignOffs { get; set; } = default!;
    [Inject] private TrainingRunStore Runs { get; set; } = default!;
    [Inject] private DatasetStore Datasets { get; set; } = default!;
    [Inject] private JobStore Jobs { get; set; } = default!;
    [Inject] private CurrentUser CurrentUser { get; set; } = default!;
    [Inject] private IOptions<FairnessOptions> Options { get; set; } = default!;

    [Parameter, EditorRequired]
    public ModelVersion Version { get; set; } = default!;

    private Guid? loadedFor;
    private bool loaded;
    private bool canWrite;
    private bool canSignOff;
    private FairnessSignOff? signOff;
    /// <summary>The decision whose sign-off form is open (approve or reject); null when closed.</summary>
    private string? signing;
    private string? signComment;
    private bool signingBusy;
    private IReadOnlyList<DatasetColumn> protectedColumns = [];
    private (Guid JobId, FairnessReport? Report)? stored;
    private FairnessReport? report;
    private Job? job;
    private bool starting;
    private string? error;
    private string? groupingName;
    private string metric = FairnessMetric.SelectionRate;
    private string whatIfMetric = FairnessMetric.SelectionRate;

    private static readonly string[] WhatIfMetrics = [FairnessMetric.SelectionRate, FairnessMetric.TruePositiveRate, FairnessMetric.FalsePositiveRate];

    private FairnessSettings Settings => report?.Settings ?? Options.Value.Settings;

    /// <summary>The job has not finished and the report (if any) is older than it (the job saves its report just before it succeeds).</summary>
    private bool Running => job is { IsFinished: false } j && !(report is { } r && r.ComputedAt >= j.CreatedAt);

    private string State => !loaded ? "loading" : protectedColumns.Count == 0 ? "empty" : Running ? "running" : report is not null ? "ready"
        : job is { Status: JobStatus.Failed or JobStatus.Cancelled } ? "failed" : "none";

    private GroupingFairness? Shown => report?.Groupings.FirstOrDefault(g => g.Name == groupingName) ?? report?.Groupings.FirstOrDefault();

    protected override async Task OnInitializedAsync()
    {
        canWrite = await CurrentUser.IsAllowedAsync(Policies.Write);
        canSignOff = await CurrentUser.IsAllowedAsync(Policies.SignOff);
        On<JobChanged>(e => e.Id == job?.Id, async e =>
        {
            if (JobStatus.IsFinished(e.Status)) await ReloadAsync();
            else job = job?.Apply(e);
        });
        ReloadOn<FairnessChanged>(e => e.ModelVersionId == loadedFor);
        ReloadOn<FairnessSignedOff>(e => e.ModelVersionId == loadedFor);
    }

    protected override async Task OnParametersSetAsync()
    {
        if (loadedFor == Version.Id) return;
        loadedFor = Version.Id;
        (loaded, protectedColumns, stored, report, job, starting, error, groupingName) = (false, [], null, null, null, false, null, null);
        (signOff, signing, signComment) = (null, null, null);
        // The version's dataset never changes: its protected columns are read once, not on every job or report event.
        var version = Version;
        var run = await Runs.GetAsync(version.RunId);
        var dataset = run is null ? null : await Datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion);
        if (version.Id != Version.Id) return;
        protectedColumns = dataset?.Schema.Columns.Where(c => c.Role == ColumnRole.Protected).ToList() ?? [];
        await ReloadAsync();
    }

    protected override async Task LoadAsync()
    {
        var version = Version;
        var found = await Fairness.GetAsync(version.Id);
        var latest = found?.JobId is Guid jobId ? await Jobs.GetAsync(jobId) : null;
        var lastSignOff = await SignOffs.LatestAsync(version.Id);
        if (version.Id != Version.Id) return;
        (stored, job, signOff) = (found, latest, lastSignOff);
        // The same report keeps its instance, so the chart is not rebuilt for a job's progress.
        if (found?.Report is not { } next || report is null || next.ComputedAt != report.ComputedAt) report = found?.Report;
        loaded = true;
    }

    private async Task ComputeAsync()
    {
        (error, starting) = (null, true);
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            job = await Fairness.StartAsync(Version, actor);
            await ReloadAsync();
        }
        catch (UnauthorizedAccessException ex)
        {
            error = ex.Message;
        }
        finally
        {
            starting = false;
        }
    }

    private void OpenSignOff(string decision) => (signing, error) = (decision, null);

    private async Task SignOffAsync()
    {
        if (signing is null || report is null) return;
        (error, signingBusy) = (null, true);
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.SignOff);
            // The report on screen is the one signed off: a recomputation that landed meanwhile is refused, not approved unseen.
            signOff = await SignOffs.SignOffAsync(Version.Id, signing, signComment, actor, report.ComputedAt);
            (signing, signComment) = (null, null);
        }
        catch (Exception ex) when (ex is FairnessSignOffException or UnauthorizedAccessException)
        {
            error = ex.Message;
        }
        finally
        {
            signingBusy = false;
        }
    }

    private static string Percent(double share) => share.ToString("0 %", CultureInfo.InvariantCulture);

    private static string Describe(ProtectedColumn column) => column.Bands is { } bands ? $"{column.Name} (bands {string.Join(", ", bands)})" : column.Name;
}

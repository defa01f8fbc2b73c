using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Components.Pages.Training;

public partial class TrainingRuns : LiveComponent
{
    /// <summary>The form fields a validation issue can point at; other issues are listed under the form.</summary>
    private static readonly HashSet<string> FormFields =
    [
        "featureSetVersionId", "datasetVersion", "name", "description", "trainer.trainer", "trainer.trees", "trainer.leaves", "trainer.learningRate",
        "trainer.minimumExamplesPerLeaf", "trainer.l2Regularization", "trainer.maximumDepth", "imbalance.strategy", "imbalance.positiveWeight",
        "imbalance.targetRatio", "imbalance.k", "split.kind", "split.folds", "split.validationFraction", "threshold.method", "threshold.reviewCost",
        "threshold.amountColumn",
    ];

    // Denser than MudBlazor's default cells, so that ten columns fit 1280 px without the table scrolling.
    private const string Cell = "padding: 6px 8px";

    [Inject] private TrainingRunStore Runs { get; set; } = default!;
    [Inject] private TrainingService Service { get; set; } = default!;
    [Inject] private DatasetStore Datasets { get; set; } = default!;
    [Inject] private FeatureSetStore FeatureSets { get; set; } = default!;
    [Inject] private JobStore Jobs { get; set; } = default!;
    [Inject] private CurrentUser CurrentUser { get; set; } = default!;
    [Inject] private NavigationManager Navigation { get; set; } = default!;

    private List<TrainingRun>? runs;
    private Dictionary<Guid, Job> jobs = [];
    private IReadOnlyList<FeatureSetVersion> featureSetVersions = [];
    private Dictionary<Guid, string> datasetNames = [];
    private readonly Dictionary<(Guid, int), bool> eventTimes = [];
    private HashSet<TrainingRun> selected = [];
    private string filter = "";
    private bool canWrite;
    private TrainingRun? confirmCancel;
    private string? notice;

    private Guid? featureSetVersionId;
    private bool hasEventTime = true;
    private bool splitDefaulted;
    private string? runName;
    private string? runDescription;
    private string trainer = TrainerKind.LightGbm;
    private string strategy = ImbalanceStrategy.ClassWeights;
    private string split = SplitKind.Time;
    private string thresholdMethod = "max_f1";
    private int trees = 100;
    private int leaves = 31;
    private double learningRate = 0.1;
    private int minimumPerLeaf = 20;
    private double l2 = 1;
    private int maximumDepth;
    private double? positiveWeight;
    private double targetRatio = 0.5;
    private int smoteK = 5;
    private int folds = 5;
    private double validationFraction = 0.3;
    private double reviewCost = 5;
    private string? amountColumn = "amount";
    private List<(string Field, string Message)> issues = [];

    protected override async Task OnInitializedAsync()
    {
        canWrite = await CurrentUser.IsAllowedAsync(Policies.Write);
        // Progress patches the row's job; a job this page does not know yet, or one that finished, reloads the runs.
        On<JobChanged>(c => c.Kind == TrainingJobHandler.KindName && runs is not null, async change =>
        {
            if (jobs.TryGetValue(change.Id, out var job)) jobs[change.Id] = job.Apply(change);
            if (!jobs.ContainsKey(change.Id) || JobStatus.IsFinished(change.Status)) await ReloadAsync();
        });
        datasetNames = (await Datasets.ListAsync(includeArchived: true)).ToDictionary(d => d.Id, d => d.Name);
        var versions = new List<FeatureSetVersion>();
        foreach (var set in await FeatureSets.ListAsync()) versions.AddRange(await FeatureSets.ListVersionsAsync(set.Id));
        featureSetVersions = versions;
        await ChooseFeatureSetAsync(versions.FirstOrDefault()?.Id);
        await ReloadAsync();
    }

    protected override async Task LoadAsync()
    {
        var list = await Runs.ListAsync();
        jobs = new Dictionary<Guid, Job>(await Jobs.GetManyAsync([.. list.Where(r => r.Status is not (JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)).Select(r => r.JobId)]));
        // Selections hold row objects: keep the selected runs selected across a reload.
        var selectedIds = selected.Select(r => r.Id).ToHashSet();
        runs = [.. list];
        selected = [.. runs.Where(r => selectedIds.Contains(r.Id))];
        foreach (var run in runs.Where(r => !datasetNames.ContainsKey(r.DatasetId)))
            datasetNames[run.DatasetId] = (await Datasets.GetAsync(run.DatasetId))?.Name ?? "deleted dataset";
    }

    /// <summary>
    /// A dataset without an event time cannot be split by time: the split defaults to stratified and the time
    /// option is disabled with the reason, instead of the run failing validation after the click.
    /// </summary>
    private async Task ChooseFeatureSetAsync(Guid? id)
    {
        featureSetVersionId = id;
        issues = [.. issues.Where(i => i.Field is not ("featureSetVersionId" or "datasetVersion" or "split.kind"))];
        if (featureSetVersions.FirstOrDefault(v => v.Id == id) is not { } version) return;
        var key = (version.DatasetId, version.DatasetVersion);
        if (!eventTimes.TryGetValue(key, out var known))
        {
            known = (await Datasets.GetVersionAsync(version.DatasetId, version.DatasetVersion))?.Schema.EventTime is not null;
            eventTimes[key] = known;
        }

        hasEventTime = known;
        if (!hasEventTime && split == SplitKind.Time) (split, splitDefaulted) = (SplitKind.Stratified, true);
        else if (hasEventTime && splitDefaulted) (split, splitDefaulted) = (SplitKind.Time, false); // only undo what this did, not a choice
    }

    private string DefaultRunName => featureSetVersions.FirstOrDefault(v => v.Id == featureSetVersionId) is { } version
        ? TrainingRun.DefaultName(new TrainingRunRequest(version.DatasetId, version.DatasetVersion, version.Id, new TrainerSettings(trainer)), DatasetName(version.DatasetId))
        : "";

    private string DatasetName(Guid id) => datasetNames.GetValueOrDefault(id, "dataset");

    private string FeatureSetName(Guid id) => featureSetVersions.FirstOrDefault(v => v.Id == id) is { } v ? $"{v.Name} v{v.Version}" : "";

    private static double Metric(TrainingRun run, Func<ClassificationReport, double> value) => run.Result is null ? -1 : value(run.Result.Metrics);

    private static string SplitName(string kind) => kind switch
    {
        SplitKind.Time => "time (later rows validate)",
        SplitKind.Stratified => "stratified",
        SplitKind.KFold => "k-fold",
        _ => kind,
    };

    /// <summary>What tells runs apart at a glance: the trainer and imbalance, then the split and the tree sizes.</summary>
    private static (string Main, string Detail) KeyParameters(TrainingRun run)
    {
        var c = run.Config;
        var t = c.Trainer ?? new TrainerSettings();
        var split = c.Split ?? new SplitSettings();
        var main = $"{TrainingRunDetail.TrainerName(t.Trainer)} · {(c.Imbalance?.Strategy ?? ImbalanceStrategy.ClassWeights).Replace('_', ' ')}";
        var detail = split.Kind == SplitKind.KFold ? $"{split.Folds}-fold" : $"{split.Kind} split {split.ValidationFraction:P0}";
        if (t.Trainer != TrainerKind.LogisticRegression) detail += $" · {t.Trees} trees · {t.Leaves} leaves · lr {t.LearningRate:0.###}";
        return (main, detail);
    }

    private static string Duration(long ms) => ms < 60_000 ? $"{ms / 1000.0:0.0} s" : $"{ms / 60_000.0:0.0} min";

    private bool IsQueued(TrainingRun run) => (jobs.TryGetValue(run.JobId, out var job) ? job.Status : run.Status) == JobStatus.Queued;

    private bool IsCancellable(TrainingRun run) =>
        jobs.TryGetValue(run.JobId, out var job) ? !job.IsFinished && !job.CancelRequested : run.Status is JobStatus.Queued or JobStatus.Running;

    private bool Matches(TrainingRun run) => string.IsNullOrWhiteSpace(filter)
        || new[] { run.DisplayName, run.Description, DatasetName(run.DatasetId), run.Config.Trainer?.Trainer, run.Config.Imbalance?.Strategy, run.Status, run.CreatedBy }
            .Any(v => v?.Contains(filter, StringComparison.OrdinalIgnoreCase) == true);

    private bool HasError(params string[] fields) => issues.Any(i => fields.Contains(i.Field));

    private string? ErrorFor(params string[] fields) => issues.FirstOrDefault(i => fields.Contains(i.Field)).Message;

    private async Task StartAsync()
    {
        issues = [];
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            if (featureSetVersions.FirstOrDefault(v => v.Id == featureSetVersionId) is not { } version)
            {
                issues = [("featureSetVersionId", "Choose a feature set version; create one under Features first.")];
                return;
            }

            await Service.StartAsync(new TrainingRunRequest(version.DatasetId, version.DatasetVersion, version.Id,
                new TrainerSettings(trainer, trees, leaves, learningRate, minimumPerLeaf, l2, MaximumDepth: maximumDepth),
                new ImbalanceSettings(strategy, positiveWeight, smoteK, targetRatio),
                new SplitSettings(split, validationFraction, folds),
                new ThresholdSettings(thresholdMethod, reviewCost, AmountColumn: thresholdMethod == "cost" ? amountColumn : null),
                runName, runDescription), actor);
            runName = null;
            runDescription = null;
            await ReloadAsync();
        }
        catch (TrainingValidationException ex)
        {
            issues = [.. ex.Issues];
        }
        catch (UnauthorizedAccessException ex)
        {
            issues = [("user", ex.Message)];
        }
    }

    private async Task CancelRunAsync()
    {
        if (confirmCancel is not { } run) return;
        confirmCancel = null;
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            var (outcome, _) = await Service.CancelAsync(run.Id, actor);
            notice = outcome switch
            {
                CancelOutcome.Cancelled => $"Run “{run.DisplayName}” cancelled.",
                CancelOutcome.CancelRequested => $"Run “{run.DisplayName}” is stopping; the worker stops at its next check.",
                CancelOutcome.AlreadyFinished => $"Run “{run.DisplayName}” had already finished.",
                _ => "The run no longer exists.",
            };
            await ReloadAsync();
        }
        catch (UnauthorizedAccessException ex)
        {
            notice = ex.Message;
        }
    }

    private void Compare() => Navigation.NavigateTo($"training/compare?ids={string.Join(",", selected.Select(r => r.Id))}");
}

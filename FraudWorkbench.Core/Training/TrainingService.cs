using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Training;

/// <summary>Checks a run request against the data it names and queues it as a durable job together with its run row.</summary>
public sealed class TrainingService(
    NpgsqlDataSource dataSource, DatasetStore datasets, FeatureSetStore featureSets, TrainingRunStore runs, JobStore jobs, EventHub events, TimeProvider time,
    IOptions<FeatureSetOptions>? featureOptions = null)
{
    public async Task<(Guid RunId, Guid JobId)> StartAsync(TrainingRunRequest request, string actor, CancellationToken cancellationToken = default)
    {
        var issues = new List<(string, string)>();
        var version = await datasets.GetVersionAsync(request.DatasetId, request.DatasetVersion, cancellationToken);
        if (version is null) issues.Add(("datasetVersion", $"Dataset {request.DatasetId} has no version {request.DatasetVersion}."));
        var featureSet = await featureSets.GetVersionAsync(request.FeatureSetVersionId, cancellationToken);
        if (featureSet is null) issues.Add(("featureSetVersionId", $"No feature set version has the id {request.FeatureSetVersionId}."));
        if (version is not null && version.Schema.Label is null) issues.Add(("datasetVersion", "Training needs a label column in the dataset version."));
        if (version is not null && featureSet is not null)
        {
            try { FeatureValidation.Validate(featureSet.Definition, version.Schema); }
            catch (FeatureValidationException ex) { issues.AddRange(ex.Issues.Select(i => ($"featureSetVersionId", $"The feature set does not fit this dataset version: {i.Field}: {i.Message}"))); }
            // Training reads every row and fits the features on the training ones: at least what fitting the feature set needs.
            if (FeatureSetService.OverBudget(version, featureSet.Definition, featureOptions?.Value) is { } tooLarge) issues.Add(("datasetVersion", tooLarge));
        }

        issues.AddRange((request.Trainer ?? new TrainerSettings()).Validate().Select(i => ($"trainer.{i.Field}", i.Message)));
        var imbalance = request.Imbalance ?? new ImbalanceSettings();
        if (!ImbalanceStrategy.All.Contains(imbalance.Strategy)) issues.Add(("imbalance.strategy", $"Use one of {string.Join(", ", ImbalanceStrategy.All)}."));
        if (imbalance.K is < 1 or > 50) issues.Add(("imbalance.k", "k must be between 1 and 50."));
        if (imbalance.TargetRatio is not (> 0 and <= 1)) issues.Add(("imbalance.targetRatio", "The target minority ratio must be in (0, 1]."));
        if (imbalance.PositiveWeight is not (null or (> 0 and <= 10_000))) issues.Add(("imbalance.positiveWeight", "The fraud weight must be in (0, 10000]."));
        var split = request.Split ?? new SplitSettings();
        if (!SplitKind.All.Contains(split.Kind)) issues.Add(("split.kind", $"Use one of {string.Join(", ", SplitKind.All)}."));
        if (split.Kind != SplitKind.KFold && split.ValidationFraction is not (>= 0.05 and <= 0.5)) issues.Add(("split.validationFraction", "Validate on 5 % to 50 % of the rows."));
        if (split.Kind == SplitKind.KFold && split.Folds is < 2 or > 10) issues.Add(("split.folds", "Use 2 to 10 folds."));
        if (split.Kind == SplitKind.Time && version is not null && version.Schema.EventTime is null) issues.Add(("split.kind", "A time split needs an event-time column; use stratified."));
        issues.AddRange(DescriptionIssues(request.Name, request.Description));
        var threshold = request.Threshold ?? new ThresholdSettings();
        if (threshold.Method is not ("max_f1" or "cost")) issues.Add(("threshold.method", "Use max_f1 or cost."));
        if (StoredText.Problem(threshold.AmountColumn, 1000) is { } unstorable) issues.Add(("threshold.amountColumn", unstorable));
        if (threshold.Method == "cost")
        {
            if (threshold.ReviewCost is not (>= 0 and <= 1e9)) issues.Add(("threshold.reviewCost", "A review costs from 0 to 1e9."));
            if (threshold.MaxReviewsPerDay is not (null or (> 0 and <= 1e9))) issues.Add(("threshold.maxReviewsPerDay", "The daily review capacity is more than 0 and at most 1e9."));
            if (threshold.AmountColumn is null || version?.Schema.Columns.FirstOrDefault(c => c.Name == threshold.AmountColumn) is not { } amount || !ColumnType.IsNumeric(amount.Type))
                issues.Add(("threshold.amountColumn", "Cost-based thresholds need a numeric amount column of the dataset version."));
        }

        if (issues.Count > 0) throw new TrainingValidationException(issues);

        var runId = Guid.CreateVersion7(time.GetUtcNow());
        var name = string.IsNullOrWhiteSpace(request.Name)
            ? TrainingRun.DefaultName(request, (await datasets.GetAsync(request.DatasetId, cancellationToken))?.Name ?? "dataset")
            : request.Name.Trim();
        var normalised = request with
        {
            Trainer = request.Trainer ?? new TrainerSettings(), Imbalance = imbalance, Split = split, Threshold = threshold,
            Name = name, Description = string.IsNullOrWhiteSpace(request.Description) ? null : request.Description.Trim(),
        };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var job = await JobStore.InsertAsync(transaction, TrainingJobHandler.KindName, new TrainingJobPayload(runId), actor, 2, time, cancellationToken);
        await runs.CreateAsync(runId, job.Id, normalised, actor, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return (runId, job.Id);
    }

    /// <summary>Renames a run and sets its description; an empty name is refused (the made-up one is only for a new run).</summary>
    /// <exception cref="TrainingValidationException">The name or description cannot be stored.</exception>
    public async Task<TrainingRun?> DescribeAsync(Guid runId, string? name, string? description, string actor, CancellationToken cancellationToken = default)
    {
        var issues = DescriptionIssues(name, description).ToList();
        if (string.IsNullOrWhiteSpace(name)) issues.Insert(0, ("name", "Give the run a name."));
        if (issues.Count > 0) throw new TrainingValidationException(issues);
        return await runs.DescribeAsync(runId, name!.Trim(), string.IsNullOrWhiteSpace(description) ? null : description.Trim(), actor, cancellationToken);
    }

    /// <summary>
    /// Cancels a queued run at once (its row says cancelled) or asks the worker to stop a running one; the
    /// job's own state is what pages show until the worker has stopped.
    /// </summary>
    public async Task<(CancelOutcome Outcome, Job? Job)> CancelAsync(Guid runId, string actor, CancellationToken cancellationToken = default)
    {
        if (await runs.GetAsync(runId, cancellationToken) is not { } run) return (CancelOutcome.NotFound, null);
        var (outcome, job) = await jobs.CancelAsync(run.JobId, actor, cancellationToken);
        if (outcome == CancelOutcome.Cancelled) await runs.FailAsync(run.Id, JobStatus.Cancelled, "Cancelled before it started.", CancellationToken.None);
        return (outcome, job);
    }

    private static IEnumerable<(string Field, string Message)> DescriptionIssues(string? name, string? description)
    {
        if (StoredText.Problem(name, TrainingRun.MaxNameLength) is { } badName) yield return ("name", badName);
        if (StoredText.Problem(description, TrainingRun.MaxDescriptionLength, multiline: true) is { } badDescription) yield return ("description", badDescription);
    }
}

public sealed record TrainingJobPayload(Guid RunId);

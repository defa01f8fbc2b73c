using System.Globalization;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The common recent holdout: for a candidate a workflow made, the latest mature days of production traffic (kept out of
/// its training data), scored by the candidate and the champion alike; the candidate must beat the champion's PR-AUC by
/// the policy's margin and stay within the gate's margins on the compared metrics. Other versions get no check.
/// </summary>
public sealed class RecentHoldoutGateCheck(
    NpgsqlDataSource dataSource, PerformanceStore performance, TrainingRunStore runs, DatasetStore datasets, ArtifactStore artifacts,
    IOptions<FeatureSetOptions> options, TimeProvider time) : IGateCheck
{
    /// <summary>The <see cref="GateCheck.Kind"/> of its checks.</summary>
    public const string Kind = "recent_holdout";

    /// <summary>Fewer labelled rows than this, or fewer frauds than <see cref="MinFraud"/>, say too little to compare two models on.</summary>
    public const int MinRows = 50;

    public const int MinFraud = 5;

    /// <summary>The candidate's and the production version's PR-AUC on the common holdout, from a gate's checks (nulls when it had none or could not judge).</summary>
    public static (double? Candidate, double? Champion) PrAuc(IReadOnlyList<GateCheck> checks) =>
        checks.FirstOrDefault(c => c.Kind == Kind && c.Metric == GateMetric.PrAuc) is { } check ? (check.Candidate, check.Reference) : (null, null);

    private sealed record Source(Guid WorkflowId, string PolicyJson, DateTime? WindowFrom, DateTime? HoldoutFrom, DateTime? HoldoutTo);

    public async Task<IReadOnlyList<GateCheck>> EvaluateAsync(GateEvidence evidence, JobContext context, CancellationToken cancellationToken)
    {
        if (evidence.ChampionModel is null || evidence.Champion is null) return [];
        if (await SourceAsync(evidence.Candidate, cancellationToken) is not { } source) return [];
        var policy = RetrainingPolicy.FromJson(source.PolicyJson);
        if (source.WindowFrom is not DateTime windowFrom || source.HoldoutFrom is not DateTime from || source.HoldoutTo is not DateTime to)
        {
            return [Inconclusive(policy, source.WindowFrom is null
                ? "common recent holdout: the workflow's dataset version has no lineage to take the holdout from"
                : "common recent holdout: the training window held no mature day to keep out")];
        }

        await context.ReportAsync(85, $"scoring the common recent holdout {from:yyyy-MM-dd} to {to:yyyy-MM-dd} with both versions", cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var labelWindow = Math.Max(1, (await performance.ConfigAsync(evidence.Model.Id, cancellationToken)).LabelWindowDays);
        var candidate = evidence.CandidateModel;
        var champion = evidence.ChampionModel;
        var budget = options.Value.Budget;

        // Neither version is judged on its own training rows: the production version may have been trained by an earlier
        // workflow on days that are this holdout now. The dataset step keeps them out of the candidate's data, but a dataset
        // built before it did may hold some, and the gate reads that dataset anyway.
        var championTrained = await TrainedOnAsync(evidence.Champion, from, to, cancellationToken);
        var candidateTrained = await TrainedOnAsync(evidence.Candidate, from, to, cancellationToken);

        // Each model sees the traffic from the window's start, so its entity histories at the holdout are what they were
        // live; only the holdout's rows with a known label are scored. The log is read by the time each prediction was
        // logged, but point-in-time features walk event time, and backdated traffic puts the two in different orders: a
        // first cheap pass over the event-time cells alone measures how far behind an arrival can be (LatenessMeter), and the
        // streams hold back only that much to restore the event-time order BatchFeaturizer would sort the rows into. SQL
        // cannot sort by event time itself: the column is text in the input, parsed with the dataset's own date format.
        var models = new[] { candidate, champion };
        var lateness = await LatenessAsync(evidence.Model.Id, windowFrom, to, models, cancellationToken);
        var labels = new List<bool>();
        var scores = new double[][] { new double[1024], new double[1024] };
        var streams = models.Select((model, m) => new PointInTimeStream(model.Features, lateness[m], ScoreChunk, (keys, features) =>
        {
            var probabilities = new double[keys.Length];
            model.Probabilities(features, keys.Length, probabilities);
            for (var k = 0; k < keys.Length; k++) scores[m][keys[k]] = probabilities[k];
        })).ToArray();

        long read = 0, trainedOnByChampion = 0, trainedOnByCandidate = 0;
        string? overBudget = null;
        await foreach (var prediction in RetrainingTraffic.ReadAsync(dataSource, evidence.Model.Id, windowFrom, to, cancellationToken))
        {
            read++;
            var key = -1;
            if (prediction.CreatedAt >= from && RetrainingTraffic.Label(prediction.IsFraud, prediction.CreatedAt, now, labelWindow) is var label && label != TrafficLabel.Unknown)
            {
                if (championTrained.Contains(prediction.Id)) trainedOnByChampion++;
                else if (candidateTrained.Contains(prediction.Id)) trainedOnByCandidate++;
                else
                {
                    key = labels.Count;
                    labels.Add(label == TrafficLabel.Fraud);
                    if (key >= scores[0].Length) for (var m = 0; m < scores.Length; m++) Array.Resize(ref scores[m], scores[m].Length * 2);
                }
            }

            using var document = JsonDocument.Parse(prediction.InputJson);
            for (var m = 0; m < models.Length; m++)
            {
                if (!streams[m].Add(RetrainingTraffic.ParseRow(document.RootElement, models[m].Features.Schema), key))
                {
                    return [Inconclusive(policy, string.Create(CultureInfo.InvariantCulture, $"common recent holdout {from:yyyy-MM-dd HH:mm} to {to:yyyy-MM-dd HH:mm} UTC: ")
                        + "a prediction was logged into the past while the holdout was read, so its rows could not be put in event-time order; run the gate again")];
                }
            }

            if ((read & 0xFF) == 0 && (overBudget = OverBudget()) is not null) break;
        }

        if (overBudget is null)
        {
            foreach (var stream in streams) stream.Complete(cancellationToken);
            overBudget = OverBudget();
        }

        if (overBudget is not null) return [Inconclusive(policy, overBudget)];

        var fraud = labels.Count(l => l);
        var subject = string.Create(CultureInfo.InvariantCulture,
            $"common recent holdout {from:yyyy-MM-dd HH:mm} to {to:yyyy-MM-dd HH:mm} UTC: {labels.Count:N0} labelled rows, {fraud:N0} fraud (history from {windowFrom:yyyy-MM-dd}, {read:N0} rows)")
            + (trainedOnByChampion > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {trainedOnByChampion:N0} rows the production version trained on left out") : "")
            + (trainedOnByCandidate > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {trainedOnByCandidate:N0} rows the candidate trained on left out") : "");
        if (labels.Count < MinRows || fraud < MinFraud || fraud == labels.Count)
        {
            return [Inconclusive(policy, subject + $"; too few to compare (at least {MinRows} labelled rows with {MinFraud} fraud and some legitimate)")];
        }

        var truth = labels.ToArray();
        var candidateMetrics = ClassificationMetrics.Evaluate(scores[0][..truth.Length], truth);
        var championMetrics = ClassificationMetrics.Evaluate(scores[1][..truth.Length], truth);

        var required = championMetrics.AveragePrecision + policy.MinImprovement;
        var checks = new List<GateCheck>
        {
            new(Kind, GateMetric.PrAuc,
                string.Create(CultureInfo.InvariantCulture, $">= {required:0.####} (production {championMetrics.AveragePrecision:0.####} + the policy's minimum improvement {policy.MinImprovement:0.####})"),
                candidateMetrics.AveragePrecision, championMetrics.AveragePrecision,
                double.IsFinite(candidateMetrics.AveragePrecision) && candidateMetrics.AveragePrecision >= required, Subject: subject),
        };

        // The gate's own champion margins, judged on the common holdout instead of the candidate's own holdout.
        var margins = ValidationGate.Evaluate(evidence.Model.Gate with { Baselines = [] }, candidateMetrics, championMetrics);
        checks.AddRange(margins.Select(c => c with { Kind = Kind, Subject = subject }));
        return checks;

        // Past the feature fit budget the check stops reading and says what to change, rather than exhaust the process.
        string? OverBudget()
        {
            var bytes = streams.Sum(s => s.EstimatedBytes) + labels.Count * ScoredRowBytes + (championTrained.Count + candidateTrained.Count) * IdBytes;
            if (bytes <= budget) return null;
            var held = streams.Max(s => s.HeldRows);
            var late = lateness.Max();
            var reorder = held > 0
                ? string.Create(CultureInfo.InvariantCulture, $" and {held:N0} rows held back to restore event-time order (the log holds rows up to {TimeSpan.FromTicks(late).TotalHours:0.#} h earlier in event time than rows logged before them)")
                : "";
            return string.Create(CultureInfo.InvariantCulture,
                $"common recent holdout {from:yyyy-MM-dd HH:mm} to {to:yyyy-MM-dd HH:mm} UTC not scored: after {read:N0} predictions from {windowFrom:yyyy-MM-dd}, both versions' point-in-time ")
                + string.Create(CultureInfo.InvariantCulture, $"features need about {DatasetIngestor.FormatBytes(bytes)} of memory, more than the {DatasetIngestor.FormatBytes(budget)} allowed ({FeatureSetOptions.Section}:MaxFitMemoryBytes): ")
                + string.Create(CultureInfo.InvariantCulture, $"{streams.Sum(s => s.Histories):N0} entity histories holding {streams.Sum(s => s.Events):N0} events, {labels.Count:N0} holdout rows to score")
                + reorder + ". Shorten the policy's training window (the histories are built from its start) or its holdout days, or raise the budget.";
        }
    }

    /// <summary>Feature rows scored at once: small enough to be nothing beside the histories, large enough to score efficiently.</summary>
    private const int ScoreChunk = 4096;

    /// <summary>Per scored row: both versions' probabilities and the label (arrays grown by doubling).</summary>
    private const long ScoredRowBytes = 2 * 2 * 8 + 1;

    /// <summary>Per prediction id a version trained on inside the holdout (a hash set entry).</summary>
    private const long IdBytes = 40;

    private static GateCheck Inconclusive(RetrainingPolicy policy, string subject) =>
        new(Kind, GateMetric.PrAuc, $">= production + {policy.MinImprovement:0.####}", null, null, false, Inconclusive: true, Subject: subject);

    /// <summary>The predictions logged in [from, to) that the version's training dataset holds (rows an earlier workflow built into it).</summary>
    private async Task<HashSet<Guid>> TrainedOnAsync(ModelVersion version, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(version.RunId, cancellationToken) is not { } run) return [];
        if (await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken) is not { } dataset) return [];
        return await RetrainingTraffic.LoggedPredictionsAsync(dataSource, artifacts, dataset, from, to, cancellationToken);
    }

    /// <summary>
    /// Each model's lateness over the traffic <see cref="RetrainingTraffic.ReadAsync"/> will read (0 for a model without an event
    /// time or entity features: its rows need no order), from the event-time cells alone.
    /// </summary>
    private async Task<long[]> LatenessAsync(Guid modelId, DateTime windowFrom, DateTime to, ServingModel[] models, CancellationToken cancellationToken)
    {
        var lateness = new long[models.Length];
        var featurizers = models.Select(m => m.Features.Schema.EventTime is not null && Enumerable.Range(0, m.Features.Features.Count).Any(m.Featurizer.IsEntityFeature) ? m.Featurizer : null).ToArray();
        var names = featurizers.Select((f, m) => f is null ? null : models[m].Features.Schema.EventTime!.Name).OfType<string>().Distinct().ToList();
        if (names.Count == 0) return lateness;
        var meters = models.Select(_ => new LatenessMeter()).ToArray();
        await foreach (var cells in RetrainingTraffic.ReadPropertiesAsync(dataSource, modelId, windowFrom, to, names, cancellationToken))
        {
            using var document = JsonDocument.Parse(cells);
            for (var m = 0; m < models.Length; m++)
            {
                if (featurizers[m] is { } featurizer) meters[m].Add(featurizer.EventTicks(RetrainingTraffic.ParseRow(document.RootElement, models[m].Features.Schema)));
            }
        }

        for (var m = 0; m < models.Length; m++) lateness[m] = meters[m].Lateness;
        return lateness;
    }

    /// <summary>The workflow that trained the candidate (by its run, set before registration, or as its candidate) and its dataset's holdout.</summary>
    private async Task<Source?> SourceAsync(ModelVersion candidate, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT w.id AS workflow_id, w.policy::text AS policy_json, l.window_from, l.holdout_from, l.holdout_to
            FROM retraining_workflows w
            LEFT JOIN dataset_versions dv ON dv.dataset_id = w.dataset_id AND dv.version = w.dataset_version
            LEFT JOIN retraining_dataset_lineage l ON l.dataset_version_id = dv.id AND l.workflow_id = w.id
            WHERE w.run_id = @runId OR w.candidate_version_id = @versionId
            ORDER BY coalesce(w.run_id = @runId, false) DESC, w.created_at DESC
            LIMIT 1
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Source>(new CommandDefinition(sql, new { runId = candidate.RunId, versionId = candidate.Id }, cancellationToken: cancellationToken));
    }
}

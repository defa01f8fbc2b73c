using System.Globalization;
using Dapper;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The common recent holdout: for a candidate a workflow made, the latest mature days of production traffic (kept out of
/// its training data), scored by the candidate and the champion alike; the candidate must beat the champion's PR-AUC by
/// the policy's margin and stay within the gate's margins on the compared metrics. Other versions get no check.
/// </summary>
public sealed class RecentHoldoutGateCheck(NpgsqlDataSource dataSource, PerformanceStore performance, TimeProvider time) : IGateCheck
{
    /// <summary>The <see cref="GateCheck.Kind"/> of its checks.</summary>
    public const string Kind = "recent_holdout";

    /// <summary>Fewer labelled rows than this, or fewer frauds than <see cref="MinFraud"/>, say too little to compare two models on.</summary>
    public const int MinRows = 50;

    public const int MinFraud = 5;

    private sealed record Source(Guid WorkflowId, string PolicyJson, DateTime? WindowFrom, DateTime? HoldoutFrom, DateTime? HoldoutTo);

    public async Task<IReadOnlyList<GateCheck>> EvaluateAsync(GateEvidence evidence, JobContext context, CancellationToken cancellationToken)
    {
        if (evidence.ChampionModel is null || evidence.Champion is null) return [];
        if (await SourceAsync(evidence.Candidate, cancellationToken) is not { } source) return [];
        var policy = RetrainingPolicy.FromJson(source.PolicyJson);
        if (source.WindowFrom is not DateTime windowFrom || source.HoldoutFrom is not DateTime from || source.HoldoutTo is not DateTime to)
        {
            return [new GateCheck(Kind, GateMetric.PrAuc, $">= production + {policy.MinImprovement:0.####}", null, null, false, Inconclusive: true,
                Subject: source.WindowFrom is null
                    ? "common recent holdout: the workflow's dataset version has no lineage to take the holdout from"
                    : "common recent holdout: the training window held no mature day to keep out")];
        }

        await context.ReportAsync(85, $"scoring the common recent holdout {from:yyyy-MM-dd} to {to:yyyy-MM-dd} with both versions", cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var labelWindow = Math.Max(1, (await performance.ConfigAsync(evidence.Model.Id, cancellationToken)).LabelWindowDays);
        var candidate = evidence.CandidateModel;
        var champion = evidence.ChampionModel;

        // Each model sees the traffic from the window's start, so its entity histories at the holdout are what they were
        // live; only the holdout's rows with a known label are scored.
        List<string?[]> candidateRows = [], championRows = [];
        List<int> scoredRows = [];
        List<bool> labels = [];
        await foreach (var prediction in RetrainingTraffic.ReadAsync(dataSource, evidence.Model.Id, windowFrom, to, cancellationToken))
        {
            using var document = System.Text.Json.JsonDocument.Parse(prediction.InputJson);
            candidateRows.Add(RetrainingTraffic.ParseRow(document.RootElement, candidate.Features.Schema));
            championRows.Add(RetrainingTraffic.ParseRow(document.RootElement, champion.Features.Schema));
            if (prediction.CreatedAt < from) continue;
            var label = RetrainingTraffic.Label(prediction.IsFraud, prediction.CreatedAt, now, labelWindow);
            if (label == TrafficLabel.Unknown) continue;
            scoredRows.Add(candidateRows.Count - 1);
            labels.Add(label == TrafficLabel.Fraud);
        }

        var fraud = labels.Count(l => l);
        var subject = string.Create(CultureInfo.InvariantCulture,
            $"common recent holdout {from:yyyy-MM-dd HH:mm} to {to:yyyy-MM-dd HH:mm} UTC: {labels.Count:N0} labelled rows, {fraud:N0} fraud (history from {windowFrom:yyyy-MM-dd}, {candidateRows.Count:N0} rows)");
        if (labels.Count < MinRows || fraud < MinFraud || fraud == labels.Count)
        {
            return [new GateCheck(Kind, GateMetric.PrAuc, $">= production + {policy.MinImprovement:0.####}", null, null, false, Inconclusive: true,
                Subject: subject + $"; too few to compare (at least {MinRows} labelled rows with {MinFraud} fraud and some legitimate)")];
        }

        var truth = labels.ToArray();
        var candidateScores = Score(candidate, candidateRows, scoredRows, cancellationToken);
        var championScores = Score(champion, championRows, scoredRows, cancellationToken);
        var candidateMetrics = ClassificationMetrics.Evaluate(candidateScores, truth);
        var championMetrics = ClassificationMetrics.Evaluate(championScores, truth);

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
    }

    /// <summary>The model's probabilities on the scored rows, featurized point-in-time over all the rows with its own fit.</summary>
    private static double[] Score(ServingModel model, List<string?[]> rows, List<int> scored, CancellationToken cancellationToken)
    {
        var matrix = BatchFeaturizer.Run(model.Features, rows, cancellationToken);
        var width = model.Features.SlotCount;
        var features = new float[scored.Count * width];
        for (var k = 0; k < scored.Count; k++) matrix.AsSpan(scored[k] * width, width).CopyTo(features.AsSpan(k * width, width));
        var probabilities = new double[scored.Count];
        model.Probabilities(features, scored.Count, probabilities);
        return probabilities;
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

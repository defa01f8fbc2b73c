using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// Fairness as part of the validation gate. Every gate run (so every registration) computes the candidate's holdout
/// fairness report on the rows and probabilities the gate already has and keeps it as the version's report; the
/// model's fairness limits are then judged on it, and against the production version's disparities on the same rows.
/// </summary>
public sealed class FairnessGateCheck(
    FairnessGateStore gates, FairnessStore store, IOptions<FairnessOptions> options, TimeProvider time, ILogger<FairnessGateCheck> logger) : IGateCheck
{
    public async Task<IReadOnlyList<GateCheck>> EvaluateAsync(GateEvidence evidence, JobContext context, CancellationToken cancellationToken)
    {
        var gate = await gates.GetAsync(evidence.Model.Id, cancellationToken);
        var schema = evidence.CandidateModel.Features.Schema;
        var columns = FairnessAnalysis.ProtectedColumns(schema);
        var settings = options.Value.Settings;
        if (columns.Count == 0) return FairnessGate.Judge(gate, [], null, null, [], settings);

        IReadOnlyList<GroupingFairness> groupings;
        try
        {
            await context.ReportAsync(85, $"fairness by protected group with {settings.Resamples:N0} bootstrap resamples", cancellationToken);
            var candidate = evidence.CandidateModel;
            (groupings, var whatIf) = FairnessAnalysis.Evaluate(schema, evidence.Rows, evidence.Labels, evidence.CandidateScores, candidate.Threshold, settings, options.Value.MaxParallelism);
            await store.SaveFromGateAsync(new FairnessReport(evidence.Candidate.Id, evidence.Candidate.ModelName, evidence.Candidate.Version, "holdout",
                evidence.Labels.Length, evidence.Labels.LongCount(l => l), candidate.Threshold, columns, settings, groupings, time.GetUtcNow().UtcDateTime, whatIf), context.Job.Id, cancellationToken);
        }
        catch (Exception ex) when (gate.IsEmpty && ex is not OperationCanceledException)
        {
            // Nothing is judged on it: the report can be computed on demand, and the gate must not fail for it.
            logger.LogWarning(ex, "The fairness report of {Model} version {Version} could not be computed with its gate.", evidence.Candidate.ModelName, evidence.Candidate.Version);
            return [];
        }

        IReadOnlyList<GroupingFairness>? production = null;
        if (gate.NonRegression && evidence.ChampionScores is { } championScores && evidence.ChampionModel is { } champion)
        {
            // The production version's point disparities on the candidate's rows and groups, at its own threshold; the candidate's interval is what is judged.
            production = [.. FairnessAnalysis.Groupings(schema, evidence.Rows).Select(g =>
                FairnessCalculator.Evaluate(g, evidence.Labels, championScores, champion.Threshold, settings with { Resamples = 0 }, options.Value.MaxParallelism))];
        }

        return FairnessGate.Judge(gate, groupings, production, evidence.Champion?.Version, [.. columns.Select(c => c.Name)], settings);
    }
}

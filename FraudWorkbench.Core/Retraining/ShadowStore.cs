using Dapper;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>A workflow shadowing now: its champion and challenger versions and the period.</summary>
public sealed record ShadowWorkflow(Guid Id, string ModelName, Guid ChampionVersionId, Guid CandidateVersionId, DateTime ShadowStartedAt, DateTime? ShadowEndsAt);

/// <summary>The challenger's score of one live prediction, beside the champion's.</summary>
public sealed record ShadowPrediction(
    Guid WorkflowId, Guid PredictionId, DateTime PredictionCreatedAt, Guid ChampionVersionId, Guid ChallengerVersionId,
    double ChampionProbability, bool ChampionDecision, double Probability, bool Decision, float LatencyMs, DateTime ScoredAt);

/// <summary>A shadow prediction with the label its transaction got, if any: what the comparison reads.</summary>
public sealed record ShadowPair(double ChampionProbability, bool ChampionDecision, double Probability, bool Decision, float LatencyMs, DateTime PredictionCreatedAt, bool? IsFraud);

/// <summary>The challenger's shadow predictions (<c>shadow_predictions</c>).</summary>
public sealed class ShadowStore(NpgsqlDataSource dataSource)
{
    /// <summary>Shadow predictions written for the workflow so far.</summary>
    public async Task<long> CountAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT count(*) FROM shadow_predictions WHERE workflow_id = @workflowId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken));
    }

    /// <summary>Workflows in their shadow step whose period holds <paramref name="now"/>, with both versions known.</summary>
    public async Task<IReadOnlyList<ShadowWorkflow>> ActiveAsync(DateTime now, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT id, model_name, champion_version_id, candidate_version_id, shadow_started_at, shadow_ends_at
            FROM retraining_workflows
            WHERE status = 'running' AND step = 'shadow' AND shadow_started_at <= @now AND (shadow_ends_at IS NULL OR @now < shadow_ends_at)
              AND champion_version_id IS NOT NULL AND candidate_version_id IS NOT NULL
            ORDER BY id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ShadowWorkflow>(new CommandDefinition(sql, new { now }, cancellationToken: cancellationToken))];
    }

    /// <summary>Writes a batch in one statement; a prediction already shadowed (a retried log batch) is kept as it was.</summary>
    public async Task InsertAsync(IReadOnlyList<ShadowPrediction> batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0) return;
        const string sql = """
            INSERT INTO shadow_predictions (workflow_id, prediction_id, prediction_created_at, champion_version_id, challenger_version_id,
                champion_probability, champion_decision, probability, decision, latency_ms, scored_at)
            SELECT * FROM unnest(@workflowIds::uuid[], @predictionIds::uuid[], @createdAts::timestamptz[], @championIds::uuid[], @challengerIds::uuid[],
                @championProbabilities::float8[], @championDecisions::boolean[], @probabilities::float8[], @decisions::boolean[], @latencies::real[], @scoredAts::timestamptz[])
            ON CONFLICT (workflow_id, prediction_id) DO NOTHING
            """;
        var args = new
        {
            workflowIds = batch.Select(p => p.WorkflowId).ToArray(),
            predictionIds = batch.Select(p => p.PredictionId).ToArray(),
            createdAts = batch.Select(p => p.PredictionCreatedAt).ToArray(),
            championIds = batch.Select(p => p.ChampionVersionId).ToArray(),
            challengerIds = batch.Select(p => p.ChallengerVersionId).ToArray(),
            championProbabilities = batch.Select(p => p.ChampionProbability).ToArray(),
            championDecisions = batch.Select(p => p.ChampionDecision).ToArray(),
            probabilities = batch.Select(p => p.Probability).ToArray(),
            decisions = batch.Select(p => p.Decision).ToArray(),
            latencies = batch.Select(p => p.LatencyMs).ToArray(),
            scoredAts = batch.Select(p => p.ScoredAt).ToArray(),
        };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: cancellationToken));
    }

    /// <summary>The workflow's shadow predictions in the order the champion made them.</summary>
    public async Task<IReadOnlyList<ShadowPrediction>> ListAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT workflow_id, prediction_id, prediction_created_at, champion_version_id, challenger_version_id,
                   champion_probability, champion_decision, probability, decision, latency_ms, scored_at
            FROM shadow_predictions WHERE workflow_id = @workflowId
            ORDER BY prediction_created_at, prediction_id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ShadowPrediction>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken))];
    }

    /// <summary>Every shadow prediction of the workflow with its label so far (null: none yet).</summary>
    public async Task<IReadOnlyList<ShadowPair>> PairsAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        // The feedback's partition key is the prediction's time: naming it lets PostgreSQL look in one partition.
        const string sql = """
            SELECT s.champion_probability, s.champion_decision, s.probability, s.decision, s.latency_ms, s.prediction_created_at, f.is_fraud
            FROM shadow_predictions s
            LEFT JOIN prediction_feedback f ON f.prediction_id = s.prediction_id AND f.prediction_created_at = s.prediction_created_at
            WHERE s.workflow_id = @workflowId
            ORDER BY s.prediction_created_at, s.prediction_id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<ShadowPair>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken))];
    }
}

using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>A position in the prediction log, in its (created_at, id) order: every row at or before it has been read.</summary>
public readonly record struct LogPosition(DateTime CreatedAt, Guid Id)
{
    /// <summary>Just before every row logged at <paramref name="createdAt"/> (none has the nil id).</summary>
    public static LogPosition Before(DateTime createdAt) => new(createdAt, Guid.Empty);

    /// <summary>
    /// <paramref name="at"/> cut to whole microseconds, as PostgreSQL stores timestamps: a position compared with stored
    /// times must be a time they can hold, or rows between the two readings would be read twice or never.
    /// </summary>
    public static DateTime Microseconds(DateTime at) => new(at.Ticks - at.Ticks % 10, DateTimeKind.Utc);
}

/// <summary>
/// A workflow whose challenger's entity histories the tailer keeps (its feature step succeeded and it has not finished,
/// or it was promoted and the tailer has not yet read the log up to the promotion), as its row is now.
/// </summary>
public sealed record TailedWorkflow(
    Guid Id, string ModelName, string Status, string Step, Guid ChampionVersionId, Guid? CandidateVersionId, Guid FeatureSetVersionId,
    DateTime? ShadowStartedAt, DateTime? ShadowEndsAt, DateTime? PromotedAt, DateTime HistoriesThrough, Guid HistoriesThroughId)
{
    public LogPosition Position => new(HistoriesThrough, HistoriesThroughId);

    /// <summary>Whether a prediction logged at <paramref name="createdAt"/> falls in the shadow period [started, ends).</summary>
    public bool Shadows(DateTime createdAt) => ShadowStartedAt is { } start && createdAt >= start && (ShadowEndsAt is not { } ends || createdAt < ends);
}

/// <summary>One prediction of the champion as the log holds it: what the tailer replays and shadow-scores.</summary>
public sealed record LoggedPrediction(Guid Id, DateTime CreatedAt, string InputJson, double Probability, bool Decision);

/// <summary>The challenger's score of one live prediction, beside the champion's.</summary>
public sealed record ShadowPrediction(
    Guid WorkflowId, Guid PredictionId, DateTime PredictionCreatedAt, Guid ChampionVersionId, Guid ChallengerVersionId,
    double ChampionProbability, bool ChampionDecision, double Probability, bool Decision, float LatencyMs, DateTime ScoredAt);


/// <summary>The challenger's shadow predictions (<c>shadow_predictions</c>) and the tailer's position in the prediction log.</summary>
public sealed class ShadowStore(NpgsqlDataSource dataSource, IOptions<RetrainingOptions> options)
{
    /// <summary>
    /// The steps of a running workflow during which the tailer keeps the challenger's histories: from the feature step's
    /// success (the feature set version is known) to the promotion.
    /// </summary>
    public static readonly IReadOnlyList<string> RecordingSteps =
        [RetrainingStep.Train, RetrainingStep.Register, RetrainingStep.Gate, RetrainingStep.Shadow, RetrainingStep.Approval, RetrainingStep.Promote];

    private const string TailedColumns = """
        w.id, w.model_name, w.status, w.step, w.champion_version_id, w.candidate_version_id, w.feature_set_version_id,
        w.shadow_started_at, w.shadow_ends_at, w.promoted_at, w.histories_through, w.histories_through_id
        """;

    // A promoted workflow stays until the tailer has read the log up to the promotion: the champion served until then.
    private const string TailedCondition = """
        w.champion_version_id IS NOT NULL AND w.feature_set_version_id IS NOT NULL AND w.histories_through IS NOT NULL
        AND ((w.status = 'running' AND w.step = ANY(@steps)) OR w.status = 'awaiting_approval'
             OR (w.status IN ('watching', 'succeeded') AND w.promoted_at IS NOT NULL AND w.histories_through < w.promoted_at))
        """;

    /// <summary>Shadow predictions written for the workflow so far.</summary>
    public async Task<long> CountAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT count(*) FROM shadow_predictions WHERE workflow_id = @workflowId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken));
    }

    /// <summary>The workflows the tailer keeps the histories of now.</summary>
    public static async Task<IReadOnlyList<TailedWorkflow>> TailedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {TailedColumns} FROM retraining_workflows w WHERE {TailedCondition} ORDER BY w.created_at, w.id";
        return [.. await connection.QueryAsync<TailedWorkflow>(new CommandDefinition(sql, new { steps = RecordingSteps.ToArray() }, cancellationToken: cancellationToken))];
    }

    /// <summary>One workflow as it is now, if the tailer still keeps its histories.</summary>
    public static async Task<TailedWorkflow?> TailedAsync(NpgsqlConnection connection, Guid workflowId, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {TailedColumns} FROM retraining_workflows w WHERE w.id = @workflowId AND {TailedCondition}";
        return await connection.QuerySingleOrDefaultAsync<TailedWorkflow>(new CommandDefinition(sql, new { workflowId, steps = RecordingSteps.ToArray() }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The champion version's logged predictions after <paramref name="after"/> and before <paramref name="before"/>, in log
    /// order, at most <paramref name="limit"/>.
    /// </summary>
    public static async Task<IReadOnlyList<LoggedPrediction>> ReadLogAsync(
        NpgsqlConnection connection, Guid championVersionId, LogPosition after, DateTime before, int limit, CancellationToken cancellationToken)
    {
        // created_at >= the position's time first, so the partitions before it are pruned and the version's index does the range.
        const string sql = """
            SELECT p.id, p.created_at, p.input::text AS input_json, p.probability, p.decision
            FROM predictions p
            WHERE p.model_version_id = @championVersionId AND p.created_at >= @afterAt AND p.created_at < @before
              AND (p.created_at, p.id) > (@afterAt, @afterId)
            ORDER BY p.created_at, p.id
            LIMIT @limit
            """;
        return [.. await connection.QueryAsync<LoggedPrediction>(new CommandDefinition(sql, new
        {
            championVersionId, afterAt = after.CreatedAt, afterId = after.Id, before, limit,
        }, cancellationToken: cancellationToken))];
    }

    /// <summary>
    /// Moves the workflow's position from <paramref name="from"/> to <paramref name="to"/> and writes the batch's shadow
    /// predictions, in one transaction; false (nothing written) when the position is no longer <paramref name="from"/>.
    /// A prediction already shadowed (a batch done again after a crash) is kept as it was.
    /// </summary>
    public static async Task<bool> AdvanceAsync(
        NpgsqlConnection connection, Guid workflowId, LogPosition from, LogPosition to, IReadOnlyList<ShadowPrediction> batch, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The row first: the shadow rows' foreign key then finds it locked by this transaction already, rather than taking a
        // share lock it would have to upgrade while the engine may be queued for the row.
        const string move = """
            UPDATE retraining_workflows SET histories_through = @toAt, histories_through_id = @toId
            WHERE id = @workflowId AND histories_through = @fromAt AND histories_through_id = @fromId
            """;
        var moved = await connection.ExecuteAsync(new CommandDefinition(move, new
        {
            workflowId, toAt = to.CreatedAt, toId = to.Id, fromAt = from.CreatedAt, fromId = from.Id,
        }, transaction, cancellationToken: cancellationToken));
        if (moved == 0) return false;
        if (batch.Count > 0)
        {
            const string insert = """
                INSERT INTO shadow_predictions (workflow_id, prediction_id, prediction_created_at, champion_version_id, challenger_version_id,
                    champion_probability, champion_decision, probability, decision, latency_ms, scored_at)
                SELECT * FROM unnest(@workflowIds::uuid[], @predictionIds::uuid[], @createdAts::timestamptz[], @championIds::uuid[], @challengerIds::uuid[],
                    @championProbabilities::float8[], @championDecisions::boolean[], @probabilities::float8[], @decisions::boolean[], @latencies::real[], @scoredAts::timestamptz[])
                ON CONFLICT (workflow_id, prediction_id) DO NOTHING
                """;
            await connection.ExecuteAsync(new CommandDefinition(insert, new
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
            }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// The feature step's replay read the log up to <paramref name="through"/> (exclusive): the tailer starts there. Written
    /// again by a retried step, whose replay replaced the histories.
    /// </summary>
    public async Task StartHistoriesAsync(Guid workflowId, DateTime through, CancellationToken cancellationToken = default)
    {
        const string sql = "UPDATE retraining_workflows SET histories_through = @through, histories_through_id = @id WHERE id = @workflowId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, new { workflowId, through = LogPosition.Microseconds(through), id = Guid.Empty }, cancellationToken: cancellationToken));
    }

    /// <summary>The workflow's position in the log (null: nothing tails it).</summary>
    public async Task<LogPosition?> PositionAsync(Guid workflowId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT histories_through, histories_through_id FROM retraining_workflows WHERE id = @workflowId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(DateTime? At, Guid? Id)>(new CommandDefinition(sql, new { workflowId }, cancellationToken: cancellationToken));
        return row.At is { } at ? new LogPosition(at, row.Id ?? Guid.Empty) : null;
    }

    /// <summary>
    /// Whether the shadow period ending at <paramref name="ends"/> may be compared at <paramref name="now"/> (in the engine's
    /// transaction): the tailer has read the log up to the end, or it does not tail this workflow, or the grace period
    /// after the end has passed (what it has not read then counts as dropped).
    /// </summary>
    public async Task<bool> CaughtUpAsync(NpgsqlTransaction transaction, Guid workflowId, DateTime ends, DateTime now, CancellationToken cancellationToken)
    {
        if (now >= ends + options.Value.ShadowCatchUpGrace) return true;
        const string sql = "SELECT histories_through IS NULL OR histories_through >= @ends FROM retraining_workflows WHERE id = @workflowId";
        return await transaction.Connection!.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new { workflowId, ends }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The workflow's shadow predictions in the order the champion made them (tests and the bench; the comparison aggregates in SQL).</summary>
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
}

using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using Npgsql;

namespace FraudWorkbench.Core.Scoring;

/// <summary>A confirmed label for a prediction (from a chargeback or a review).</summary>
/// <param name="LabelDate">When the fraud was confirmed, if the partner knows.</param>
public sealed record FeedbackItem(Guid PredictionId, bool IsFraud, DateOnly? LabelDate = null);

/// <summary>A label recorded for a logged prediction, with what the prediction was and the label it replaces (if any).</summary>
/// <param name="LabelTime">The label's date when given, else when it was received: the end of the label's delay.</param>
public sealed record LabelChange(
    Guid PredictionId, DateTime CreatedAt, Guid ModelVersionId, double Probability, bool Decision, string InputJson,
    bool? WasFraud, DateTime? WasLabelTime, bool IsFraud, DateTime LabelTime);

/// <summary>Writes something derived from labels (performance counts) in the feedback's own transaction, as <see cref="IPredictionLogSink"/> does for predictions.</summary>
public interface IFeedbackSink
{
    Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<LabelChange> changes, CancellationToken cancellationToken);
}

/// <param name="Unknown">Ids matching no logged prediction: then nothing was stored.</param>
/// <param name="Changed">Labels that were new or different from the stored one.</param>
public sealed record FeedbackOutcome(IReadOnlyList<Guid> Unknown, int Changed);

/// <summary>Labels were recorded (or changed) for predictions of these model versions.</summary>
[Events.EventName("prediction.feedback")]
public sealed record FeedbackRecorded(IReadOnlyList<Guid> Versions, int Count, int Changed);

/// <summary>A logged prediction with its label once one arrived.</summary>
/// <remarks>Init properties rather than a positional record: Dapper cannot pass a real[] column to a constructor.</remarks>
public sealed record LoggedPrediction
{
    public Guid Id { get; init; }
    public DateTime CreatedAt { get; init; }
    public Guid ModelVersionId { get; init; }
    public string Actor { get; init; } = "";
    public string Input { get; init; } = "";
    public float[] Features { get; init; } = [];
    public double Probability { get; init; }
    public bool Decision { get; init; }
    public float LatencyMs { get; init; }
    public string? Reasons { get; init; }
    /// <summary>JSON array of the category values training never saw, with how they were scored; null when none.</summary>
    public string? Unseen { get; init; }
    public bool? IsFraud { get; init; }
    public DateTime? LabelDate { get; init; }
    public DateTime? LabelledAt { get; init; }

    /// <summary>
    /// The top reasons logged with the prediction, typed: empty when the request did not ask for them (or the version
    /// could not explain), and empty rather than an error for a row whose stored JSON cannot be read.
    /// </summary>
    public IReadOnlyList<Reason> TopReasons() => ParseReasons(Reasons);

    /// <summary>Reads the reasons as <see cref="ScoringService"/> stores them (web JSON, camelCase).</summary>
    public static IReadOnlyList<Reason> ParseReasons(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<Reason>>(json, Data.DatasetSchema.Json) is { } reasons
                ? [.. reasons.Where(r => !string.IsNullOrEmpty(r.Column))]
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>Reads the prediction log and attaches feedback labels to it.</summary>
public sealed class PredictionStore(
    NpgsqlDataSource dataSource, PredictionLog log, TimeProvider time, IEnumerable<IFeedbackSink>? sinks = null, Events.EventHub? events = null)
{
    private readonly IFeedbackSink[] feedbackSinks = [.. sinks ?? []];

    private const string Columns = """
        p.id, p.created_at, p.model_version_id, p.actor, p.input::text AS input, p.features, p.probability, p.decision, p.latency_ms,
        p.reasons::text AS reasons, p.unseen::text AS unseen, f.is_fraud, f.label_date::timestamp AS label_date, f.received_at AS labelled_at
        """;

    /// <summary>How long after scoring a prediction's id may still be unknown here: queued in another instance's log.</summary>
    public static readonly TimeSpan InFlightWindow = TimeSpan.FromMinutes(1);

    /// <summary>
    /// True when <paramref name="id"/> is a prediction id (UUIDv7, the time it was made in its first 48 bits) from the
    /// last <see cref="InFlightWindow"/>: not finding it may mean another instance has not written it yet, so the
    /// caller should retry rather than be told it does not exist.
    /// </summary>
    public bool MayStillBeQueued(Guid id)
    {
        if (IdTime(id) is not { } made) return false;
        var age = time.GetUtcNow() - made;
        return age >= -InFlightWindow && age <= InFlightWindow; // a little ahead too: clocks of instances differ
    }

    /// <summary>
    /// How far a prediction's <c>created_at</c> may be from the time in its id. Both come from one clock reading when
    /// scoring, so this only allows for writers whose clocks differ; it keeps a lookup within one or two day partitions.
    /// </summary>
    public static readonly TimeSpan IdTimeTolerance = TimeSpan.FromHours(1);

    /// <summary>The time a UUIDv7 carries in its first 48 bits (unix milliseconds); null for other versions.</summary>
    public static DateTimeOffset? IdTime(Guid id) => id.Version == 7
        ? DateTimeOffset.FromUnixTimeMilliseconds((long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(id.ToByteArray(bigEndian: true)) >> 16))
        : null;

    /// <summary>The created_at range a prediction with this id lies in, for partition pruning; null when the id carries no time.</summary>
    public static (DateTime From, DateTime To)? CreatedAtBounds(Guid id) =>
        IdTime(id) is { } made ? (made.UtcDateTime - IdTimeTolerance, made.UtcDateTime + IdTimeTolerance) : null;

    // Internal for the tests that EXPLAIN them: each must read only the partitions of its ids' days.
    // The overall span prunes at plan time; the per-id bounds keep each probe to its own days.
    private const string FoundColumns = """
        p.id, p.created_at, p.model_version_id, p.probability, p.decision, p.input::text AS input_json,
        f.is_fraud AS was_fraud, coalesce(f.label_date::timestamp, f.received_at) AS was_label_time
        """;

    internal const string FindWithinSql = $"""
        SELECT {FoundColumns} FROM predictions p
        JOIN unnest(@ids, @froms, @tos) AS k(id, lo, hi) ON p.id = k.id AND p.created_at >= k.lo AND p.created_at < k.hi
        LEFT JOIN prediction_feedback f ON f.prediction_id = p.id
        WHERE p.created_at >= @from AND p.created_at < @to
        """;

    /// <summary>A logged prediction a label is for, and its current label.</summary>
    private sealed record Found(Guid Id, DateTime CreatedAt, Guid ModelVersionId, double Probability, bool Decision, string InputJson, bool? WasFraud, DateTime? WasLabelTime);

    internal const string GetWithinSql =
        $"SELECT {Columns} FROM predictions p LEFT JOIN prediction_feedback f ON f.prediction_id = p.id WHERE p.id = @id AND p.created_at >= @from AND p.created_at < @to";

    /// <summary>
    /// The (id, created_at) of the logged predictions among <paramref name="ids"/>. Time-carrying ids are looked up within
    /// their bounds (the days they can be in); others, from outside the scoring path, across every partition.
    /// </summary>
    private static async Task<Dictionary<Guid, Found>> FindAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<Guid, Found>();
        var bounded = ids.Select(id => (Id: id, Bounds: CreatedAtBounds(id))).Where(x => x.Bounds is not null).ToList();
        if (bounded.Count > 0)
        {
            var froms = bounded.Select(x => x.Bounds!.Value.From).ToArray();
            var tos = bounded.Select(x => x.Bounds!.Value.To).ToArray();
            var rows = await connection.QueryAsync<Found>(new CommandDefinition(FindWithinSql,
                new { ids = bounded.Select(x => x.Id).ToArray(), froms, tos, from = froms.Min(), to = tos.Max() }, transaction, cancellationToken: cancellationToken));
            foreach (var row in rows) found.TryAdd(row.Id, row);
        }

        var unbounded = ids.Where(id => CreatedAtBounds(id) is null).ToArray();
        if (unbounded.Length > 0)
        {
            const string sql = $"SELECT {FoundColumns} FROM predictions p LEFT JOIN prediction_feedback f ON f.prediction_id = p.id WHERE p.id = ANY(@unbounded)";
            var rows = await connection.QueryAsync<Found>(new CommandDefinition(sql, new { unbounded }, transaction, cancellationToken: cancellationToken));
            foreach (var row in rows) found.TryAdd(row.Id, row);
        }

        return found;
    }

    /// <summary>
    /// Stores the labels, all or none: ids that match no logged prediction are returned and nothing is written.
    /// Predictions still queued in this instance's log are written first, so a label sent right after scoring finds them.
    /// </summary>
    public async Task<FeedbackOutcome> RecordFeedbackAsync(IReadOnlyList<FeedbackItem> items, string actor, CancellationToken cancellationToken = default)
    {
        await log.FlushAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ids = items.Select(i => i.PredictionId).Distinct().ToArray();
        var known = await FindAsync(connection, transaction, ids, cancellationToken);
        var unknown = ids.Where(id => !known.ContainsKey(id)).ToList();
        if (unknown.Count > 0) return new FeedbackOutcome(unknown, 0);

        var now = time.GetUtcNow().UtcDateTime;
        // The last label sent for a prediction wins (a chargeback can be reversed).
        const string sql = """
            INSERT INTO prediction_feedback AS f (prediction_id, prediction_created_at, is_fraud, label_date, actor, received_at)
            SELECT * FROM unnest(@ids, @createdAts, @labels, @dates, @actors, @times)
            ON CONFLICT (prediction_id) DO UPDATE SET is_fraud = excluded.is_fraud, actor = excluded.actor,
                -- The same label sent again keeps when it first arrived (its delay); a changed one starts anew.
                label_date = CASE WHEN f.is_fraud = excluded.is_fraud AND excluded.label_date IS NULL THEN f.label_date ELSE excluded.label_date END,
                received_at = CASE WHEN f.is_fraud = excluded.is_fraud THEN f.received_at ELSE excluded.received_at END
            """;
        var last = items.GroupBy(i => i.PredictionId).Select(g => g.Last()).ToList();
        await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            ids = last.Select(i => i.PredictionId).ToArray(),
            createdAts = last.Select(i => known[i.PredictionId].CreatedAt).ToArray(),
            labels = last.Select(i => i.IsFraud).ToArray(),
            dates = last.Select(i => i.LabelDate).ToArray(),
            actors = last.Select(_ => actor).ToArray(),
            times = last.Select(_ => now).ToArray(),
        }, transaction, cancellationToken: cancellationToken));
        var changes = last
            .Select(i => (Item: i, Was: known[i.PredictionId]))
            .Where(x => x.Was.WasFraud != x.Item.IsFraud || (x.Item.LabelDate is not null && x.Was.WasLabelTime != LabelTime(x.Item, now)))
            .Select(x => new LabelChange(x.Was.Id, x.Was.CreatedAt, x.Was.ModelVersionId, x.Was.Probability, x.Was.Decision, x.Was.InputJson,
                x.Was.WasFraud, x.Was.WasLabelTime, x.Item.IsFraud, LabelTime(x.Item, now)))
            .ToList();
        foreach (var sink in feedbackSinks) await sink.WriteAsync(connection, transaction, changes, cancellationToken);
        // A reversed chargeback is a change of record: the audit names the predictions whose label flipped.
        var reversed = changes.Where(c => c.WasFraud is { } was && was != c.IsFraud).Select(c => new { prediction = c.PredictionId, from = c.WasFraud, to = c.IsFraud }).Take(1000).ToList();
        await AuditLog.WriteAsync(transaction, now, actor, "prediction.feedback", "prediction", last.Count == 1 ? last[0].PredictionId.ToString() : null,
            new { count = last.Count, fraud = last.Count(i => i.IsFraud), changed = changes.Count(c => c.WasFraud is not null), reversed }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (events is not null && changes.Count > 0)
        {
            await events.PublishAsync(new FeedbackRecorded([.. changes.Select(c => c.ModelVersionId).Distinct()], last.Count, changes.Count), cancellationToken);
        }

        return new FeedbackOutcome([], changes.Count);
    }

    /// <summary>The time a label's delay ends: its date when the partner gave one, else when it was received.</summary>
    private static DateTime LabelTime(FeedbackItem item, DateTime received) =>
        item.LabelDate is { } date ? date.ToDateTime(TimeOnly.MinValue) : received;

    /// <summary>
    /// The logged predictions whose transaction carried each of <paramref name="transactionIds"/> (the dataset's transaction
    /// id column), among <paramref name="modelId"/>'s versions when given: one id may have been scored more than once.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<Guid>>> FindByTransactionIdAsync(
        Guid? modelId, IReadOnlyCollection<string> transactionIds, CancellationToken cancellationToken = default)
    {
        await log.FlushAsync(cancellationToken);
        const string sql = """
            SELECT p.transaction_id, p.id FROM predictions p JOIN model_versions v ON v.id = p.model_version_id
            WHERE p.transaction_id = ANY(@ids) AND (@modelId::uuid IS NULL OR v.registered_model_id = @modelId)
            ORDER BY p.created_at
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string TransactionId, Guid Id)>(new CommandDefinition(sql, new { ids = transactionIds.ToArray(), modelId }, cancellationToken: cancellationToken));
        return rows.GroupBy(r => r.TransactionId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<Guid>)[.. g.Select(r => r.Id)], StringComparer.Ordinal);
    }

    public async Task<LoggedPrediction?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (CreatedAtBounds(id) is { } bounds)
        {
            return await connection.QueryFirstOrDefaultAsync<LoggedPrediction>(new CommandDefinition(GetWithinSql, new { id, from = bounds.From, to = bounds.To }, cancellationToken: cancellationToken));
        }

        var sql = $"SELECT {Columns} FROM predictions p LEFT JOIN prediction_feedback f ON f.prediction_id = p.id WHERE p.id = @id";
        return await connection.QueryFirstOrDefaultAsync<LoggedPrediction>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<LoggedPrediction>> RecentAsync(Guid modelVersionId, int limit = 50, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sql = $"SELECT {Columns} FROM predictions p LEFT JOIN prediction_feedback f ON f.prediction_id = p.id WHERE p.model_version_id = @modelVersionId ORDER BY p.created_at DESC LIMIT @limit";
        return [.. await connection.QueryAsync<LoggedPrediction>(new CommandDefinition(sql, new { modelVersionId, limit }, cancellationToken: cancellationToken))];
    }

    /// <summary>Predictions, labelled ones and fraud labels for a version.</summary>
    public async Task<(long Predictions, long Labelled, long Fraud)> CountsAsync(Guid modelVersionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT count(*), count(f.prediction_id), count(*) FILTER (WHERE f.is_fraud)
            FROM predictions p LEFT JOIN prediction_feedback f ON f.prediction_id = p.id WHERE p.model_version_id = @modelVersionId
            """;
        return await connection.QuerySingleAsync<(long, long, long)>(new CommandDefinition(sql, new { modelVersionId }, cancellationToken: cancellationToken));
    }
}

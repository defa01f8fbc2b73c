using System.Text.Json;
using Dapper;
using Npgsql;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// The online half of the one featurization path: entity histories kept in PostgreSQL per feature set
/// version, read (and locked) before a transaction's features are computed and written back with the
/// transaction included afterwards, so concurrent scorings of one customer queue up instead of losing events.
/// </summary>
public sealed class EntityStateStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>Computes one transaction's features from the stored histories; with <paramref name="record"/> the transaction is added to them.</summary>
    public async Task<float[]> ComputeAsync(Guid versionId, Featurizer featurizer, string?[] row, bool record, CancellationToken cancellationToken = default)
    {
        var output = new float[featurizer.Set.SlotCount];
        var ticks = featurizer.EventTicks(row);
        var keys = Enumerable.Range(0, featurizer.Set.Features.Count)
            .Select(i => (Feature: i, Entity: featurizer.EntityOf(i, row)))
            .Where(k => k.Entity is not null && ticks is not null)
            .Select(k => (k.Feature, Entity: k.Entity!))
            .ToList();
        if (keys.Count == 0)
        {
            featurizer.Compute(row, ticks, (_, _) => null, output);
            return output;
        }

        // The hot path of every scored transaction: two round trips. The first takes the locks and reads the
        // histories, the second writes them back and commits. Advisory locks per key, in one order, serialise
        // scorings of one entity (a first event of a new entity has no row to lock); the shared version lock
        // keeps scorings out while a backfill replaces the state. Without synchronous commit a crash can lose
        // the last fraction of a second of history updates, never corrupt them: a fair price for velocity counts.
        var lockKeys = keys.Select(k => $"{versionId}:{k.Feature}:{k.Entity}").Order(StringComparer.Ordinal).ToArray();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        Dictionary<(int, string), EntityHistory> stored;
        var open = false;
        try
        {
            await using (var read = new NpgsqlBatch(connection))
            {
                if (record)
                {
                    read.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
                    read.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
                    read.BatchCommands.Add(Command("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", versionId.ToString()));
                    read.BatchCommands.Add(Command("SELECT pg_advisory_xact_lock(hashtextextended(k, 1)) FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n", (object)lockKeys));
                    open = true;
                }

                read.BatchCommands.Add(Command("""
                    SELECT feature_index, entity, state::text FROM entity_state
                    WHERE feature_set_version_id = $1 AND (feature_index, entity) IN (SELECT * FROM unnest($2::int[], $3::text[]))
                    """, versionId, keys.Select(k => k.Feature).ToArray(), keys.Select(k => k.Entity).ToArray()));
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                stored = [];
                do
                {
                    if (reader.FieldCount != 3) continue; // the lock calls' results
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        stored[(reader.GetInt32(0), reader.GetString(1))] = JsonSerializer.Deserialize<EntityHistory>(reader.GetString(2))!;
                    }
                }
                while (await reader.NextResultAsync(cancellationToken));
            }

            featurizer.Compute(row, ticks, (f, e) => stored.GetValueOrDefault((f, e)), output);
            if (!record) return output;
            featurizer.Observe(row, ticks!.Value, (f, e) =>
            {
                if (!stored.TryGetValue((f, e), out var h)) stored[(f, e)] = h = new EntityHistory();
                return h;
            });
            await using (var write = new NpgsqlBatch(connection))
            {
                write.BatchCommands.Add(Command(Upsert, versionId, time.GetUtcNow().UtcDateTime,
                    stored.Keys.Select(k => k.Item1).ToArray(), stored.Keys.Select(k => k.Item2).ToArray(), stored.Values.Select(h => JsonSerializer.Serialize(h)).ToArray()));
                write.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await write.ExecuteNonQueryAsync(cancellationToken);
            }

            open = false;
            return output;
        }
        finally
        {
            if (open && connection.State == System.Data.ConnectionState.Open)
            {
                await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                await rollback.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    private const string Upsert = """
        INSERT INTO entity_state (feature_set_version_id, feature_index, entity, state, updated_at)
        SELECT $1, f, e, s::jsonb, $2 FROM unnest($3::int[], $4::text[], $5::text[]) AS t(f, e, s)
        ON CONFLICT (feature_set_version_id, feature_index, entity) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
        """;

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }

    /// <summary>
    /// Replaces the version's entity state with the histories a dataset's rows leave behind, so scoring
    /// starts from the customers' history instead of from nothing.
    /// </summary>
    public async Task<int> BackfillAsync(Guid versionId, FittedFeatureSet set, IReadOnlyList<string?[]> rows, CancellationToken cancellationToken = default)
    {
        var featurizer = new Featurizer(set);
        var histories = new Dictionary<(int, string), EntityHistory>();
        foreach (var (row, ticks) in rows.Select(r => (Row: r, Ticks: featurizer.EventTicks(r))).Where(x => x.Ticks is not null).OrderBy(x => x.Ticks))
        {
            featurizer.Observe(row, ticks!.Value, (f, e) =>
            {
                if (!histories.TryGetValue((f, e), out var h)) histories[(f, e)] = h = new EntityHistory();
                return h;
            });
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended(@v, 0))",
            new { v = versionId.ToString() }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM entity_state WHERE feature_set_version_id = @versionId", new { versionId }, transaction, cancellationToken: cancellationToken));
        await SaveAsync(connection, transaction, versionId, histories, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return histories.Count;
    }

    private async Task SaveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid versionId, Dictionary<(int, string), EntityHistory> histories, CancellationToken cancellationToken)
    {
        const string upsert = """
            INSERT INTO entity_state (feature_set_version_id, feature_index, entity, state, updated_at)
            SELECT @versionId, f, e, s::jsonb, @now FROM unnest(@features, @entities, @states) AS t(f, e, s)
            ON CONFLICT (feature_set_version_id, feature_index, entity) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
            """;
        foreach (var chunk in histories.Chunk(5_000))
        {
            await connection.ExecuteAsync(new CommandDefinition(upsert, new
            {
                versionId,
                now = time.GetUtcNow().UtcDateTime,
                features = chunk.Select(h => h.Key.Item1).ToArray(),
                entities = chunk.Select(h => h.Key.Item2).ToArray(),
                states = chunk.Select(h => JsonSerializer.Serialize(h.Value)).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
    }
}

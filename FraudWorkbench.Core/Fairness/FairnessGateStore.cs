using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Registry;
using Npgsql;

namespace FraudWorkbench.Core.Fairness;

[EventName("model.fairness-gate-changed")]
public sealed record FairnessGateChanged(Guid RegisteredModelId);

/// <summary>Each registered model's fairness gate; a model without a row asks for nothing.</summary>
public sealed class FairnessGateStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    public async Task<FairnessGateSettings> GetAsync(Guid registeredModelId, CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT settings::text FROM fairness_gates WHERE registered_model_id = @registeredModelId";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var json = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(sql, new { registeredModelId }, cancellationToken: cancellationToken));
        return json is null ? FairnessGateSettings.None : JsonSerializer.Deserialize<FairnessGateSettings>(json, DatasetSchema.Json)!;
    }

    /// <summary>Validates and stores the gate, audited with what it replaced; versions validated from now on use it.</summary>
    /// <exception cref="RegistryException">400 naming every bad field.</exception>
    public async Task SaveAsync(RegisteredModel model, FairnessGateSettings gate, string actor, CancellationToken cancellationToken = default)
    {
        if (gate.Validate() is { Count: > 0 } issues) throw RegistryException.Invalid(issues);
        var previous = await GetAsync(model.Id, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            const string sql = """
                INSERT INTO fairness_gates (registered_model_id, settings, updated_by, updated_at) VALUES (@id, @settings::jsonb, @actor, @now)
                ON CONFLICT (registered_model_id) DO UPDATE SET settings = excluded.settings, updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql,
                new { id = model.Id, settings = JsonSerializer.Serialize(gate, DatasetSchema.Json), actor, now }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "fairness.gate-update", "registered-model", model.Id.ToString(),
                new { model = model.Name, gate, previous }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new FairnessGateChanged(model.Id), CancellationToken.None);
    }
}

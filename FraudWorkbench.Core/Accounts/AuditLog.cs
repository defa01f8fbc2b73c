using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

public sealed record AuditEntry(long Id, DateTime At, string Actor, string Action, string ObjectType, string? ObjectId, string? Summary);

/// <summary>
/// The audit trail. Changes write their entry inside their own transaction with
/// <see cref="WriteAsync"/>, so a change and its audit entry land together or not at all.
/// </summary>
public sealed class AuditLog(NpgsqlDataSource dataSource)
{
    public static async Task WriteAsync(
        NpgsqlTransaction transaction, DateTime at, string actor, string action, string objectType, string? objectId, object? summary,
        CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO audit_log (at, actor, action, object_type, object_id, summary)
            VALUES (@at, @actor, @action, @objectType, @objectId, @summary::jsonb)
            """;
        var json = summary is null ? null : JsonSerializer.Serialize(summary, EventHub.JsonOptions);
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            sql, new { at, actor, action, objectType, objectId, summary = json }, transaction, cancellationToken: cancellationToken));
    }

    public async Task<(IReadOnlyList<AuditEntry> Items, int Total)> PageAsync(int skip, int take, string? search, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT id, at, actor, action, object_type, object_id, summary::text AS summary
            FROM audit_log
            WHERE @pattern::text IS NULL OR actor ILIKE @pattern OR action ILIKE @pattern OR object_type ILIKE @pattern OR object_id ILIKE @pattern
            ORDER BY id DESC
            OFFSET @skip LIMIT @take;

            SELECT count(*)::int FROM audit_log
            WHERE @pattern::text IS NULL OR actor ILIKE @pattern OR action ILIKE @pattern OR object_type ILIKE @pattern OR object_id ILIKE @pattern;
            """;
        var pattern = string.IsNullOrWhiteSpace(search) ? null : "%" + search.Trim().Replace("%", "\\%").Replace("_", "\\_") + "%";
        await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(sql, new { skip, take, pattern }, cancellationToken: cancellationToken));
        var items = (await grid.ReadAsync<AuditEntry>()).ToList();
        var total = await grid.ReadSingleAsync<int>();
        return (items, total);
    }
}

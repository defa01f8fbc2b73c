using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

/// <summary>
/// An audit entry; <paramref name="PreviousSummary"/> is the summary of the same object's previous
/// entry with the same action, for updates (so a page can show what changed, not the whole state).
/// </summary>
public sealed record AuditEntry(long Id, DateTime At, string Actor, string Action, string ObjectType, string? ObjectId, string? Summary, string? PreviousSummary = null);

/// <summary>What the audit page asks for; every part optional. <paramref name="To"/> is exclusive.</summary>
public sealed record AuditFilter(string? Search = null, string? Actor = null, string? Action = null, string? ObjectType = null, DateTime? From = null, DateTime? To = null);

/// <summary>The values the filters can take, from the entries that exist.</summary>
public sealed record AuditFacets(IReadOnlyList<string> Actors, IReadOnlyList<string> Actions, IReadOnlyList<string> ObjectTypes);

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

    public Task<(IReadOnlyList<AuditEntry> Items, int Total)> PageAsync(int skip, int take, string? search, CancellationToken cancellationToken = default) =>
        PageAsync(skip, take, new AuditFilter(search), cancellationToken);

    public async Task<(IReadOnlyList<AuditEntry> Items, int Total)> PageAsync(int skip, int take, AuditFilter filter, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string where = """
            WHERE (@pattern::text IS NULL OR a.actor ILIKE @pattern OR a.action ILIKE @pattern OR a.object_type ILIKE @pattern OR a.object_id ILIKE @pattern OR a.summary::text ILIKE @pattern)
              AND (@actor::text IS NULL OR a.actor = @actor)
              AND (@action::text IS NULL OR a.action = @action)
              AND (@objectType::text IS NULL OR a.object_type = @objectType)
              AND (@from::timestamptz IS NULL OR a.at >= @from)
              AND (@to::timestamptz IS NULL OR a.at < @to)
            """;
        const string sql = $"""
            SELECT a.id, a.at, a.actor, a.action, a.object_type, a.object_id, a.summary::text AS summary,
                   CASE WHEN a.action LIKE '%.update' AND a.object_id IS NOT NULL THEN (
                       SELECT p.summary::text FROM audit_log p
                       WHERE p.object_type = a.object_type AND p.object_id = a.object_id AND p.action = a.action AND p.id < a.id
                       ORDER BY p.id DESC LIMIT 1) END AS previous_summary
            FROM audit_log a
            {where}
            ORDER BY a.id DESC
            OFFSET @skip LIMIT @take;

            SELECT count(*)::int FROM audit_log a
            {where};
            """;
        var pattern = string.IsNullOrWhiteSpace(filter.Search) ? null : "%" + filter.Search.Trim().Replace("%", "\\%").Replace("_", "\\_") + "%";
        await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(sql, new
        {
            skip, take, pattern, filter.Actor, filter.Action, filter.ObjectType,
            from = filter.From is { } from ? DateTime.SpecifyKind(from, DateTimeKind.Utc) : (DateTime?)null,
            to = filter.To is { } to ? DateTime.SpecifyKind(to, DateTimeKind.Utc) : (DateTime?)null,
        }, cancellationToken: cancellationToken));
        var items = (await grid.ReadAsync<AuditEntry>()).ToList();
        var total = await grid.ReadSingleAsync<int>();
        return (items, total);
    }

    public async Task<AuditFacets> FacetsAsync(CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT DISTINCT actor FROM audit_log ORDER BY 1 LIMIT 500;
            SELECT DISTINCT action FROM audit_log ORDER BY 1;
            SELECT DISTINCT object_type FROM audit_log ORDER BY 1;
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(sql, cancellationToken: cancellationToken));
        return new([.. await grid.ReadAsync<string>()], [.. await grid.ReadAsync<string>()], [.. await grid.ReadAsync<string>()]);
    }
}

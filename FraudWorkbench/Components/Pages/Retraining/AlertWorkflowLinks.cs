using Dapper;
using Npgsql;

namespace FraudWorkbench.Components.Pages.Retraining;

/// <summary>A workflow an alert started, as the alerts list links it.</summary>
public sealed record AlertWorkflowLink(Guid AlertId, Guid WorkflowId, string ModelName, string Status);

/// <summary>
/// The workflows a page of alerts started, in one query (<see cref="Core.Retraining.RetrainingStore.ByAlertAsync"/> is one
/// alert's; the list shows up to 200).
/// </summary>
public static class AlertWorkflowLinks
{
    public static async Task<ILookup<Guid, AlertWorkflowLink>> LoadAsync(NpgsqlDataSource dataSource, IReadOnlyCollection<Guid> alertIds, CancellationToken cancellationToken = default)
    {
        if (alertIds.Count == 0) return Array.Empty<AlertWorkflowLink>().ToLookup(l => l.AlertId);
        const string sql = """
            SELECT trigger_alert_id AS alert_id, id AS workflow_id, model_name, status
            FROM retraining_workflows WHERE trigger_alert_id = ANY(@ids) ORDER BY created_at
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AlertWorkflowLink>(new CommandDefinition(sql, new { ids = alertIds.ToArray() }, cancellationToken: cancellationToken));
        return rows.ToLookup(l => l.AlertId);
    }
}

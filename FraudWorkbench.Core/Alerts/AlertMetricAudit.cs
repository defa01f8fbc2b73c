using Dapper;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Audited actions: entries of the audit log, the installation's or a model's.</summary>
public sealed partial class AlertMetricReader
{
    /// <summary>
    /// Entries of <paramref name="action"/> in each window (0 when none, never "no value"); the sample is every entry of
    /// the same scope in the window, whatever its action. For <c>*</c> every entry counts; for a model, those whose
    /// summary's <c>model</c> is it (retraining, registry versions, fairness, alert acknowledgements write it) or whose
    /// object is the registered model by name (its creation, monitoring and performance settings, replays), ignoring case
    /// as model names do.
    /// </summary>
    private async Task<IReadOnlyList<(double? Value, long Sample)>> AuditEventsAsync(string model, string action, TimeSpan window, DateTime[] ends, CancellationToken cancellationToken)
    {
        // One query for every window, each end joining the entries of its own window through the index on the time.
        const string sql = """
            SELECT t.i::int, count(a.id) FILTER (WHERE a.action = @action), count(a.id)
            FROM unnest(@ends::timestamptz[]) WITH ORDINALITY AS t(e, i)
            LEFT JOIN audit_log a ON a.at >= t.e - @window AND a.at < t.e
                AND (@model = '*'
                     OR lower(a.summary ->> 'model') = lower(@model)
                     OR (a.object_type IN ('registered-model', 'model') AND lower(a.object_id) = lower(@model)))
            GROUP BY t.i ORDER BY t.i
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(int I, long Hits, long Entries)>(
            new CommandDefinition(sql, new { ends, window, action, model = string.IsNullOrEmpty(model) ? AlertLabels.AllModels : model }, cancellationToken: cancellationToken));
        return [.. rows.OrderBy(r => r.I).Select(r => ((double?)r.Hits, r.Entries))];
    }
}

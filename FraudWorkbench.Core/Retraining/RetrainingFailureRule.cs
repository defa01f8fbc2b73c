using Dapper;
using FraudWorkbench.Core.Alerts;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The alert a failed workflow raises. Each step is a job that the queue retries once; when the retry fails too, the job
/// fails and so does the workflow (production untouched). This rule on failed jobs turns that into an alert, as the seed's
/// failure table asks ("training job fails: alert, retry once"), delivered through the channels like any other.
/// </summary>
public sealed class RetrainingFailureRule(NpgsqlDataSource dataSource, AlertRuleStore rules)
{
    public const string Name = "Failed jobs (retraining included)";

    public static AlertRuleSpec Spec => new(
        Name, null, new AlertMetricSpec(AlertMetricKind.JobFailures), new AlertCondition(AlertConditionKind.Above, 0),
        Window: "1h", EvaluationInterval: "1m", Severity: AlertSeverity.Warning, Labels: new Dictionary<string, string> { ["source"] = "retraining" },
        Description: "{{value}} job(s) failed in the last hour. A failed retraining step fails its workflow after one retry and leaves production as it was: see the Jobs page and the model's Retraining page.");

    /// <summary>
    /// Creates the rule the first time retraining is switched on for any model. Only if no rule on failed jobs exists and
    /// this one was never made before: a rule the team deleted or replaced stays their decision.
    /// </summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT EXISTS (SELECT 1 FROM alert_rules WHERE (deleted_at IS NULL AND spec ->> 'metric' IS NOT NULL AND spec -> 'metric' ->> 'kind' = @kind) OR lower(name) = lower(@name))
            """;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new { kind = AlertMetricKind.JobFailures, name = Name }, cancellationToken: cancellationToken))) return;
        }

        try
        {
            await rules.CreateAsync(Spec, RetrainingService.SystemActor, cancellationToken);
        }
        catch (AlertException ex) when (ex.Status == 409)
        {
            // Another instance saved a policy at the same moment and made it.
        }
    }
}

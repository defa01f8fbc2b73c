using Dapper;
using FraudWorkbench.Core.Alerts;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The alerts a failed workflow raises. A failed step is retried once, then fails its workflow, which writes the audit
/// entry <c>retraining.fail</c> (production untouched) whatever failed: a job, the gate, a refused promotion, training that
/// could not start. The rule <see cref="Name"/> counts those entries, so every failure alerts, not only those with a
/// failed job. The older rule on failed jobs (<see cref="JobsName"/>) is still made alongside: a training job failing
/// outside any workflow is worth an alert too, and the team may have come to rely on it.
/// </summary>
public sealed class RetrainingFailureRule(NpgsqlDataSource dataSource, AlertRuleStore rules)
{
    public const string Name = "Retraining workflow failed";

    public const string JobsName = "Failed jobs (retraining included)";

    private static readonly IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string> { ["source"] = "retraining" };

    /// <summary>
    /// Every model's failed workflows, one alert for the installation (a rule cannot name a model it does not know yet):
    /// the description sends people to the Retraining list, which shows which workflow failed, at which step and why.
    /// </summary>
    public static AlertRuleSpec Spec => new(
        Name, null, new AlertMetricSpec(AlertMetricKind.AuditEvents, Metric: AuditActions.RetrainingFail), new AlertCondition(AlertConditionKind.Above, 0),
        Window: "1h", EvaluationInterval: "1m", Severity: AlertSeverity.Warning, Labels: Labels,
        Description: "{{value}} retraining workflow(s) failed in the last {{window}}, each after one retry of its failed step; production was left as it was. "
            + "The Retraining page (/retraining) shows which model's workflow failed, at which step and with what error (audit action retraining.fail). {{link}}");

    public static AlertRuleSpec JobsSpec => new(
        JobsName, null, new AlertMetricSpec(AlertMetricKind.JobFailures), new AlertCondition(AlertConditionKind.Above, 0),
        Window: "1h", EvaluationInterval: "1m", Severity: AlertSeverity.Warning, Labels: Labels,
        Description: "{{value}} job(s) failed in the last hour. A failed retraining step fails its workflow after one retry and leaves production as it was: see the Jobs page and the model's Retraining page.");

    /// <summary>
    /// Creates the rules the first time retraining is switched on for any model, each only if no live rule watches the same
    /// thing and it was never made before: a rule the team deleted or replaced stays their decision.
    /// </summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        // The failed workflows: a live rule counting retraining.fail entries already covers them.
        const string workflows = """
            SELECT EXISTS (SELECT 1 FROM alert_rules
                           WHERE (deleted_at IS NULL AND spec -> 'metric' ->> 'kind' = @kind AND spec -> 'metric' ->> 'metric' = @action) OR lower(name) = lower(@name))
            """;
        // The failed jobs: any live rule on them.
        const string jobs = """
            SELECT EXISTS (SELECT 1 FROM alert_rules WHERE (deleted_at IS NULL AND spec -> 'metric' ->> 'kind' = @kind) OR lower(name) = lower(@name))
            """;
        bool haveWorkflows, haveJobs;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            haveWorkflows = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                workflows, new { kind = AlertMetricKind.AuditEvents, action = AuditActions.RetrainingFail, name = Name }, cancellationToken: cancellationToken));
            haveJobs = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(jobs, new { kind = AlertMetricKind.JobFailures, name = JobsName }, cancellationToken: cancellationToken));
        }

        if (!haveWorkflows) await CreateAsync(Spec, cancellationToken);
        if (!haveJobs) await CreateAsync(JobsSpec, cancellationToken);
    }

    private async Task CreateAsync(AlertRuleSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            await rules.CreateAsync(spec, RetrainingService.SystemActor, cancellationToken);
        }
        catch (AlertException ex) when (ex.Status == 409)
        {
            // Another instance saved a policy at the same moment and made it.
        }
    }
}

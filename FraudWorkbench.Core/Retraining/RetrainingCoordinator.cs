using System.Threading.Channels;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// Drives retraining on every instance: finished jobs and gate verdicts advance their workflow, firing alerts start
/// workflows (the policy's trigger rules) or roll back a watched promotion (critical ones), and a tick starts scheduled
/// workflows and advances every active one (shadow and watch periods ending, events missed while this instance was down).
/// Event handlers only queue work, so a publisher never waits; the row locks and the one-active index keep two instances
/// from doing anything twice.
/// </summary>
public sealed class RetrainingCoordinator(
    RetrainingStore store, RetrainingService service, RetrainingEngine engine, RegistryStore registry, AlertStore alerts, AlertRuleStore rules, RetrainingFailureRule failureRule,
    EventHub events, TimeProvider time, IOptions<RetrainingOptions> options, IHostApplicationLifetime? lifetime = null, ILogger<RetrainingCoordinator>? logger = null) : BackgroundService
{
    private readonly ILogger logger = logger ?? NullLogger<RetrainingCoordinator>.Instance;
    private readonly Channel<Func<CancellationToken, Task>> work = Channel.CreateUnbounded<Func<CancellationToken, Task>>(new UnboundedChannelOptions { SingleReader = true });
    private int tickQueued;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var jobsChanged = events.Subscribe<JobChanged>(change =>
        {
            if (JobStatus.IsFinished(change.Status)) Post(ct => JobFinishedAsync(change.Id, ct));
        });
        using var gates = events.Subscribe<ModelGateChanged>(change => Post(ct => GateChangedAsync(change.ModelVersionId, ct)));
        using var alerts = events.Subscribe<AlertsChanged>(change =>
        {
            if (change.Fired.Count > 0) Post(ct => AlertsFiredAsync(change.Fired, ct));
        });

        if (lifetime is not null)
        {
            // Hosted services start before the migrations ran: wait for the app.
            var started = new TaskCompletionSource();
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }
        }

        Post(EnsureFailureRulesAsync);
        using var timer = time.CreateTimer(_ => PostTick(), null, TimeSpan.Zero, options.Value.CoordinatorTick);
        await foreach (var item in work.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await item(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The database away for a moment, say: the next tick looks at every active workflow again.
                logger.LogWarning(ex, "Retraining coordination failed; trying again at the next tick");
            }
        }
    }

    private void Post(Func<CancellationToken, Task> item) => work.Writer.TryWrite(item);

    /// <summary>
    /// Policies enabled before the failure rules existed (an upgrade) get them at start, as saving a policy would make them:
    /// once, and never again once the team deleted them.
    /// </summary>
    private async Task EnsureFailureRulesAsync(CancellationToken cancellationToken)
    {
        if ((await store.EnabledPoliciesAsync(cancellationToken)).Count > 0) await failureRule.EnsureAsync(cancellationToken);
    }

    private void PostTick()
    {
        // One tick waiting is enough; a slow tick must not pile up more behind it.
        if (Interlocked.Exchange(ref tickQueued, 1) == 0) Post(async ct =>
        {
            Interlocked.Exchange(ref tickQueued, 0);
            await TickAsync(ct);
        });
    }

    /// <summary>A finished job: advances the workflow it ran a step of, if any.</summary>
    public async Task JobFinishedAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        if (await store.FindByJobAsync(jobId, cancellationToken) is { } found) await engine.AdvanceAsync(found.WorkflowId, cancellationToken);
    }

    /// <summary>A gate verdict: advances the workflow whose candidate it judged, if any.</summary>
    public async Task GateChangedAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        if (await store.ByCandidateAsync(versionId, cancellationToken) is { IsActive: true } workflow) await engine.AdvanceAsync(workflow.Id, cancellationToken);
    }

    /// <summary>
    /// Newly firing alerts: a critical one on a model whose promoted challenger is being watched rolls it back; one of a
    /// policy's trigger rules starts a workflow (under the guards; a blocked start is recorded by the service).
    /// </summary>
    public async Task AlertsFiredAsync(IReadOnlyList<AlertNotice> fired, CancellationToken cancellationToken = default)
    {
        foreach (var name in fired.Where(n => n.Severity == AlertSeverity.Critical).Select(n => n.Model).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (await registry.GetModelAsync(name, cancellationToken) is not { } model) continue;
            if (await store.ActiveOfAsync(model.Id, cancellationToken) is { Status: RetrainingStatus.Watching } watched) await WatchAsync(watched, cancellationToken);
        }

        var triggering = fired.Where(n => n.RuleId is not null).ToList();
        if (triggering.Count == 0) return;
        var policies = await store.EnabledPoliciesAsync(cancellationToken);
        foreach (var notice in triggering)
        {
            foreach (var policy in policies.Where(p => string.Equals(p.ModelName, notice.Model, StringComparison.OrdinalIgnoreCase) && p.Policy.Rules.Contains(notice.RuleId!.Value)))
            {
                try
                {
                    await service.StartAsync(policy.ModelName, RetrainingTrigger.Alert, notice.Id, Truncate($"alert '{notice.Rule}' fired ({notice.Severity}): {notice.Summary}"),
                        RetrainingService.SystemActor, cancellationToken);
                }
                catch (RetrainingException ex)
                {
                    logger.LogInformation("Alert {Alert} did not start retraining {Model}: {Reason}", notice.Id, policy.ModelName, ex.Message);
                }
            }
        }
    }

    /// <summary>Starts the scheduled workflows that are due and advances every active workflow.</summary>
    public async Task TickAsync(CancellationToken cancellationToken = default)
    {
        await StartScheduledAsync(cancellationToken);
        foreach (var workflow in await store.ActiveAsync(cancellationToken))
        {
            try
            {
                // Before the advance, which ends a watch whose time is up: an alert that qualified in time still counts.
                if (workflow.Status == RetrainingStatus.Watching) await WatchAsync(workflow, cancellationToken);
                await engine.AdvanceAsync(workflow.Id, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not advance retraining workflow {Workflow}", workflow.Id);
            }
        }
    }

    /// <summary>
    /// Rolls a watched promotion back when a critical alert on its model is firing on readings taken after the promotion:
    /// a rule whose window still reaches back before it judges the previous version's traffic, so that alert waits until
    /// its window lies after the promotion (each tick looks again) and counts only if it is still firing then. Silenced
    /// alerts are left alone, as the team decided. A rollback that fails is tried again at the next tick.
    /// </summary>
    public async Task WatchAsync(RetrainingWorkflow watched, CancellationToken cancellationToken = default)
    {
        if (watched.PromotedAt is not { } promotedAt || watched.WatchUntil is not { } until) return;
        var firing = await alerts.ListAsync(new AlertFilter(State: AlertState.Firing, Model: watched.ModelName, Severity: AlertSeverity.Critical), cancellationToken);
        foreach (var alert in firing.Where(a => a.SilencedBy is null).OrderBy(a => a.FiredAt))
        {
            var window = (await rules.GetAsync(alert.RuleId, cancellationToken))?.Spec.WindowSpan ?? TimeSpan.Zero;
            var readFrom = alert.LastEvaluatedAt - window;
            if (readFrom < promotedAt || alert.LastEvaluatedAt > until) continue;
            var reason = $"critical alert '{alert.Rule}' fired during the watch period of retraining workflow {watched.Id} (alert {alert.Id}): {alert.Annotations.GetValueOrDefault("summary")}";
            if (reason.Length > RegistryService.MaxReasonLength) reason = reason[..RegistryService.MaxReasonLength];
            try
            {
                if (await engine.RollbackAsync(watched.Id, reason, cancellationToken)) logger.LogWarning("Rolled back model {Model}: {Reason}", watched.ModelName, reason);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Could not roll back model {Model} after alert {Alert}; trying again at the next tick", watched.ModelName, alert.Id);
            }

            return;
        }
    }

    private async Task StartScheduledAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var policy in (await store.EnabledPoliciesAsync(cancellationToken)).Where(p => p.Policy.ScheduleDays is not null))
        {
            // Due ScheduleDays after the last workflow (any trigger), or after the policy was saved; a blocked attempt
            // (recorded as skipped) is tried again a day later, not at every tick.
            await using var connection = await store.OpenAsync(cancellationToken);
            var (lastStart, lastSkip) = await connection.QuerySingleAsync<(DateTime?, DateTime?)>(new CommandDefinition("""
                SELECT (SELECT max(created_at) FROM retraining_workflows WHERE registered_model_id = @id),
                       (SELECT max(at) FROM audit_log WHERE action = 'retraining.skipped' AND object_type = 'registered-model'
                                                     AND object_id = @id::text AND summary ->> 'trigger' = 'schedule')
                """, new { id = policy.RegisteredModelId }, cancellationToken: cancellationToken));
            var since = lastStart ?? policy.UpdatedAt ?? now;
            if (now < since.AddDays(policy.Policy.ScheduleDays!.Value)) continue;
            if (lastSkip is { } skipped && now - skipped < RetrainingService.ScheduleRetryAfter) continue;
            try
            {
                await service.StartScheduledAsync(policy.ModelName, policy.Policy.ScheduleDays.Value, lastStart, cancellationToken);
            }
            catch (RetrainingException ex)
            {
                logger.LogInformation("The schedule did not start retraining {Model}: {Reason}", policy.ModelName, ex.Message);
            }
        }
    }

    /// <summary>An alert's words as a one-line detail the service accepts (no control characters, not too long).</summary>
    private static string Truncate(string text)
    {
        text = new string([.. text.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? ' ' : c)]);
        return text.Length <= RetrainingService.MaxDetailLength ? text : text[..(RetrainingService.MaxDetailLength - 1)] + "…";
    }
}

using System.Threading.Channels;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Runs the evaluator every <see cref="AlertsOptions.EvaluationTick"/> (rules that are due) and at once, over every rule,
/// when new metrics are written or a rule changes: an alert is never later than one evaluation after its data. Every
/// instance runs it; the evaluator's lock lets one of them evaluate.
/// </summary>
public sealed class AlertEvaluationService(
    AlertEvaluator evaluator, EventHub events, TimeProvider time, IOptions<AlertsOptions> options, IHostApplicationLifetime lifetime, ILogger<AlertEvaluationService> logger)
    : BackgroundService
{
    // One slot: signals arriving while an evaluation runs coalesce into one more run after it.
    private readonly Channel<bool> signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private int forceRequested;

    /// <summary>Asks for an evaluation; <paramref name="force"/> evaluates every rule, not only those due.</summary>
    public void Signal(bool force)
    {
        if (force) Interlocked.Exchange(ref forceRequested, 1);
        signals.Writer.TryWrite(true);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Handlers only signal: the hub calls them on the publisher's thread.
        using var monitoring = events.Subscribe<MonitoringComputed>(_ => Signal(force: true));
        using var fairness = events.Subscribe<FairnessWindowsComputed>(_ => Signal(force: true));
        using var feedback = events.Subscribe<FeedbackRecorded>(_ => Signal(force: true));
        using var rules = events.Subscribe<AlertRulesChanged>(_ => Signal(force: true));
        // Hosted services start before the migrations have run (they are registered later): evaluate once the app is up.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        var tick = options.Value.EvaluationTick;
        using var timer = time.CreateTimer(_ => Signal(force: false), null, TimeSpan.Zero, tick);

        await foreach (var _ in signals.Reader.ReadAllAsync(stoppingToken))
        {
            var force = Interlocked.Exchange(ref forceRequested, 0) == 1;
            try
            {
                var summary = await evaluator.EvaluateAsync(force, stoppingToken);
                if (summary.Changed > 0) logger.LogInformation("Alert evaluation: {Evaluated} evaluated, {Changed} alerts changed", summary.Evaluated, summary.Changed);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next tick tries again; the database being away for a moment must not stop alerting for good.
                logger.LogWarning(ex, "Alert evaluation failed; trying again at the next tick");
            }
        }
    }
}

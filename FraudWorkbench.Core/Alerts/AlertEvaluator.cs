using Dapper;
using FraudWorkbench.Core.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Evaluates the rules that are due: reads each rule's metric for every model it covers, judges its condition, steps the
/// alert through Prometheus's states and stores the result. Only the instance holding the evaluation lock evaluates.
/// </summary>
public sealed class AlertEvaluator(
    NpgsqlDataSource dataSource, IAlertMetricSource metrics, EventHub events, TimeProvider time, IOptions<AlertsOptions> options, ILogger<AlertEvaluator> logger)
{
    /// <summary>The session advisory lock one evaluating instance holds ("FWBALERT").</summary>
    public const long AdvisoryLockKey = 0x4657_4241_4C45_5254;

    private const int MaxMessageLength = 2000;

    private const string AlertColumns = "id, state, active_at, fired_at, last_true_at, keep_firing_since, value, annotations::text AS annotations";

    // Within an instance evaluations queue rather than skip: a forced run asked for by new data must not be lost to a tick's run.
    private readonly SemaphoreSlim local = new(1, 1);

    /// <summary>Evaluates every enabled rule due now (all of them with <paramref name="force"/>) for every model it covers.</summary>
    public async Task<AlertEvaluationSummary> EvaluateAsync(bool force, CancellationToken cancellationToken = default)
    {
        await local.WaitAsync(cancellationToken);
        try
        {
            // A session lock held on this one connection for the whole run: another instance trying meanwhile skips.
            await using var lockConnection = await dataSource.OpenConnectionAsync(cancellationToken);
            const string tryLock = "SELECT pg_try_advisory_lock(@key)";
            if (!await lockConnection.ExecuteScalarAsync<bool>(new CommandDefinition(tryLock, new { key = AdvisoryLockKey }, cancellationToken: cancellationToken)))
                return new AlertEvaluationSummary(0, 0, Skipped: true);
            try
            {
                return await RunAsync(force, cancellationToken);
            }
            finally
            {
                // Pooled connections keep session state (no reset on close): the lock must be released, not left to the pool.
                const string unlock = "SELECT pg_advisory_unlock(@key)";
                await lockConnection.ExecuteAsync(new CommandDefinition(unlock, new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
            }
        }
        finally
        {
            local.Release();
        }
    }

    private async Task<AlertEvaluationSummary> RunAsync(bool force, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        IReadOnlyList<(Guid Id, string Spec, DateTime? LastEvaluated)> rows;
        int changed;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string rules = """
                SELECT r.id, r.spec::text AS spec, (SELECT max(e.evaluated_at) FROM alert_evaluations e WHERE e.rule_id = r.id) AS last_evaluated
                FROM alert_rules r WHERE r.deleted_at IS NULL AND r.enabled ORDER BY r.created_at
                """;
            rows = [.. await connection.QueryAsync<(Guid, string, DateTime?)>(new CommandDefinition(rules, cancellationToken: cancellationToken))];
            // Rules deleted or disabled since the last run raise nothing any more.
            const string orphans = """
                UPDATE alerts SET state = 'resolved', resolved_at = @now, last_evaluated_at = @now
                WHERE state IN ('pending', 'firing') AND rule_id NOT IN (SELECT id FROM alert_rules WHERE deleted_at IS NULL AND enabled)
                """;
            changed = await connection.ExecuteAsync(new CommandDefinition(orphans, new { now }, cancellationToken: cancellationToken));
        }

        var evaluated = 0;
        var fired = new List<(AlertNotice Notice, IReadOnlyDictionary<string, string> Labels)>();
        foreach (var (id, json, last) in rows)
        {
            AlertRuleSpec spec;
            try
            {
                spec = AlertJson.Deserialize<AlertRuleSpec>(json);
            }
            catch (System.Text.Json.JsonException ex)
            {
                logger.LogError(ex, "Alert rule {RuleId} has a spec that cannot be read; it is not evaluated", id);
                continue;
            }

            if (!force && last is { } at && now < at + spec.Interval) continue;

            IReadOnlyList<string> models;
            try
            {
                // The scoring error rate of a rule naming a model is that model's, not the installation's.
                models = AlertMetricScope.Models(spec) ?? await metrics.ModelsAsync(spec.Metric, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Alert rule {Rule} ({RuleId}): could not list the models it covers", spec.Name, id);
                await RecordErrorAsync(id, spec.Model ?? AlertLabels.AllModels, now, ex, cancellationToken);
                evaluated++;
                continue;
            }

            foreach (var model in models.Distinct(StringComparer.Ordinal))
            {
                evaluated++;
                try
                {
                    var (stateChanged, notice) = await EvaluatePairAsync(id, spec, model, now, cancellationToken);
                    if (stateChanged) changed++;
                    if (notice is not null) fired.Add((notice, AlertLabels.Of(spec.Name, model, spec.Severity, spec.Labels)));
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // One rule's broken metric must not keep the others from being judged.
                    logger.LogWarning(ex, "Alert rule {Rule} ({RuleId}) failed for model {Model}", spec.Name, id, model);
                    await RecordErrorAsync(id, model, now, ex, cancellationToken);
                }
            }

            changed += await ResolveUncoveredAsync(id, models, now, cancellationToken);
        }

        if (changed > 0)
        {
            foreach (var part in AlertsChanged.Parts(await AudibleAsync(fired, now, cancellationToken))) await events.PublishAsync(part, CancellationToken.None);
        }

        return new AlertEvaluationSummary(evaluated, changed, Skipped: false);
    }

    /// <summary>Judges one rule for one model and stores the outcome; returns whether the alert changed state and, when it started firing, its notice.</summary>
    private async Task<(bool Changed, AlertNotice? Fired)> EvaluatePairAsync(Guid ruleId, AlertRuleSpec spec, string model, DateTime now, CancellationToken cancellationToken)
    {
        var window = spec.WindowSpan;
        var condition = spec.Condition;
        var referenceCount = condition.Kind is AlertConditionKind.OutsideBand or AlertConditionKind.RelativeChange ? condition.ReferenceWindows : 0;
        // The reference windows are the ones before the evaluated window, oldest first: t − k·window for k = K … 1.
        var times = Enumerable.Range(1, referenceCount).Reverse().Select(k => now - window * k).Append(now).ToList();
        var series = await metrics.SeriesAsync(model, spec.Metric, window, times, cancellationToken);
        if (series.Count != times.Count) throw new InvalidOperationException($"The metric source returned {series.Count} readings for {times.Count} times.");
        var point = series[^1];
        var band = condition.Kind == AlertConditionKind.OutsideBand ? await metrics.BandAsync(model, spec.Metric, cancellationToken) : null;
        var result = AlertConditions.Evaluate(condition, spec.MinSample, point, [.. series.Take(series.Count - 1)], band);

        var fingerprint = AlertLabels.Fingerprint(ruleId, model);
        var labels = AlertLabels.Of(spec.Name, model, spec.Severity, spec.Labels);
        var annotations = Annotations(spec, model, point.Value, result, labels);
        var outcome = result.Outcome switch { AlertOutcome.True => "true", AlertOutcome.False => "false", _ => "unknown" };
        var message = Message(spec, point, result);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The rule may have been disabled or deleted since this run read it: check under a share lock, taken before the
        // alert's (as disable and delete take them), so a rule switched off now raises nothing and no order deadlocks.
        const string live = "SELECT 1 FROM alert_rules WHERE id = @ruleId AND enabled AND deleted_at IS NULL FOR SHARE";
        if (await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(live, new { ruleId }, transaction, cancellationToken: cancellationToken)) is null) return (false, null);
        const string open = $"SELECT {AlertColumns} FROM alerts WHERE fingerprint = @fingerprint AND state IN ('pending', 'firing') FOR UPDATE";
        var existing = await connection.QuerySingleOrDefaultAsync<OpenAlert>(new CommandDefinition(open, new { fingerprint }, transaction, cancellationToken: cancellationToken));
        var current = existing is null ? AlertStatus.Inactive : new AlertStatus(existing.State, existing.ActiveAt, existing.FiredAt, existing.LastTrueAt, existing.KeepFiringSince);
        var next = AlertStateMachine.Step(current, result.Outcome, now, spec.ForSpan, spec.KeepFiringSpan);

        var changed = false;
        AlertNotice? notice = null;
        if (existing is null)
        {
            if (next.IsOpen)
            {
                var id = Guid.CreateVersion7(time.GetUtcNow());
                // The partial unique index keeps one open alert per fingerprint even if two writers ever met here.
                const string insert = """
                    INSERT INTO alerts (id, rule_id, rule_name, model_name, fingerprint, state, severity, value, labels, annotations,
                        active_at, fired_at, last_true_at, resolved_at, last_evaluated_at)
                    VALUES (@id, @ruleId, @rule, @model, @fingerprint, @state, @severity, @value, @labels::jsonb, @annotations::jsonb,
                        @activeAt, @firedAt, @lastTrueAt, NULL, @now)
                    ON CONFLICT (fingerprint) WHERE state IN ('pending', 'firing') DO NOTHING
                    """;
                var inserted = await connection.ExecuteAsync(new CommandDefinition(insert, new
                {
                    id, ruleId, rule = spec.Name, model, fingerprint, state = next.State, severity = spec.Severity, value = point.Value,
                    labels = AlertJson.Serialize(labels), annotations = AlertJson.Serialize(annotations),
                    activeAt = next.ActiveAt, firedAt = next.FiredAt, lastTrueAt = next.LastTrueAt, now,
                }, transaction, cancellationToken: cancellationToken));
                changed = inserted > 0;
                if (changed && next.State == AlertState.Firing) notice = new AlertNotice(id, spec.Name, model, spec.Severity, annotations["summary"], ruleId);
            }
        }
        else if (result.Outcome == AlertOutcome.Unknown && next.State == existing.State)
        {
            // No decision on a firing alert: it keeps its state and the texts of its last judged reading (a pending one ends, below).
            const string touch = "UPDATE alerts SET last_evaluated_at = @now WHERE id = @Id";
            await connection.ExecuteAsync(new CommandDefinition(touch, new { now, existing.Id }, transaction, cancellationToken: cancellationToken));
        }
        else
        {
            const string update = """
                UPDATE alerts SET state = @state, fired_at = @firedAt, last_true_at = @lastTrueAt, keep_firing_since = @keepFiringSince, resolved_at = @resolvedAt, value = @value,
                    rule_name = @rule, severity = @severity, labels = @labels::jsonb, annotations = @annotations::jsonb, last_evaluated_at = @now
                WHERE id = @id
                """;
            await connection.ExecuteAsync(new CommandDefinition(update, new
            {
                id = existing.Id, state = next.State, firedAt = next.FiredAt, lastTrueAt = next.LastTrueAt ?? existing.LastTrueAt, keepFiringSince = next.KeepFiringSince,
                resolvedAt = next.State == AlertState.Resolved ? now : (DateTime?)null, value = point.Value ?? existing.Value,
                rule = spec.Name, severity = spec.Severity, labels = AlertJson.Serialize(labels), annotations = AlertJson.Serialize(annotations), now,
            }, transaction, cancellationToken: cancellationToken));
            changed = next.State != existing.State;
            if (next.State == AlertState.Firing && existing.State == AlertState.Pending)
                notice = new AlertNotice(existing.Id, spec.Name, model, spec.Severity, annotations["summary"], ruleId);
        }

        await UpsertEvaluationAsync(connection, transaction, ruleId, model, now, point.Value, point.Sample, outcome, message, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (changed, notice);
    }

    /// <summary>The newly firing alerts no active silence mutes: a silenced alert shows on the page but pops up for no one.</summary>
    private async Task<IReadOnlyList<AlertNotice>> AudibleAsync(
        IReadOnlyList<(AlertNotice Notice, IReadOnlyDictionary<string, string> Labels)> fired, DateTime now, CancellationToken cancellationToken)
    {
        if (fired.Count == 0) return [];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var silences = await AlertStore.ActiveSilencesAsync(connection, now, cancellationToken);
        return [.. fired.Where(f => !silences.Any(s => s.Mutes(f.Labels, now))).Select(f => f.Notice)];
    }

    /// <summary>Resolves the rule's open alerts for models it no longer covers (a model taken out of production, a rule moved to another model).</summary>
    private async Task<int> ResolveUncoveredAsync(Guid ruleId, IReadOnlyList<string> models, DateTime now, CancellationToken cancellationToken)
    {
        const string sql = """
            UPDATE alerts SET state = 'resolved', resolved_at = @now, last_evaluated_at = @now
            WHERE rule_id = @ruleId AND state IN ('pending', 'firing') AND NOT (model_name = ANY(@models))
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, new { ruleId, models = models.ToArray(), now }, cancellationToken: cancellationToken));
    }

    private async Task RecordErrorAsync(Guid ruleId, string model, DateTime now, Exception error, CancellationToken cancellationToken)
    {
        var message = error.Message.Replace('\0', ' ');
        if (message.Length > MaxMessageLength) message = message[..MaxMessageLength];
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await UpsertEvaluationAsync(connection, transaction, ruleId, model, now, null, null, "error", message, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Could not record the failed evaluation of alert rule {RuleId} for {Model}", ruleId, model);
        }
    }

    private static Task UpsertEvaluationAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid ruleId, string model, DateTime now, double? value, long? sample, string outcome, string? message,
        CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO alert_evaluations (rule_id, model_name, evaluated_at, value, sample, outcome, message)
            VALUES (@ruleId, @model, @now, @value, @sample, @outcome, @message)
            ON CONFLICT (rule_id, model_name) DO UPDATE SET evaluated_at = excluded.evaluated_at, value = excluded.value, sample = excluded.sample,
                outcome = excluded.outcome, message = excluded.message
            """;
        // A NaN reading is "no value" to the condition; PostgreSQL would store it, but the pages should not show it as a number.
        var stored = value is { } v && double.IsFinite(v) ? value : null;
        return connection.ExecuteAsync(new CommandDefinition(sql, new { ruleId, model, now, value = stored, sample, outcome, message }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The alert's texts: <c>summary</c>, <c>description</c> (the rule's template), <c>link</c> and <c>threshold</c>.</summary>
    private Dictionary<string, string> Annotations(AlertRuleSpec spec, string model, double? value, ConditionResult result, IReadOnlyDictionary<string, string> labels)
    {
        var metric = MetricText(spec.Metric);
        var link = Link(options.Value.PublicUrl, model);
        var threshold = result.Describe();
        var values = new Dictionary<string, string>
        {
            ["value"] = AlertTemplate.Number(value),
            ["threshold"] = threshold,
            ["model"] = model,
            ["rule"] = spec.Name,
            ["severity"] = spec.Severity,
            ["metric"] = metric,
            ["link"] = link,
            ["window"] = spec.Window,
        };
        return new Dictionary<string, string>
        {
            ["summary"] = $"{metric} of {model} is {AlertTemplate.Number(value)} ({threshold})",
            ["description"] = AlertTemplate.Render(spec.Description ?? AlertTemplate.Default, values, labels),
            ["link"] = link,
            ["threshold"] = threshold,
        };
    }

    /// <summary>Where a person looks into an alert: the model's monitoring page (the alerts page for installation-wide ones).</summary>
    public static string Link(string? publicUrl, string model)
    {
        var path = model == AlertLabels.AllModels ? "/alerts" : $"/models/{Uri.EscapeDataString(model)}/monitoring";
        return publicUrl is null ? path : publicUrl.TrimEnd('/') + path;
    }

    /// <summary>The metric in words: its title and what it is about ("PSI of a column amount", "Estimated performance (CBPE) recall").</summary>
    public static string MetricText(AlertMetricSpec metric)
    {
        var text = AlertMetricKind.Find(metric.Kind)?.Title ?? metric.Kind;
        foreach (var part in new[] { metric.Column, metric.Metric, metric.Disparity, metric.Grouping })
        {
            if (!string.IsNullOrEmpty(part)) text += " " + part;
        }

        return text;
    }

    private static string Message(AlertRuleSpec spec, MetricPoint point, ConditionResult result)
    {
        if (result.Outcome != AlertOutcome.Unknown) return $"{AlertTemplate.Number(point.Value)} against {result.Describe()} over {spec.Window}.";
        if (point.Value is not { } v || !double.IsFinite(v)) return $"No value over the last {spec.Window}: no decision.";
        if (point.Sample < spec.MinSample) return $"{point.Sample} observations, below the rule's minimum sample of {spec.MinSample}: no decision.";
        return "The reference windows are too few (or their mean is 0) to judge against: no decision.";
    }

    private sealed record OpenAlert(Guid Id, string State, DateTime ActiveAt, DateTime? FiredAt, DateTime LastTrueAt, DateTime? KeepFiringSince, double? Value, string Annotations);
}

/// <param name="Evaluated">Rule × model pairs evaluated.</param>
/// <param name="Changed">Alerts whose state changed.</param>
/// <param name="Skipped">True when another instance holds the evaluation lock.</param>
public sealed record AlertEvaluationSummary(int Evaluated, int Changed, bool Skipped);

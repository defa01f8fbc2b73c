using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>How alert documents (rule specs, labels, annotations, matchers) are stored as JSONB.</summary>
public static class AlertJson
{
    /// <summary>The web defaults: camelCase properties as the API shows them; dictionary keys (label names) kept as written.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;
}

/// <summary>Alert rules: created, edited, enabled, disabled and deleted, every change audited with before and after.</summary>
public sealed class AlertRuleStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    /// <summary>Who adds the default rules on a first promotion.</summary>
    public const string SystemActor = "system:alerts";

    private const string Columns = "id, spec::text AS spec, revision, created_by, created_at, updated_by, updated_at";

    public async Task<IReadOnlyList<AlertRule>> ListAsync(CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {Columns} FROM alert_rules WHERE deleted_at IS NULL ORDER BY lower(name)";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RuleRow>(new CommandDefinition(sql, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToRule())];
    }

    public async Task<AlertRule?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {Columns} FROM alert_rules WHERE id = @id AND deleted_at IS NULL";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<RuleRow>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
        return row?.ToRule();
    }

    /// <exception cref="AlertException">400 naming the bad fields (a model or channel that does not exist among them); 409 for a name in use.</exception>
    public async Task<AlertRule> CreateAsync(AlertRuleSpec spec, string actor, CancellationToken cancellationToken = default)
    {
        spec = Checked(spec);
        var now = time.GetUtcNow().UtcDateTime;
        var id = Guid.CreateVersion7(time.GetUtcNow());
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (await ReferenceIssuesAsync(transaction, spec, null, cancellationToken) is { Count: > 0 } missing) throw AlertException.Invalid(missing);
            const string sql = """
                INSERT INTO alert_rules (id, name, model_name, spec, enabled, revision, created_by, created_at, updated_by, updated_at)
                VALUES (@id, @name, @model, @spec::jsonb, @enabled, 1, @actor, @now, @actor, @now)
                """;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(sql,
                    new { id, name = spec.Name, model = spec.Model, spec = AlertJson.Serialize(spec), enabled = spec.Enabled, actor, now }, transaction, cancellationToken: cancellationToken));
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw NameInUse(spec.Name);
            }

            await AuditLog.WriteAsync(transaction, now, actor, "alert.rule-create", "alert-rule", id.ToString(), new { after = spec }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new AlertRulesChanged(id), CancellationToken.None);
        return new AlertRule(id, spec, 1, actor, now, actor, now);
    }

    /// <exception cref="AlertException">400 (a model or channel that does not exist among them), 404, 409.</exception>
    public Task<AlertRule> UpdateAsync(Guid id, AlertRuleSpec spec, string actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, _ => Checked(spec), "alert.rule-update", actor, cancellationToken, checkReferences: true);

    public Task<AlertRule> SetEnabledAsync(Guid id, bool enabled, string actor, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, before => before with { Enabled = enabled }, enabled ? "alert.rule-enable" : "alert.rule-disable", actor, cancellationToken);

    /// <summary>
    /// What the rule names must exist: a mistyped model reads as "no data" for ever, a wrong channel id notifies no one.
    /// On an update only what the change adds is checked, so a rule still naming a channel deleted since can be edited.
    /// </summary>
    private static async Task<IReadOnlyList<(string Field, string Message)>> ReferenceIssuesAsync(
        NpgsqlTransaction transaction, AlertRuleSpec spec, AlertRuleSpec? before, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var issues = new List<(string, string)>();
        if (spec.Model is { } model && !string.Equals(model, before?.Model, StringComparison.OrdinalIgnoreCase))
        {
            const string sql = "SELECT EXISTS (SELECT 1 FROM registered_models WHERE lower(name) = lower(@model))";
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new { model }, transaction, cancellationToken: cancellationToken)))
                issues.Add(("model", $"No registered model is named '{model}'; leave the model out for every model."));
        }

        var added = (spec.Channels ?? []).Except(before?.Channels ?? []).ToArray();
        if (added.Length > 0)
        {
            const string sql = "SELECT id FROM notification_channels WHERE id = ANY(@added) AND deleted_at IS NULL";
            var found = (await connection.QueryAsync<Guid>(new CommandDefinition(sql, new { added }, transaction, cancellationToken: cancellationToken))).ToHashSet();
            var missing = added.Where(c => !found.Contains(c)).ToList();
            if (missing.Count > 0) issues.Add(("channels", $"No notification channel has the id {string.Join(", ", missing)}."));
        }

        return issues;
    }

    /// <summary>Deletes the rule (its history stays) and resolves its open alerts.</summary>
    /// <exception cref="AlertException">404.</exception>
    public async Task DeleteAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        int resolved;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var before = await LockAsync(connection, transaction, id, cancellationToken);
            const string sql = "UPDATE alert_rules SET deleted_at = @now, updated_by = @actor, updated_at = @now WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, now, actor }, transaction, cancellationToken: cancellationToken));
            resolved = await ResolveOpenAsync(connection, transaction, id, now, cancellationToken);
            await AuditLog.WriteAsync(transaction, now, actor, "alert.rule-delete", "alert-rule", id.ToString(),
                new { before = before.Spec, revision = before.Revision, resolvedAlerts = resolved }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new AlertRulesChanged(id), CancellationToken.None);
        if (resolved > 0) await events.PublishAsync(new AlertsChanged([]), CancellationToken.None);
    }

    /// <summary>The default rules for <paramref name="model"/> (dataset drift, estimated recall, p99 latency, label freshness).</summary>
    public static IReadOnlyList<AlertRuleSpec> Defaults(string model) => DefaultAlertRules.For(model);

    /// <summary>Creates those of the default rules the model does not have yet; returns the ones created.</summary>
    /// <remarks>
    /// Idempotent by name: a default the model has (or had and someone renamed) is not added twice. Two instances adding
    /// the same defaults at once are settled by the unique name index: the loser's insert is a 409, which is skipped here.
    /// </remarks>
    /// <exception cref="AlertException">400 for a name that is not a model name.</exception>
    public async Task<IReadOnlyList<AlertRule>> AddDefaultsAsync(string model, string actor, CancellationToken cancellationToken = default)
    {
        if (!Registry.RegistryService.IsValidName(model)) throw AlertException.Invalid([("model", $"'{model}' is not a model name.")]);
        const string sql = "SELECT lower(name) FROM alert_rules WHERE deleted_at IS NULL AND lower(name) = ANY(@names)";
        var defaults = Defaults(model);
        HashSet<string> existing;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            existing = [.. await connection.QueryAsync<string>(new CommandDefinition(sql,
                new { names = defaults.Select(d => d.Name.ToLowerInvariant()).ToArray() }, cancellationToken: cancellationToken))];
        }

        var created = new List<AlertRule>();
        foreach (var spec in defaults.Where(d => !existing.Contains(d.Name.ToLowerInvariant())))
        {
            try
            {
                created.Add(await CreateAsync(spec, actor, cancellationToken));
            }
            catch (AlertException ex) when (ex.Status == 409)
            {
                // Another instance (or person) created it in the meantime.
            }
        }

        return created;
    }

    private async Task<AlertRule> ChangeAsync(Guid id, Func<AlertRuleSpec, AlertRuleSpec> change, string action, string actor, CancellationToken cancellationToken, bool checkReferences = false)
    {
        var now = time.GetUtcNow().UtcDateTime;
        AlertRule after;
        int resolved;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var before = await LockAsync(connection, transaction, id, cancellationToken);
            var spec = change(before.Spec);
            if (checkReferences && await ReferenceIssuesAsync(transaction, spec, before.Spec, cancellationToken) is { Count: > 0 } missing) throw AlertException.Invalid(missing);
            const string sql = """
                UPDATE alert_rules SET name = @name, model_name = @model, spec = @spec::jsonb, enabled = @enabled, revision = revision + 1,
                    updated_by = @actor, updated_at = @now
                WHERE id = @id
                """;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(sql,
                    new { id, name = spec.Name, model = spec.Model, spec = AlertJson.Serialize(spec), enabled = spec.Enabled, actor, now }, transaction, cancellationToken: cancellationToken));
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw NameInUse(spec.Name);
            }

            // A disabled rule watches nothing, so what it raised is over; the evaluator would do the same on its next pass.
            resolved = spec.Enabled ? 0 : await ResolveOpenAsync(connection, transaction, id, now, cancellationToken);
            after = before with { Spec = spec, Revision = before.Revision + 1, UpdatedBy = actor, UpdatedAt = now };
            await AuditLog.WriteAsync(transaction, now, actor, action, "alert-rule", id.ToString(),
                new { before = before.Spec, after = spec, revision = after.Revision, resolvedAlerts = resolved }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new AlertRulesChanged(id), CancellationToken.None);
        if (resolved > 0) await events.PublishAsync(new AlertsChanged([]), CancellationToken.None);
        return after;
    }

    private static async Task<AlertRule> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {Columns} FROM alert_rules WHERE id = @id AND deleted_at IS NULL FOR UPDATE";
        var row = await connection.QuerySingleOrDefaultAsync<RuleRow>(new CommandDefinition(sql, new { id }, transaction, cancellationToken: cancellationToken));
        return row?.ToRule() ?? throw AlertException.NotFound($"Alert rule {id}");
    }

    internal static async Task<int> ResolveOpenAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid ruleId, DateTime now, CancellationToken cancellationToken)
    {
        const string sql = "UPDATE alerts SET state = 'resolved', resolved_at = @now WHERE rule_id = @ruleId AND state IN ('pending', 'firing')";
        return await connection.ExecuteAsync(new CommandDefinition(sql, new { ruleId, now }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The spec as stored (name trimmed), or a 400 naming every bad field.</summary>
    private static AlertRuleSpec Checked(AlertRuleSpec? spec)
    {
        if (spec is null) throw AlertException.Invalid([("name", "The rule is missing.")]);
        spec = spec with { Name = spec.Name?.Trim()!, Description = string.IsNullOrWhiteSpace(spec.Description) ? null : spec.Description };
        if (spec.Validate() is { Count: > 0 } issues) throw AlertException.Invalid(issues);
        return spec;
    }

    private static AlertException NameInUse(string name) => new($"A rule named '{name}' already exists; rule names are unique (ignoring case).", 409, [("name", "The name is in use.")]);

    private sealed record RuleRow(Guid Id, string Spec, int Revision, string CreatedBy, DateTime CreatedAt, string UpdatedBy, DateTime UpdatedAt)
    {
        public AlertRule ToRule() => new(Id, AlertJson.Deserialize<AlertRuleSpec>(Spec), Revision, CreatedBy, CreatedAt, UpdatedBy, UpdatedAt);
    }
}

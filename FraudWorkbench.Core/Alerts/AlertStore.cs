using System.Text;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Firing, pending and past alerts, acknowledgements and silences.</summary>
public sealed class AlertStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    public const int MaxTake = 1000;
    public const int MaxCommentLength = 2000;

    private const string Columns = """
        id, rule_id, rule_name, model_name, fingerprint, state, severity, value, labels::text AS labels, annotations::text AS annotations,
        active_at, fired_at, last_true_at, resolved_at, last_evaluated_at, acked_by, acked_at, ack_comment
        """;

    private const string SilenceColumns = "id, matchers::text AS matchers, starts_at, ends_at, comment, created_by, created_at, expired_by, expired_at";

    /// <summary>Newest first; <see cref="AlertFilter.Since"/> keeps alerts that were open at any time since then (still open, or resolved after it).</summary>
    public async Task<IReadOnlyList<Alert>> ListAsync(AlertFilter filter, CancellationToken cancellationToken = default)
    {
        var sql = new StringBuilder($"SELECT {Columns} FROM alerts WHERE true");
        if (filter.State is not null) sql.Append(" AND state = @State");
        if (filter.Model is not null) sql.Append(" AND model_name = @Model");
        if (filter.Severity is not null) sql.Append(" AND severity = @Severity");
        if (filter.RuleId is not null) sql.Append(" AND rule_id = @RuleId");
        if (filter.Since is not null) sql.Append(" AND (resolved_at IS NULL OR resolved_at >= @Since)");
        sql.Append(" ORDER BY active_at DESC, id DESC LIMIT @take");
        var take = Math.Clamp(filter.Take, 1, MaxTake);
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AlertRow>(new CommandDefinition(sql.ToString(),
            new { filter.State, filter.Model, filter.Severity, filter.RuleId, filter.Since, take }, cancellationToken: cancellationToken));
        var silences = await ActiveSilencesAsync(connection, now, cancellationToken);
        return [.. rows.Select(r => WithSilence(r.ToAlert(), silences, now))];
    }

    public async Task<Alert?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {Columns} FROM alerts WHERE id = @id";
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AlertRow>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
        return row is null ? null : WithSilence(row.ToAlert(), await ActiveSilencesAsync(connection, now, cancellationToken), now);
    }

    /// <summary>Open alerts for the bell: firing (silenced ones not counted), of which critical, and pending.</summary>
    public async Task<AlertCounts> CountsAsync(CancellationToken cancellationToken = default)
    {
        const string sql = "SELECT state, severity, labels::text FROM alerts WHERE state IN ('pending', 'firing')";
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var open = await connection.QueryAsync<(string State, string Severity, string Labels)>(new CommandDefinition(sql, cancellationToken: cancellationToken));
        var silences = await ActiveSilencesAsync(connection, now, cancellationToken);
        int firing = 0, critical = 0, pending = 0;
        foreach (var (state, severity, labels) in open)
        {
            if (state == AlertState.Pending)
            {
                pending++;
                continue;
            }

            var parsed = AlertJson.Deserialize<Dictionary<string, string>>(labels);
            if (silences.Any(s => s.Mutes(parsed, now))) continue;
            firing++;
            if (severity == AlertSeverity.Critical) critical++;
        }

        return new AlertCounts(firing, critical, pending);
    }

    /// <summary>Records who looked at an open alert, when, and what they said; acknowledging again replaces it.</summary>
    /// <exception cref="AlertException">400 without a comment, 404, 409 when resolved.</exception>
    public async Task<Alert> AcknowledgeAsync(Guid id, string comment, string actor, CancellationToken cancellationToken = default)
    {
        comment = comment?.Trim() ?? "";
        // An ack tells the others someone is on it; without a word it tells them nothing about what is being done.
        if (comment.Length == 0) throw AlertException.Invalid([("comment", "Say what you are doing about it: an acknowledgement needs a comment.")]);
        if (StoredText.Problem(comment, MaxCommentLength, multiline: true) is { } problem) throw AlertException.Invalid([("comment", problem)]);

        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            const string current = $"SELECT {Columns} FROM alerts WHERE id = @id FOR UPDATE";
            var before = (await connection.QuerySingleOrDefaultAsync<AlertRow>(new CommandDefinition(current, new { id }, transaction, cancellationToken: cancellationToken)))?.ToAlert()
                ?? throw AlertException.NotFound($"Alert {id}");
            if (before.State == AlertState.Resolved) throw new AlertException("This alert is resolved; there is nothing left to acknowledge.", 409, [("id", "The alert is resolved.")]);
            const string sql = "UPDATE alerts SET acked_by = @actor, acked_at = @now, ack_comment = @comment WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, actor, now, comment }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alert.ack", "alert", id.ToString(),
                new { rule = before.Rule, model = before.Model, comment, previous = before.Acknowledged ? new { before.AckedBy, before.AckedAt, before.AckComment } : null },
                cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new AlertsChanged([]), CancellationToken.None);
        return (await GetAsync(id, cancellationToken))!;
    }

    /// <summary>Active and future silences (soonest ending last), and with <paramref name="includeExpired"/> the past ones too (newest first after them).</summary>
    public async Task<IReadOnlyList<Silence>> SilencesAsync(bool includeExpired, CancellationToken cancellationToken = default)
    {
        var sql = includeExpired
            ? $"SELECT {SilenceColumns} FROM alert_silences ORDER BY (expired_at IS NULL AND ends_at > @now) DESC, ends_at DESC LIMIT 1000"
            : $"SELECT {SilenceColumns} FROM alert_silences WHERE expired_at IS NULL AND ends_at > @now ORDER BY ends_at DESC";
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<SilenceRow>(new CommandDefinition(sql, new { now }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToSilence())];
    }

    public async Task<Silence?> GetSilenceAsync(Guid id, CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {SilenceColumns} FROM alert_silences WHERE id = @id";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<SilenceRow>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken)))?.ToSilence();
    }

    /// <exception cref="AlertException">400 naming the bad fields.</exception>
    public async Task<Silence> CreateSilenceAsync(SilenceSpec spec, string actor, CancellationToken cancellationToken = default)
    {
        if (spec is null) throw AlertException.Invalid([("matchers", "The silence is missing.")]);
        var now = time.GetUtcNow().UtcDateTime;
        spec = spec with { StartsAt = Utc(spec.StartsAt), EndsAt = Utc(spec.EndsAt), Comment = spec.Comment?.Trim()! };
        if (spec.Validate(now) is { Count: > 0 } issues) throw AlertException.Invalid(issues);

        var silence = new Silence(Guid.CreateVersion7(time.GetUtcNow()), spec.Matchers, spec.StartsAt, spec.EndsAt, spec.Comment, actor, now, null, null);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            const string sql = """
                INSERT INTO alert_silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)
                VALUES (@Id, @matchers::jsonb, @StartsAt, @EndsAt, @Comment, @CreatedBy, @CreatedAt)
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql,
                new { silence.Id, matchers = AlertJson.Serialize(silence.Matchers), silence.StartsAt, silence.EndsAt, silence.Comment, silence.CreatedBy, silence.CreatedAt },
                transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alert.silence-create", "alert-silence", silence.Id.ToString(),
                new { spec.Matchers, spec.StartsAt, spec.EndsAt, spec.Comment }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new AlertsChanged([]), CancellationToken.None);
        return silence;
    }

    /// <summary>Ends a silence now (Alertmanager's "expire"); it stays in the list as history.</summary>
    /// <exception cref="AlertException">404; 409 when it already ended.</exception>
    public async Task<Silence> ExpireSilenceAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        Silence expired;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            const string current = $"SELECT {SilenceColumns} FROM alert_silences WHERE id = @id FOR UPDATE";
            var before = (await connection.QuerySingleOrDefaultAsync<SilenceRow>(new CommandDefinition(current, new { id }, transaction, cancellationToken: cancellationToken)))?.ToSilence()
                ?? throw AlertException.NotFound($"Silence {id}");
            if (before.ExpiredAt is not null || before.EndsAt <= now) throw new AlertException("This silence has already ended.", 409, [("id", "The silence has ended.")]);
            const string sql = "UPDATE alert_silences SET expired_by = @actor, expired_at = @now WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, actor, now }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alert.silence-expire", "alert-silence", id.ToString(),
                new { before.Matchers, before.StartsAt, before.EndsAt, before.Comment, before.CreatedBy }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            expired = before with { ExpiredBy = actor, ExpiredAt = now };
        }

        await events.PublishAsync(new AlertsChanged([]), CancellationToken.None);
        return expired;
    }

    /// <summary>The active silences now, for muting alerts as they are read.</summary>
    internal static async Task<IReadOnlyList<Silence>> ActiveSilencesAsync(NpgsqlConnection connection, DateTime now, CancellationToken cancellationToken)
    {
        const string sql = $"SELECT {SilenceColumns} FROM alert_silences WHERE expired_at IS NULL AND starts_at <= @now AND ends_at > @now";
        var rows = await connection.QueryAsync<SilenceRow>(new CommandDefinition(sql, new { now }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToSilence())];
    }

    private static Alert WithSilence(Alert alert, IReadOnlyList<Silence> silences, DateTime now) =>
        alert.State == AlertState.Resolved ? alert : alert with { SilencedBy = silences.FirstOrDefault(s => s.Mutes(alert.Labels, now))?.Id };

    /// <summary>A time sent with an offset arrives as local time; one without is taken as UTC, as every time here is.</summary>
    private static DateTime Utc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Local => value.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(value, DateTimeKind.Utc),
        _ => value,
    };

    internal sealed record AlertRow(
        Guid Id, Guid RuleId, string RuleName, string ModelName, string Fingerprint, string State, string Severity, double? Value, string Labels, string Annotations,
        DateTime ActiveAt, DateTime? FiredAt, DateTime LastTrueAt, DateTime? ResolvedAt, DateTime LastEvaluatedAt, string? AckedBy, DateTime? AckedAt, string? AckComment)
    {
        public Alert ToAlert() => new(
            Id, RuleId, RuleName, ModelName, Fingerprint, State, Severity, Value,
            AlertJson.Deserialize<SortedDictionary<string, string>>(Labels), AlertJson.Deserialize<SortedDictionary<string, string>>(Annotations),
            ActiveAt, FiredAt, LastTrueAt, ResolvedAt, LastEvaluatedAt, AckedBy, AckedAt, AckComment);
    }

    private sealed record SilenceRow(
        Guid Id, string Matchers, DateTime StartsAt, DateTime EndsAt, string Comment, string CreatedBy, DateTime CreatedAt, string? ExpiredBy, DateTime? ExpiredAt)
    {
        public Silence ToSilence() => new(Id, AlertJson.Deserialize<List<AlertMatcher>>(Matchers), StartsAt, EndsAt, Comment, CreatedBy, CreatedAt, ExpiredBy, ExpiredAt);
    }
}

public sealed record AlertCounts(int Firing, int Critical, int Pending);

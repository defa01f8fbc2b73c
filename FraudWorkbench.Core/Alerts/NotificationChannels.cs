using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using MimeKit;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

public static class ChannelKind
{
    /// <summary>A webhook receiving Alertmanager's webhook payload (version 4).</summary>
    public const string Alertmanager = "alertmanager";
    /// <summary>A Slack incoming webhook.</summary>
    public const string Slack = "slack";
    public const string Email = "email";

    public static readonly IReadOnlyList<string> All = [Alertmanager, Slack, Email];
}

/// <summary>A channel as created and edited.</summary>
/// <param name="Url">For webhooks: http or https, not a private address unless the operator allows it.</param>
/// <param name="Recipients">For e-mail: the addresses.</param>
/// <param name="Global">Receives every rule's alerts; otherwise only those of rules that name it.</param>
/// <param name="GroupBy">
/// Alertmanager's <c>group_by</c>: the labels whose values make a group, one notification listing every alert of the group.
/// Null for <see cref="AlertGrouping.Default"/> (the rule: one rule firing on many models is one notification); <c>["..."]</c>
/// groups by every label (each alert alone); an empty list puts all the channel's alerts in one group.
/// </param>
public sealed record ChannelSpec(
    string Name, string Kind, string? Url = null, IReadOnlyList<string>? Recipients = null, bool Global = false, bool SendResolved = true, bool Enabled = true,
    string? GroupWait = null, string? GroupInterval = null, string? RepeatInterval = null, IReadOnlyList<string>? GroupBy = null)
{
    /// <summary>The spec with its URL cut to scheme and host: what readers, the audit log and the logs may see.</summary>
    public ChannelSpec Redacted() => Url is not { } url ? this
        : this with { Url = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}/…" : "…" };
}

/// <summary>A stored channel; its secret is never read back, only whether it has one.</summary>
public sealed record NotificationChannel(Guid Id, ChannelSpec Spec, bool HasSecret, string CreatedBy, DateTime CreatedAt, string UpdatedBy, DateTime UpdatedAt)
{
    public string Name => Spec.Name;

    /// <summary>
    /// The channel as those who may not edit it see it: a webhook's URL is often a credential of its own (a Slack incoming
    /// webhook's path is its key), so they see only where it points.
    /// </summary>
    public NotificationChannel Redacted() => this with { Spec = Spec.Redacted() };
}

/// <summary>A channel just created (or its secret rotated): the signing secret, shown this once.</summary>
public sealed record CreatedChannel(NotificationChannel Channel, string? Secret);

public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    /// <summary>Gave up (a 4xx other than 429, or out of attempts): a dead letter, resendable.</summary>
    public const string Dead = "dead";
}

/// <summary>A notification sent or to send (<c>notification_deliveries</c>).</summary>
public sealed record NotificationDelivery(
    Guid Id, Guid ChannelId, string Channel, string GroupKey, string Status, bool Test, string AlertStatus, IReadOnlyList<string> Fingerprints,
    int Attempts, DateTime NextAttemptAt, int? LastStatus, string? LastError, DateTime CreatedAt, DateTime? DeliveredAt, DateTime? DeadAt);

/// <summary>Published when a delivery is queued: every instance's dispatcher looks for due work at once.</summary>
[EventName("alerts.delivery-queued")]
public sealed record NotificationQueued(Guid DeliveryId);

/// <summary>
/// Channels and their deliveries. A webhook's signing secret is stored encrypted with the app's Data Protection keys (shared
/// by the instances through PostgreSQL), returned only when created or rotated, and never written to the audit log or the log.
/// </summary>
public sealed class NotificationChannelStore(
    NpgsqlDataSource dataSource, EventHub events, TimeProvider time, IOptions<AlertsOptions> options, WebhookUrlPolicy urlPolicy, IDataProtectionProvider protection)
{
    public const int MaxNameLength = 120;
    public const int MaxRecipients = 50;

    private const string SecretPurpose = "FraudWorkbench.Alerts.WebhookSecret.v1";

    private const string ChannelColumns = """
        id AS Id, name AS Name, kind AS Kind, url AS Url, recipients AS Recipients, secret IS NOT NULL AS HasSecret, global AS Global,
        send_resolved AS SendResolved, enabled AS Enabled, group_wait_seconds AS GroupWaitSeconds, group_interval_seconds AS GroupIntervalSeconds,
        repeat_interval_seconds AS RepeatIntervalSeconds, group_by AS GroupBy, created_by AS CreatedBy, created_at AS CreatedAt, updated_by AS UpdatedBy, updated_at AS UpdatedAt
        """;

    private IDataProtector Protector => protection.CreateProtector(SecretPurpose);

    public async Task<IReadOnlyList<NotificationChannel>> ListAsync(CancellationToken cancellationToken = default)
    {
        const string sql = $"SELECT {ChannelColumns} FROM notification_channels WHERE deleted_at IS NULL ORDER BY lower(name)";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. (await connection.QueryAsync<ChannelRow>(new CommandDefinition(sql, cancellationToken: cancellationToken))).Select(r => r.ToChannel())];
    }

    public async Task<NotificationChannel?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await GetRowAsync(connection, null, id, cancellationToken))?.ToChannel();
    }

    /// <summary>Validates (URL policy included) and stores a channel; webhooks get a new signing secret, returned this once.</summary>
    /// <exception cref="AlertException">400 naming the bad fields; 409 for a name in use.</exception>
    public async Task<CreatedChannel> CreateAsync(ChannelSpec spec, string actor, CancellationToken cancellationToken = default)
    {
        var (normal, timings) = await ValidateAsync(spec, cancellationToken);
        var secret = normal.Kind == ChannelKind.Email ? null : WebhookSigner.NewSecret();
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await EnsureNameFreeAsync(connection, transaction, normal.Name, null, cancellationToken);
            const string sql = """
                INSERT INTO notification_channels (id, name, kind, url, recipients, secret, global, send_resolved, enabled, group_wait_seconds,
                    group_interval_seconds, repeat_interval_seconds, group_by, created_by, created_at, updated_by, updated_at)
                VALUES (@id, @Name, @Kind, @Url, @recipients, @secret, @Global, @SendResolved, @Enabled, @wait, @interval, @repeat, @groupBy, @actor, @now, @actor, @now)
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql, new
            {
                id, normal.Name, normal.Kind, normal.Url, recipients = (normal.Recipients ?? []).ToArray(), secret = secret is null ? null : Protector.Protect(secret),
                normal.Global, normal.SendResolved, normal.Enabled, wait = timings.Wait, interval = timings.Interval, repeat = timings.Repeat,
                groupBy = normal.GroupBy!.ToArray(), actor, now,
            }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.channel-create", "notification-channel", id.ToString(), new { channel = normal.Redacted() }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new NotificationsChanged(id), CancellationToken.None);
        return new CreatedChannel((await GetAsync(id, CancellationToken.None))!, secret);
    }

    /// <exception cref="AlertException">400 naming the bad fields (a channel's kind cannot change), 404, 409 for a name in use.</exception>
    public async Task<NotificationChannel> UpdateAsync(Guid id, ChannelSpec spec, string actor, CancellationToken cancellationToken = default)
    {
        var (normal, timings) = await ValidateAsync(spec, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var before = await GetRowAsync(connection, transaction, id, cancellationToken, forUpdate: true) ?? throw AlertException.NotFound("The channel");
            if (before.Kind != normal.Kind) throw AlertException.Invalid([("kind", $"A channel's kind cannot change (it is {before.Kind}); create a new channel instead.")]);
            await EnsureNameFreeAsync(connection, transaction, normal.Name, id, cancellationToken);
            const string sql = """
                UPDATE notification_channels SET name = @Name, url = @Url, recipients = @recipients, global = @Global, send_resolved = @SendResolved,
                    enabled = @Enabled, group_wait_seconds = @wait, group_interval_seconds = @interval, repeat_interval_seconds = @repeat,
                    group_by = @groupBy, updated_by = @actor, updated_at = @now
                WHERE id = @id
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql, new
            {
                id, normal.Name, normal.Url, recipients = (normal.Recipients ?? []).ToArray(), normal.Global, normal.SendResolved, normal.Enabled,
                wait = timings.Wait, interval = timings.Interval, repeat = timings.Repeat, groupBy = normal.GroupBy!.ToArray(), actor, now,
            }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.channel-update", "notification-channel", id.ToString(),
                new { channel = normal.Redacted(), previous = before.ToChannel().Spec.Redacted(), urlChanged = normal.Url != before.ToChannel().Spec.Url }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new NotificationsChanged(id), CancellationToken.None);
        return (await GetAsync(id, CancellationToken.None))!;
    }

    /// <summary>A new signing secret, returned this once; the old one stops working at once.</summary>
    /// <exception cref="AlertException">404; 409 for an e-mail channel (nothing to sign).</exception>
    public async Task<string> RotateSecretAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var secret = WebhookSigner.NewSecret();
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var channel = await GetRowAsync(connection, transaction, id, cancellationToken, forUpdate: true) ?? throw AlertException.NotFound("The channel");
            if (channel.Kind == ChannelKind.Email) throw new AlertException("An e-mail channel has no signing secret.", 409);
            const string sql = "UPDATE notification_channels SET secret = @secret, updated_by = @actor, updated_at = @now WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, secret = Protector.Protect(secret), actor, now }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.channel-rotate-secret", "notification-channel", id.ToString(), new { channel = channel.Name }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new NotificationsChanged(id), CancellationToken.None);
        return secret;
    }

    /// <summary>Deletes the channel (its delivery history stays); its queued deliveries become dead letters.</summary>
    /// <exception cref="AlertException">404.</exception>
    public async Task DeleteAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var channel = await GetRowAsync(connection, transaction, id, cancellationToken, forUpdate: true) ?? throw AlertException.NotFound("The channel");
            const string sql = """
                UPDATE notification_channels SET deleted_at = @now, secret = NULL, enabled = false, updated_by = @actor, updated_at = @now WHERE id = @id;
                UPDATE notification_deliveries SET status = 'dead', dead_at = @now, last_error = 'The channel was deleted.' WHERE channel_id = @id AND status = 'pending';
                DELETE FROM notification_groups WHERE channel_id = @id;
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, actor, now }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.channel-delete", "notification-channel", id.ToString(), new { channel = channel.ToChannel().Spec.Redacted() }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await events.PublishAsync(new NotificationsChanged(id), CancellationToken.None);
    }

    /// <summary>Deliveries, newest first; <paramref name="status"/> null for all.</summary>
    public async Task<IReadOnlyList<NotificationDelivery>> DeliveriesAsync(string? status, int take, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT d.id AS Id, d.channel_id AS ChannelId, c.name AS Channel, d.group_key AS GroupKey, d.status AS Status, d.test AS Test,
                d.alert_status AS AlertStatus, d.fingerprints AS Fingerprints, d.attempts AS Attempts, d.next_attempt_at AS NextAttemptAt,
                d.last_status AS LastStatus, d.last_error AS LastError, d.created_at AS CreatedAt, d.delivered_at AS DeliveredAt, d.dead_at AS DeadAt
            FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
            WHERE @status::text IS NULL OR d.status = @status
            ORDER BY d.created_at DESC, d.id DESC
            LIMIT @take
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<DeliveryRow>(new CommandDefinition(sql, new { status, take = Math.Clamp(take, 1, 1000) }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToDelivery())];
    }

    public async Task<NotificationDelivery?> GetDeliveryAsync(Guid id, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT d.id AS Id, d.channel_id AS ChannelId, c.name AS Channel, d.group_key AS GroupKey, d.status AS Status, d.test AS Test,
                d.alert_status AS AlertStatus, d.fingerprints AS Fingerprints, d.attempts AS Attempts, d.next_attempt_at AS NextAttemptAt,
                d.last_status AS LastStatus, d.last_error AS LastError, d.created_at AS CreatedAt, d.delivered_at AS DeliveredAt, d.dead_at AS DeadAt
            FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
            WHERE d.id = @id
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<DeliveryRow>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken)))?.ToDelivery();
    }

    /// <summary>Queues a dead letter again (a fresh set of attempts, the same payload); returns the new delivery's id.</summary>
    /// <exception cref="AlertException">404; 409 unless it is dead and its channel still exists.</exception>
    public async Task<Guid> ResendAsync(Guid deliveryId, string actor, CancellationToken cancellationToken = default)
    {
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            const string find = """
                SELECT d.status, d.channel_id, c.name, c.deleted_at IS NOT NULL AS deleted
                FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id WHERE d.id = @deliveryId FOR UPDATE OF d
                """;
            var found = (await connection.QueryAsync<(string Status, Guid ChannelId, string Channel, bool Deleted)>(
                new CommandDefinition(find, new { deliveryId }, transaction, cancellationToken: cancellationToken))).ToList() is [var row] ? row : throw AlertException.NotFound("The delivery");
            if (found.Status != DeliveryStatus.Dead) throw new AlertException($"Only a dead letter can be resent; this delivery is {found.Status}.", 409);
            if (found.Deleted) throw new AlertException($"The channel '{found.Channel}' was deleted.", 409);
            const string sql = """
                INSERT INTO notification_deliveries (id, channel_id, group_key, status, test, alert_status, fingerprints, payload, attempts, next_attempt_at, created_at)
                SELECT @id, channel_id, group_key, 'pending', test, alert_status, fingerprints, payload, 0, @now, @now FROM notification_deliveries WHERE id = @deliveryId
                """;
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, deliveryId, now }, transaction, cancellationToken: cancellationToken));
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.delivery-resend", "notification-delivery", deliveryId.ToString(),
                new { channel = found.Channel, resentAs = id }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            await PublishQueuedAsync(id, found.ChannelId);
        }

        return id;
    }

    /// <summary>Queues a test notification to the channel at once (no grouping; a disabled channel too); returns the delivery's id.</summary>
    /// <exception cref="AlertException">404.</exception>
    public async Task<Guid> SendTestAsync(Guid channelId, string actor, CancellationToken cancellationToken = default)
    {
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var now = time.GetUtcNow().UtcDateTime;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var channel = await GetRowAsync(connection, transaction, channelId, cancellationToken) ?? throw AlertException.NotFound("The channel");
            var message = TestMessage(channel.Name, now, options.Value);
            await InsertDeliveryAsync(transaction, id, channelId, message.GroupKey, message.Status, [], AlertPayloads.Render(channel.Kind, message), now, cancellationToken, test: true);
            await AuditLog.WriteAsync(transaction, now, actor, "alerts.channel-test", "notification-channel", channelId.ToString(), new { channel = channel.Name, delivery = id }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await PublishQueuedAsync(id, channelId);
        return id;
    }

    /// <summary>The test notification: one made-up firing alert, marked as a test in its labels and title.</summary>
    public static NotificationMessage TestMessage(string receiver, DateTime now, AlertsOptions settings)
    {
        var external = ExternalUrl(settings);
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [AlertLabels.AlertName] = "Test notification", [AlertLabels.Model] = AlertLabels.AllModels, [AlertLabels.Severity] = AlertSeverity.Info, ["test"] = "true",
        };
        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = "A test notification from FraudWorkbench.",
            ["description"] = $"Sent at {AlertPayloads.Time(now)} to check that the channel '{receiver}' receives alerts.",
        };
        var alert = new NotificationAlert(AlertState.Firing, labels, annotations, now, null, external + "/alerts", "test", "Test notification", AlertLabels.AllModels,
            AlertSeverity.Info, null);
        var groupLabels = new SortedDictionary<string, string>(StringComparer.Ordinal) { [AlertLabels.AlertName] = "Test notification" };
        return new NotificationMessage(receiver, AlertState.Firing, "{}:{alertname=\"Test notification\"}", groupLabels, [alert], external, Test: true);
    }

    /// <summary>The app's public address without a trailing slash, or empty.</summary>
    public static string ExternalUrl(AlertsOptions settings) => settings.PublicUrl?.TrimEnd('/') ?? "";

    /// <summary>The webhook secret in clear, for signing a request (never logged, never returned by a read).</summary>
    internal string? Unprotect(string? stored) => stored is null ? null : Protector.Unprotect(stored);

    internal static async Task InsertDeliveryAsync(
        NpgsqlTransaction transaction, Guid id, Guid channelId, string groupKey, string alertStatus, IReadOnlyList<string> fingerprints, string payload, DateTime now,
        CancellationToken cancellationToken, bool test = false)
    {
        const string sql = """
            INSERT INTO notification_deliveries (id, channel_id, group_key, status, test, alert_status, fingerprints, payload, attempts, next_attempt_at, created_at)
            VALUES (@id, @channelId, @groupKey, 'pending', @test, @alertStatus, @fingerprints, @payload, 0, @now, @now)
            """;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql,
            new { id, channelId, groupKey, test, alertStatus, fingerprints = fingerprints.ToArray(), payload, now }, transaction, cancellationToken: cancellationToken));
    }

    private async Task PublishQueuedAsync(Guid deliveryId, Guid channelId)
    {
        await events.PublishAsync(new NotificationQueued(deliveryId), CancellationToken.None);
        await events.PublishAsync(new NotificationsChanged(channelId), CancellationToken.None);
    }

    /// <summary>Every problem with <paramref name="spec"/>, naming its field; the spec trimmed and its timings in seconds.</summary>
    private async Task<(ChannelSpec Spec, (int Wait, int Interval, int Repeat) Timings)> ValidateAsync(ChannelSpec? spec, CancellationToken cancellationToken)
    {
        if (spec is null) throw AlertException.Invalid([("body", "Send the channel as JSON: {\"name\": ..., \"kind\": ..., \"url\": ...}.")]);
        var settings = options.Value;
        var issues = new List<(string, string)>();
        var name = spec.Name?.Trim() ?? "";
        if (name.Length == 0) issues.Add(("name", "A channel needs a name."));
        else if (name.Length > MaxNameLength) issues.Add(("name", $"A channel's name has at most {MaxNameLength} characters."));
        else if (StoredText.Problem(name, int.MaxValue) is { } nameProblem) issues.Add(("name", nameProblem));

        var kind = spec.Kind;
        if (!ChannelKind.All.Contains(kind ?? "")) issues.Add(("kind", $"The kind is one of {string.Join(", ", ChannelKind.All)}."));
        else if (kind == ChannelKind.Email && string.IsNullOrWhiteSpace(settings.Smtp.Host))
            issues.Add(("kind", "E-mail channels need an SMTP server: the operator sets FraudWorkbench:Alerts:Smtp:Host."));

        var url = string.IsNullOrWhiteSpace(spec.Url) ? null : spec.Url.Trim();
        var recipients = spec.Recipients?.Select(r => r?.Trim() ?? "").ToList();
        if (kind is ChannelKind.Alertmanager or ChannelKind.Slack)
        {
            if (await urlPolicy.ProblemAsync(url, cancellationToken) is { } problem) issues.Add(("url", problem));
            if (recipients is { Count: > 0 }) issues.Add(("recipients", "A webhook channel takes no recipients."));
        }
        else if (kind == ChannelKind.Email)
        {
            if (url is not null) issues.Add(("url", "An e-mail channel takes no url."));
            if (recipients is null || recipients.Count == 0) issues.Add(("recipients", "An e-mail channel needs at least one recipient."));
            else if (recipients.Count > MaxRecipients) issues.Add(("recipients", $"An e-mail channel has at most {MaxRecipients} recipients."));
            else
            {
                for (var i = 0; i < recipients.Count; i++)
                {
                    var r = recipients[i];
                    if (r.Length is 0 or > 320 || r.Any(char.IsControl) || !MailboxAddress.TryParse(r, out var mailbox) || mailbox.Address.IndexOf('@') <= 0)
                        issues.Add(($"recipients[{i}]", $"'{(r.Length > 100 ? r[..100] + "…" : r)}' is not an e-mail address."));
                }
            }
        }

        var wait = Duration(spec.GroupWait, settings.GroupWait, "groupWait", TimeSpan.Zero, TimeSpan.FromHours(1), issues);
        var interval = Duration(spec.GroupInterval, settings.GroupInterval, "groupInterval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), issues);
        var repeat = Duration(spec.RepeatInterval, settings.RepeatInterval, "repeatInterval", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30), issues);
        var groupBy = spec.GroupBy ?? AlertGrouping.Default;
        if (AlertGrouping.Problem(groupBy) is { } groupProblem) issues.Add(("groupBy", groupProblem));
        if (issues.Count > 0) throw AlertException.Invalid(issues);

        var normal = spec with
        {
            Name = name, Url = kind == ChannelKind.Email ? null : url, Recipients = kind == ChannelKind.Email ? recipients : [],
            GroupWait = AlertDuration.Format(wait), GroupInterval = AlertDuration.Format(interval), RepeatInterval = AlertDuration.Format(repeat),
            GroupBy = [.. groupBy],
        };
        return (normal, ((int)wait.TotalSeconds, (int)interval.TotalSeconds, (int)repeat.TotalSeconds));
    }

    private static TimeSpan Duration(string? text, TimeSpan fallback, string field, TimeSpan min, TimeSpan max, List<(string, string)> issues)
    {
        if (text is null) return TimeSpan.FromSeconds(Math.Clamp(Math.Round(fallback.TotalSeconds), min.TotalSeconds, max.TotalSeconds));
        if (AlertDuration.TryParse(text, out var value) && value >= min && value <= max) return value;
        issues.Add((field, $"{field} is a duration from {AlertDuration.Format(min)} to {AlertDuration.Format(max)}, such as 30s, 5m or 4h."));
        return fallback;
    }

    private static async Task EnsureNameFreeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, Guid? except, CancellationToken cancellationToken)
    {
        // Two saves of the same new name at once: the second waits here, then sees the first.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended('notification_channels:' || lower(@name), 0))",
            new { name }, transaction, cancellationToken: cancellationToken));
        const string sql = "SELECT EXISTS (SELECT 1 FROM notification_channels WHERE lower(name) = lower(@name) AND deleted_at IS NULL AND id IS DISTINCT FROM @except)";
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(sql, new { name, except }, transaction, cancellationToken: cancellationToken)))
            throw new AlertException($"A channel named '{name}' already exists.", 409, [("name", "The name is in use.")]);
    }

    private static async Task<ChannelRow?> GetRowAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid id, CancellationToken cancellationToken, bool forUpdate = false)
    {
        var sql = $"SELECT {ChannelColumns} FROM notification_channels WHERE id = @id AND deleted_at IS NULL" + (forUpdate ? " FOR UPDATE" : "");
        return await connection.QuerySingleOrDefaultAsync<ChannelRow>(new CommandDefinition(sql, new { id }, transaction, cancellationToken: cancellationToken));
    }

    private sealed class ChannelRow
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public string? Url { get; init; }
        public string[] Recipients { get; init; } = [];
        public bool HasSecret { get; init; }
        public bool Global { get; init; }
        public bool SendResolved { get; init; }
        public bool Enabled { get; init; }
        public int GroupWaitSeconds { get; init; }
        public int GroupIntervalSeconds { get; init; }
        public int RepeatIntervalSeconds { get; init; }
        public string[] GroupBy { get; init; } = [];
        public string CreatedBy { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public string UpdatedBy { get; init; } = "";
        public DateTime UpdatedAt { get; init; }

        public NotificationChannel ToChannel() => new(Id,
            new ChannelSpec(Name, Kind, Url, Recipients, Global, SendResolved, Enabled,
                AlertDuration.Format(TimeSpan.FromSeconds(GroupWaitSeconds)), AlertDuration.Format(TimeSpan.FromSeconds(GroupIntervalSeconds)),
                AlertDuration.Format(TimeSpan.FromSeconds(RepeatIntervalSeconds)), GroupBy),
            HasSecret, CreatedBy, CreatedAt, UpdatedBy, UpdatedAt);
    }

    private sealed class DeliveryRow
    {
        public Guid Id { get; init; }
        public Guid ChannelId { get; init; }
        public string Channel { get; init; } = "";
        public string GroupKey { get; init; } = "";
        public string Status { get; init; } = "";
        public bool Test { get; init; }
        public string AlertStatus { get; init; } = "";
        public string[] Fingerprints { get; init; } = [];
        public int Attempts { get; init; }
        public DateTime NextAttemptAt { get; init; }
        public int? LastStatus { get; init; }
        public string? LastError { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? DeliveredAt { get; init; }
        public DateTime? DeadAt { get; init; }

        public NotificationDelivery ToDelivery() => new(Id, ChannelId, Channel, GroupKey, Status, Test, AlertStatus, Fingerprints, Attempts, NextAttemptAt, LastStatus, LastError,
            CreatedAt, DeliveredAt, DeadAt);
    }
}

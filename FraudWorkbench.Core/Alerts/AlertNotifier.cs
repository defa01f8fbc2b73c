using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using FraudWorkbench.Core.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Turns alerts into notifications as Alertmanager does, in the one instance that wins a transaction-scoped advisory lock
/// on each pass. Per enabled channel, the alerts it receives (a global channel every rule's, another only those of rules that
/// name it) are grouped by the channel's <c>group_by</c> labels (by default the rule: one rule firing on many models is one
/// group, one notification listing them all). A new group waits <c>group_wait</c> (an alert resolved by then sends nothing);
/// a group already notified is looked at again <c>group_interval</c> after its last notification and sent when an alert is
/// new, has resolved (with <c>send_resolved</c>) or all have resolved; an unchanged firing group is sent again after
/// <c>repeat_interval</c>. A notification carries the group's firing alerts and, with <c>send_resolved</c>, those resolved
/// since the last one (as Alertmanager's). Silenced alerts are left out as if they did not fire. Each notification is a row of
/// <c>notification_deliveries</c>, written with the group's new state in one transaction, for the dispatcher to send.
/// Runs when alerts change and on a short tick (the group timings fall due between evaluations).
/// </summary>
public sealed class AlertNotifier(
    NpgsqlDataSource dataSource, EventHub events, TimeProvider time, IOptions<AlertsOptions> options, ILogger<AlertNotifier> logger,
    IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    /// <summary>How often group timings are checked when no alert changed.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>The advisory lock a pass takes for its transaction: one instance groups at a time.</summary>
    internal const long LockKey = 0x616C6572_746E6F74; // "alertnot"

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Channel<bool> signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var alerts = events.Subscribe<AlertsChanged>(_ => signal.Writer.TryWrite(true));
        try
        {
            await HostStartedAsync(lifetime, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                tick.CancelAfter(Tick);
                try
                {
                    await signal.Reader.WaitToReadAsync(tick.Token);
                    signal.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The tick.
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Grouping alerts into notifications failed; trying again shortly");
                try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Waits until the host has started: these services are registered with the capabilities, ahead of the migrations, and
    /// must not query tables a first start has not created yet.
    /// </summary>
    internal static async Task HostStartedAsync(IHostApplicationLifetime? lifetime, CancellationToken stoppingToken)
    {
        if (lifetime is null) return;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task;
        }
    }

    /// <summary>One pass: queues the notifications now due; returns how many (0 when another instance holds the lock).</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var external = NotificationChannelStore.ExternalUrl(options.Value);
        var queued = new List<(Guid Delivery, Guid Channel)>();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_xact_lock(@LockKey)", new { LockKey }, transaction, cancellationToken: cancellationToken)))
                return 0;

            const string channelSql = """
                SELECT id AS Id, name AS Name, kind AS Kind, global AS Global, send_resolved AS SendResolved, group_wait_seconds AS GroupWaitSeconds,
                    group_interval_seconds AS GroupIntervalSeconds, repeat_interval_seconds AS RepeatIntervalSeconds, group_by AS GroupBy
                FROM notification_channels WHERE deleted_at IS NULL AND enabled ORDER BY id
                """;
            var channels = (await connection.QueryAsync<ChannelRow>(new CommandDefinition(channelSql, transaction: transaction, cancellationToken: cancellationToken))).ToList();
            if (channels.Count == 0) return 0;

            const string groupSql = """
                SELECT g.channel_id AS ChannelId, g.group_key AS GroupKey, g.first_seen_at AS FirstSeenAt, g.last_sent_at AS LastSentAt,
                    g.sent_firing AS SentFiring, g.sent_resolved AS SentResolved
                FROM notification_groups g JOIN notification_channels c ON c.id = g.channel_id WHERE c.deleted_at IS NULL AND c.enabled
                """;
            var groups = (await connection.QueryAsync<GroupRow>(new CommandDefinition(groupSql, transaction: transaction, cancellationToken: cancellationToken)))
                .ToDictionary(g => (g.ChannelId, g.GroupKey));

            // The firing alerts, and the latest episode of every alert some group last notified as firing (to tell it has resolved).
            const string alertSql = """
                SELECT DISTINCT ON (fingerprint) id AS Id, rule_id AS RuleId, rule_name AS Rule, model_name AS Model, fingerprint AS Fingerprint, state AS State,
                    severity AS Severity, value AS Value, labels::text AS Labels, annotations::text AS Annotations, active_at AS ActiveAt, fired_at AS FiredAt,
                    resolved_at AS ResolvedAt
                FROM alerts
                WHERE state = 'firing' OR (state = 'resolved' AND fired_at IS NOT NULL AND fingerprint = ANY(@sent))
                ORDER BY fingerprint, state = 'firing' DESC, active_at DESC
                """;
            var sent = groups.Values.SelectMany(g => g.SentFiring).Distinct().ToArray();
            var alerts = (await connection.QueryAsync<AlertRow>(new CommandDefinition(alertSql, new { sent }, transaction, cancellationToken: cancellationToken)))
                .Select(a => a.ToAlert(external)).ToList();

            const string ruleSql = "SELECT id AS Id, coalesce(spec->'channels', spec->'Channels')::text AS Channels FROM alert_rules WHERE id = ANY(@ids)";
            var ruleIds = alerts.Select(a => a.RuleId).Distinct().ToArray();
            var ruleChannels = (await connection.QueryAsync<(Guid Id, string? Channels)>(new CommandDefinition(ruleSql, new { ids = ruleIds }, transaction, cancellationToken: cancellationToken)))
                .ToDictionary(r => r.Id, r => ParseChannels(r.Channels));

            const string silenceSql = """
                SELECT id AS Id, matchers::text AS Matchers, starts_at AS StartsAt, ends_at AS EndsAt, comment AS Comment, created_by AS CreatedBy, created_at AS CreatedAt
                FROM alert_silences WHERE expired_at IS NULL AND starts_at <= @now AND ends_at > @now
                """;
            var silences = (await connection.QueryAsync<SilenceRow>(new CommandDefinition(silenceSql, new { now }, transaction, cancellationToken: cancellationToken)))
                .Select(s => s.ToSilence()).ToList();
            var audible = alerts.Where(a => !silences.Any(s => s.Mutes(a.Alert.Labels, now))).ToList();

            foreach (var channel in channels)
            {
                var mine = audible.Where(a => channel.Global || (ruleChannels.TryGetValue(a.RuleId, out var named) && named.Contains(channel.Id)))
                    .Select(a => a.In(channel.GroupBy)).ToList();
                var keys = mine.Select(a => a.GroupKey).Concat(groups.Keys.Where(k => k.ChannelId == channel.Id).Select(k => k.GroupKey)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    groups.TryGetValue((channel.Id, key), out var group);
                    var members = mine.Where(a => a.GroupKey == key).ToList();
                    var firing = members.Where(a => a.Alert.Status == AlertState.Firing).ToList();
                    var previous = group?.SentFiring.ToHashSet(StringComparer.Ordinal) ?? [];
                    var resolved = members.Where(a => a.Alert.Status == AlertState.Resolved && previous.Contains(a.Alert.Fingerprint)).ToList();
                    if (group is null)
                    {
                        if (firing.Count == 0) continue;
                        group = new GroupRow { ChannelId = channel.Id, GroupKey = key, FirstSeenAt = now };
                        await InsertGroupAsync(transaction, group, cancellationToken);
                    }

                    var due = group.LastSentAt is { } last ? now >= last + TimeSpan.FromSeconds(channel.GroupIntervalSeconds) : now >= group.FirstSeenAt + TimeSpan.FromSeconds(channel.GroupWaitSeconds);
                    if (!due) continue;

                    if (!NeedsUpdate(group, firing, resolved, channel, now))
                    {
                        // Nothing left that the receiver was told about: the group ends, and a new alert starts a new one (with group_wait).
                        if (firing.Count == 0) await DeleteGroupAsync(transaction, group, cancellationToken);
                        continue;
                    }

                    var included = firing.Concat(channel.SendResolved ? resolved : []).Select(a => a.Alert).ToList();
                    if (included.Count > 0)
                    {
                        var status = firing.Count > 0 ? AlertState.Firing : AlertState.Resolved;
                        var message = new NotificationMessage(channel.Name, status, key, members[0].GroupLabels, included, external);
                        var id = Guid.CreateVersion7(time.GetUtcNow());
                        await NotificationChannelStore.InsertDeliveryAsync(transaction, id, channel.Id, key, status, included.Select(a => a.Fingerprint).ToList(),
                            AlertPayloads.Render(channel.Kind, message), now, cancellationToken);
                        queued.Add((id, channel.Id));
                    }

                    if (firing.Count == 0)
                    {
                        await DeleteGroupAsync(transaction, group, cancellationToken);
                    }
                    else
                    {
                        const string update = """
                            UPDATE notification_groups SET last_sent_at = @now, sent_firing = @firing, sent_resolved = @resolved
                            WHERE channel_id = @ChannelId AND group_key = @GroupKey
                            """;
                        await connection.ExecuteAsync(new CommandDefinition(update, new
                        {
                            now, firing = firing.Select(a => a.Alert.Fingerprint).ToArray(), resolved = resolved.Select(a => a.Alert.Fingerprint).ToArray(),
                            group.ChannelId, group.GroupKey,
                        }, transaction, cancellationToken: cancellationToken));
                    }
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        foreach (var (delivery, channel) in queued)
        {
            await events.PublishAsync(new NotificationQueued(delivery), CancellationToken.None);
            await events.PublishAsync(new NotificationsChanged(channel), CancellationToken.None);
        }

        if (queued.Count > 0) logger.LogInformation("Queued {Count} alert notifications", queued.Count);
        return queued.Count;
    }

    /// <summary>Alertmanager's rule for a group that is due: notify for a new firing alert, for all resolved, for newly resolved ones when they are sent, or when the repeat interval has passed.</summary>
    private static bool NeedsUpdate(GroupRow group, List<GroupedAlert> firing, List<GroupedAlert> resolved, ChannelRow channel, DateTime now)
    {
        if (group.LastSentAt is not { } last) return firing.Count > 0;
        var previous = group.SentFiring.ToHashSet(StringComparer.Ordinal);
        if (!firing.All(a => previous.Contains(a.Alert.Fingerprint))) return true;
        // All resolved (or silenced): tell the receiver, unless it never heard of any.
        if (firing.Count == 0) return previous.Count > 0;
        if (channel.SendResolved && !resolved.All(a => group.SentResolved.Contains(a.Alert.Fingerprint))) return true;
        return now >= last + TimeSpan.FromSeconds(channel.RepeatIntervalSeconds);
    }

    /// <summary>The key of the group of an alert grouped by alertname and model (Alertmanager's form).</summary>
    public static string GroupKey(string alertName, string model) =>
        AlertGrouping.Key(new Dictionary<string, string> { [AlertLabels.AlertName] = alertName, [AlertLabels.Model] = model });

    private static HashSet<Guid> ParseChannels(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<Guid>>(json, Json)?.ToHashSet() ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static async Task InsertGroupAsync(NpgsqlTransaction transaction, GroupRow group, CancellationToken cancellationToken)
    {
        const string sql = "INSERT INTO notification_groups (channel_id, group_key, first_seen_at) VALUES (@ChannelId, @GroupKey, @FirstSeenAt)";
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, group, transaction, cancellationToken: cancellationToken));
    }

    private static async Task DeleteGroupAsync(NpgsqlTransaction transaction, GroupRow group, CancellationToken cancellationToken)
    {
        const string sql = "DELETE FROM notification_groups WHERE channel_id = @ChannelId AND group_key = @GroupKey";
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new { group.ChannelId, group.GroupKey }, transaction, cancellationToken: cancellationToken));
    }

    private static IReadOnlyDictionary<string, string> Dictionary(string? json)
    {
        if (string.IsNullOrEmpty(json)) return new Dictionary<string, string>();
        try
        {
            using var document = JsonDocument.Parse(json);
            var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return values;
            foreach (var p in document.RootElement.EnumerateObject())
                values[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            return values;
        }
        catch (JsonException)
        {
            return new Dictionary<string, string>();
        }
    }

    /// <summary>An alert the channels may receive; <see cref="In"/> places it in a channel's group.</summary>
    private sealed record ReadAlert(Guid RuleId, NotificationAlert Alert)
    {
        public GroupedAlert In(IReadOnlyList<string> groupBy)
        {
            var labels = AlertGrouping.Labels(groupBy, Alert.Labels);
            return new GroupedAlert(RuleId, AlertGrouping.Key(labels), labels, Alert);
        }
    }

    private sealed record GroupedAlert(Guid RuleId, string GroupKey, IReadOnlyDictionary<string, string> GroupLabels, NotificationAlert Alert);

    private sealed class ChannelRow
    {
        public Guid Id { get; init; }
        public string Name { get; init; } = "";
        public string Kind { get; init; } = "";
        public bool Global { get; init; }
        public bool SendResolved { get; init; }
        public int GroupWaitSeconds { get; init; }
        public int GroupIntervalSeconds { get; init; }
        public int RepeatIntervalSeconds { get; init; }
        public string[] GroupBy { get; init; } = [];
    }

    private sealed class GroupRow
    {
        public Guid ChannelId { get; init; }
        public string GroupKey { get; init; } = "";
        public DateTime FirstSeenAt { get; init; }
        public DateTime? LastSentAt { get; init; }
        public string[] SentFiring { get; init; } = [];
        public string[] SentResolved { get; init; } = [];
    }

    private sealed class AlertRow
    {
        public Guid Id { get; init; }
        public Guid RuleId { get; init; }
        public string Rule { get; init; } = "";
        public string Model { get; init; } = "";
        public string Fingerprint { get; init; } = "";
        public string State { get; init; } = "";
        public string Severity { get; init; } = "";
        public double? Value { get; init; }
        public string? Labels { get; init; }
        public string? Annotations { get; init; }
        public DateTime ActiveAt { get; init; }
        public DateTime? FiredAt { get; init; }
        public DateTime? ResolvedAt { get; init; }

        public ReadAlert ToAlert(string external)
        {
            // An episode written before its labels were stored still groups by its rule and model.
            var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in Dictionary(Labels)) labels[k] = v;
            labels.TryAdd(AlertLabels.AlertName, Rule);
            labels.TryAdd(AlertLabels.Model, Model);
            var alert = new NotificationAlert(State == AlertState.Firing ? AlertState.Firing : AlertState.Resolved, labels, Dictionary(Annotations), FiredAt ?? ActiveAt,
                State == AlertState.Firing ? null : ResolvedAt, $"{external}/alerts", Fingerprint, Rule, Model, Severity, Value);
            return new ReadAlert(RuleId, alert);
        }
    }

    private sealed class SilenceRow
    {
        public Guid Id { get; init; }
        public string Matchers { get; init; } = "[]";
        public DateTime StartsAt { get; init; }
        public DateTime EndsAt { get; init; }
        public string Comment { get; init; } = "";
        public string CreatedBy { get; init; } = "";
        public DateTime CreatedAt { get; init; }

        public Silence ToSilence()
        {
            IReadOnlyList<AlertMatcher> matchers;
            try
            {
                matchers = JsonSerializer.Deserialize<List<AlertMatcher>>(Matchers, Json) ?? [];
            }
            catch (JsonException)
            {
                matchers = [];
            }

            // A silence whose matchers cannot be read mutes nothing (an empty list would mute everything).
            if (matchers.Count == 0) matchers = [new AlertMatcher(AlertLabels.AlertName, MatcherOp.Equal, "\0")];
            return new Silence(Id, matchers, StartsAt, EndsAt, Comment, CreatedBy, CreatedAt, null, null);
        }
    }
}

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
public sealed record ChannelSpec(
    string Name, string Kind, string? Url = null, IReadOnlyList<string>? Recipients = null, bool Global = false, bool SendResolved = true, bool Enabled = true,
    string? GroupWait = null, string? GroupInterval = null, string? RepeatInterval = null);

/// <summary>A stored channel; its secret is never read back, only whether it has one.</summary>
public sealed record NotificationChannel(Guid Id, ChannelSpec Spec, bool HasSecret, string CreatedBy, DateTime CreatedAt, string UpdatedBy, DateTime UpdatedAt)
{
    public string Name => Spec.Name;
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

/// <summary>Channels and their deliveries (STUB: implemented by the delivery work).</summary>
public sealed class NotificationChannelStore
{
    public Task<IReadOnlyList<NotificationChannel>> ListAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<NotificationChannel?> GetAsync(Guid id, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Validates (URL policy included) and stores a channel; webhooks get a new signing secret, returned this once.</summary>
    /// <exception cref="AlertException">400 naming the bad fields; 409 for a name in use.</exception>
    public Task<CreatedChannel> CreateAsync(ChannelSpec spec, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<NotificationChannel> UpdateAsync(Guid id, ChannelSpec spec, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>A new signing secret, returned this once.</summary>
    public Task<string> RotateSecretAsync(Guid id, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task DeleteAsync(Guid id, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Deliveries, newest first; <paramref name="status"/> null for all.</summary>
    public Task<IReadOnlyList<NotificationDelivery>> DeliveriesAsync(string? status, int take, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Queues a dead letter again (a fresh set of attempts); returns the new delivery's id.</summary>
    public Task<Guid> ResendAsync(Guid deliveryId, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Queues a test notification to the channel at once (no grouping); returns the delivery's id.</summary>
    public Task<Guid> SendTestAsync(Guid channelId, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}

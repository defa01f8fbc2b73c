using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FraudWorkbench.Core.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Alerts;

/// <summary>The connect-time guard refused the address a webhook's host resolved to: never retried.</summary>
public sealed class WebhookAddressRefusedException(string message) : IOException(message);

/// <summary>
/// Sends queued notifications, in every instance: due rows are claimed with <c>FOR UPDATE SKIP LOCKED</c> (and leased by
/// moving their next attempt past the request's time limit, so a crashed instance's claim comes back by itself), then sent
/// without holding a transaction. 2xx is delivered; a network error, a timeout, 408, 429 and 5xx are retried with exponential
/// backoff and full jitter, or after the receiver's Retry-After; any other answer makes the delivery a dead letter at once,
/// as does running out of attempts. Woken at once when a delivery is queued.
/// </summary>
public sealed class NotificationDispatcher(
    NpgsqlDataSource dataSource, NotificationChannelStore channels, IHttpClientFactory httpClients, EventHub events, TimeProvider time,
    IOptions<AlertsOptions> options, ILogger<NotificationDispatcher> logger, IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    /// <summary>Deliveries sent at the same time by one instance (a slow receiver does not hold up the others).</summary>
    public const int Slots = 4;

    /// <summary>How long an idle slot sleeps when nothing is due and no event woke it (covers a missed notification).</summary>
    public static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(5);

    /// <summary>A Retry-After longer than this is taken as this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(6);

    private readonly SemaphoreSlim wakeUp = new(0, Slots);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<NotificationQueued>(_ => Wake());
        try
        {
            await AlertNotifier.HostStartedAsync(lifetime, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await Task.WhenAll(Enumerable.Range(0, Slots).Select(_ => RunSlotAsync(stoppingToken)));
    }

    private void Wake()
    {
        try
        {
            if (wakeUp.CurrentCount < Slots) wakeUp.Release(Slots - wakeUp.CurrentCount);
        }
        catch (SemaphoreFullException)
        {
            // Already awake.
        }
    }

    private async Task RunSlotAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await DispatchOnceAsync(stoppingToken)) continue;
                await wakeUp.WaitAsync(await IdleDelayAsync(stoppingToken), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "The notification dispatcher failed; trying again shortly");
                try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Until the next delivery falls due (a retry's backoff), at most <see cref="IdlePoll"/>.</summary>
    private async Task<TimeSpan> IdleDelayAsync(CancellationToken cancellationToken)
    {
        const string sql = "SELECT min(next_attempt_at) FROM notification_deliveries WHERE status = 'pending'";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var next = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(sql, cancellationToken: cancellationToken));
        if (next is null) return IdlePoll;
        var wait = next.Value - time.GetUtcNow().UtcDateTime;
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(10) : wait < IdlePoll ? wait + TimeSpan.FromMilliseconds(5) : IdlePoll;
    }

    /// <summary>Claims one due delivery and sends it; false when nothing was due.</summary>
    public async Task<bool> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var lease = now + settings.RequestTimeout + TimeSpan.FromSeconds(30);
        Claimed? claimed;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string sql = """
                UPDATE notification_deliveries d SET attempts = d.attempts + 1, next_attempt_at = @lease
                FROM (SELECT id FROM notification_deliveries WHERE status = 'pending' AND next_attempt_at <= @now
                      ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) due, notification_channels c
                WHERE d.id = due.id AND c.id = d.channel_id
                RETURNING d.id AS Id, d.channel_id AS ChannelId, d.payload AS Payload, d.attempts AS Attempts, c.name AS Channel, c.kind AS Kind, c.url AS Url,
                    c.recipients AS Recipients, c.secret AS Secret, c.deleted_at IS NOT NULL AS Deleted
                """;
            claimed = await connection.QuerySingleOrDefaultAsync<Claimed>(new CommandDefinition(sql, new { now, lease }, cancellationToken: cancellationToken));
        }

        if (claimed is null) return false;
        Outcome outcome;
        try
        {
            outcome = claimed.Deleted
                ? Outcome.Dead(null, "The channel was deleted.")
                : claimed.Kind == ChannelKind.Email ? await SendEmailAsync(claimed, settings, cancellationToken) : await PostAsync(claimed, settings, cancellationToken);
        }
        catch (CryptographicException)
        {
            // The key ring that encrypted the secret is gone (a new data directory, keys not shared): nothing to sign with.
            outcome = Outcome.Dead(null, "The channel's signing secret cannot be decrypted with this installation's Data Protection keys; rotate the secret, then resend.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong counts as an attempt, so the attempt limit still ends it.
            outcome = Outcome.Retry(null, $"Unexpected error: {ex.GetType().Name}: {ex.Message}", null);
        }

        await RecordAsync(claimed, outcome, settings, cancellationToken);
        return true;
    }

    private async Task<Outcome> PostAsync(Claimed delivery, AlertsOptions settings, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json") };
        if (channels.Unprotect(delivery.Secret) is { } secret)
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Add(WebhookSigner.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSigner.SignatureHeader, WebhookSigner.Sign(secret, timestamp, delivery.Payload));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.RequestTimeout);
        try
        {
            using var response = await httpClients.CreateClient(WebhookUrlPolicy.HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return Outcome.Delivered(status);
            var detail = await ReadSnippetAsync(response, timeout.Token);
            var error = $"HTTP {status} {response.ReasonPhrase}{(detail.Length > 0 ? $": {detail}" : "")}";
            var retryable = status >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
            // Any retryable answer may say when to come back (a 500 or 502 from a proxy in front of a restarting receiver does too).
            if (retryable && RetryAfter(response.Headers.RetryAfter) is { } after) return Outcome.Retry(status, error + $" (retry after {after.TotalSeconds:0.#} s)", after);
            if (retryable) return Outcome.Retry(status, error, null);
            if (status is >= 300 and < 400) return Outcome.Dead(status, error + " (redirects are not followed; configure the final address)");
            return Outcome.Dead(status, error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Outcome.Retry(null, $"No answer within {settings.RequestTimeout.TotalSeconds:0.#} s.", null);
        }
        catch (HttpRequestException ex) when (Refusal(ex) is { } refused)
        {
            return Outcome.Dead(null, refused.Message);
        }
        catch (HttpRequestException ex)
        {
            return Outcome.Retry(null, $"Network error: {ex.Message}", null);
        }
    }

    private async Task<Outcome> SendEmailAsync(Claimed delivery, AlertsOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            await AlertEmail.SendAsync(settings.Smtp, AlertEmailContent.FromJson(delivery.Payload), delivery.Recipients, settings.RequestTimeout, cancellationToken);
            return Outcome.Delivered(null);
        }
        catch (AlertEmailException ex)
        {
            return ex.Retry ? Outcome.Retry(null, ex.Message, null) : Outcome.Dead(null, ex.Message);
        }
    }

    private async Task RecordAsync(Claimed delivery, Outcome outcome, AlertsOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var dead = outcome.Kind == OutcomeKind.Dead || (outcome.Kind == OutcomeKind.Retry && delivery.Attempts >= settings.MaxAttempts);
        var error = outcome.Error is null ? null : outcome.Kind == OutcomeKind.Retry && dead ? $"{outcome.Error} Gave up after {delivery.Attempts} attempts." : outcome.Error;
        var status = outcome.Kind == OutcomeKind.Delivered ? DeliveryStatus.Delivered : dead ? DeliveryStatus.Dead : DeliveryStatus.Pending;
        // Retry-After is the least wait the receiver asks for, never a reason to retry sooner than the backoff ("0" would spin).
        var backoff = Backoff(delivery.Attempts, settings, Random.Shared);
        var next = status == DeliveryStatus.Pending ? now + (outcome.RetryAfter is { } after && after > backoff ? after : backoff) : now;
        // Only while the claim is ours: a lease that ran out and was claimed again elsewhere is that instance's to record.
        const string sql = """
            UPDATE notification_deliveries SET status = @status, next_attempt_at = @next, last_status = @lastStatus, last_error = @error,
                delivered_at = CASE WHEN @status = 'delivered' THEN @now END, dead_at = CASE WHEN @status = 'dead' THEN @now END
            WHERE id = @id AND attempts = @attempts AND status = 'pending'
            """;
        await using (var connection = await dataSource.OpenConnectionAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(new CommandDefinition(sql, new
            {
                id = delivery.Id, attempts = delivery.Attempts, status, next, lastStatus = outcome.HttpStatus, error = Truncate(error), now,
            }, cancellationToken: CancellationToken.None));
        }

        if (status == DeliveryStatus.Delivered)
            logger.LogInformation("Delivered notification {DeliveryId} to channel {Channel} on attempt {Attempt}", delivery.Id, delivery.Channel, delivery.Attempts);
        else if (status == DeliveryStatus.Dead)
            logger.LogWarning("Notification {DeliveryId} to channel {Channel} is a dead letter after attempt {Attempt}: {Error}", delivery.Id, delivery.Channel, delivery.Attempts, error);
        else
            logger.LogInformation("Notification {DeliveryId} to channel {Channel} failed on attempt {Attempt} ({Error}); next attempt at {Next:o}",
                delivery.Id, delivery.Channel, delivery.Attempts, error, next);
        await events.PublishAsync(new NotificationsChanged(delivery.ChannelId), CancellationToken.None);
        if (status == DeliveryStatus.Pending) Wake();
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: full jitter, uniform in [0, min(max, initial · 2^(attempt−1))].</summary>
    public static TimeSpan Backoff(int attempt, AlertsOptions settings, Random random)
    {
        var cap = settings.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 40));
        cap = Math.Min(cap, settings.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(random.NextDouble() * cap);
    }

    /// <summary>Retry-After as seconds or an HTTP date, from now; null when absent.</summary>
    public TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        TimeSpan? after = header switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow(),
            _ => null,
        };
        return after is null ? null : after < TimeSpan.Zero ? TimeSpan.Zero : after > MaxRetryAfter ? MaxRetryAfter : after;
    }

    private static WebhookAddressRefusedException? Refusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is WebhookAddressRefusedException refused) return refused;
        }

        return null;
    }

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var buffer = new char[200];
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            var read = await reader.ReadBlockAsync(buffer, cancellationToken);
            return new string(buffer, 0, read).ReplaceLineEndings(" ").Trim();
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            return "";
        }
    }

    private static string? Truncate(string? text) => text is { Length: > 1000 } ? text[..1000] + "…" : text;

    public override void Dispose()
    {
        wakeUp.Dispose();
        base.Dispose();
    }

    private sealed class Claimed
    {
        public Guid Id { get; init; }
        public Guid ChannelId { get; init; }
        public string Payload { get; init; } = "";
        public int Attempts { get; init; }
        public string Channel { get; init; } = "";
        public string Kind { get; init; } = "";
        public string? Url { get; init; }
        public string[] Recipients { get; init; } = [];
        public string? Secret { get; init; }
        public bool Deleted { get; init; }
    }

    private enum OutcomeKind { Delivered, Retry, Dead }

    private sealed record Outcome(OutcomeKind Kind, int? HttpStatus, string? Error, TimeSpan? RetryAfter)
    {
        public static Outcome Delivered(int? status) => new(OutcomeKind.Delivered, status, null, null);

        public static Outcome Retry(int? status, string error, TimeSpan? after) => new(OutcomeKind.Retry, status, error, after);

        public static Outcome Dead(int? status, string error) => new(OutcomeKind.Dead, status, error, null);
    }
}

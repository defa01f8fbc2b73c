using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The delivery queue against a real HTTP receiver on loopback: payload and signature, retries, Retry-After, dead letters and resend.</summary>
[Trait("Category", "Database")]
public sealed class NotificationDispatcherTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly DeliveryHarness harness = new(database, new AlertsOptions
    {
        AllowPrivateNetworks = true, InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200), MaxAttempts = 3,
        RequestTimeout = TimeSpan.FromSeconds(5), PublicUrl = "https://wb.example.com/",
    });

    private WebhookReceiver receiver = default!;

    public async Task InitializeAsync()
    {
        await harness.ResetAsync();
        receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await receiver.DisposeAsync();
        await harness.DisposeAsync();
    }

    /// <summary>What a receiver does with the documented scheme, written here without the app's signer.</summary>
    private static bool SignatureValid(string secret, WebhookReceiver.Received request)
    {
        var timestamp = request.Headers["X-FraudWorkbench-Timestamp"];
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{request.Body}")));
        return request.Headers["X-FraudWorkbench-Signature"] == expected;
    }

    private async Task<CreatedChannel> ChannelAsync(string kind = ChannelKind.Alertmanager) =>
        await harness.Store.CreateAsync(new ChannelSpec($"receiver-{Guid.NewGuid():N}"[..20], kind, receiver.Url().ToString(), Global: true, GroupWait: "0s"), "alice");

    private async Task<NotificationDelivery> SettledAsync(Guid id, int seconds = 20)
    {
        NotificationDelivery? delivery = null;
        await Wait.UntilAsync(async () => (delivery = await harness.Store.GetDeliveryAsync(id))!.Status != DeliveryStatus.Pending, seconds, $"delivery {id} settled");
        return delivery!;
    }

    [Fact]
    public async Task Deliver_FiringAlertThroughGrouping_AlertmanagerPayloadWithVerifiableSignature()
    {
        var channel = await ChannelAsync();
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var fired = new DateTime(2026, 12, 7, 9, 30, 0, DateTimeKind.Utc);
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, fired.AddMinutes(-5), fired, value: 0.62, ruleLabels: new Dictionary<string, string> { ["team"] = "risk" });

        var queued = await harness.Notifier.RunOnceAsync(CancellationToken.None);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var sent = await harness.DispatchDueAsync();
        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        Assert.Equal((1, 1), (queued, sent));
        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/hook", request.Path);
        Assert.Equal("application/json; charset=utf-8", request.Headers["Content-Type"]);
        Assert.True(SignatureValid(channel.Secret!, request));
        Assert.False(SignatureValid(WebhookSigner.NewSecret(), request));
        Assert.InRange(long.Parse(request.Headers["X-FraudWorkbench-Timestamp"], CultureInfo.InvariantCulture), before, after);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("4", body.GetProperty("version").GetString());
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal(channel.Channel.Name, body.GetProperty("receiver").GetString());
        // Grouped by the rule (the channel's default group_by).
        Assert.Equal("{}:{alertname=\"Dataset drift\"}", body.GetProperty("groupKey").GetString());
        Assert.Equal("""{"alertname":"Dataset drift"}""", body.GetProperty("groupLabels").GetRawText());
        Assert.Equal("https://wb.example.com", body.GetProperty("externalURL").GetString());
        var alert = Assert.Single(body.GetProperty("alerts").EnumerateArray());
        Assert.Equal("""{"alertname":"Dataset drift","model":"card-fraud","severity":"critical","team":"risk"}""", alert.GetProperty("labels").GetRawText());
        Assert.Equal("Dataset drift: drift share of card-fraud is 0.62 (threshold 0.5).", alert.GetProperty("annotations").GetProperty("description").GetString());
        Assert.Equal("2026-12-07T09:30:00Z", alert.GetProperty("startsAt").GetString());
        Assert.Equal("0001-01-01T00:00:00Z", alert.GetProperty("endsAt").GetString());
        Assert.Equal(AlertLabels.Fingerprint(rule, "card-fraud"), alert.GetProperty("fingerprint").GetString());
        Assert.Equal("https://wb.example.com/alerts", alert.GetProperty("generatorURL").GetString());
        var row = Assert.Single(await harness.DeliveryRowsAsync());
        Assert.Equal(("delivered", 1, 200), (row.Status, row.Attempts, row.LastStatus));
        Assert.DoesNotContain(harness.Logs, l => l.Contains(channel.Secret!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dispatch_500ThenOk_RetriedWithBackoffThenDelivered()
    {
        receiver.Then(500);
        var channel = await ChannelAsync();
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");

            var delivery = await SettledAsync(id);

            Assert.Equal((DeliveryStatus.Delivered, 2, 200, (string?)null), (delivery.Status, delivery.Attempts, delivery.LastStatus, delivery.LastError));
            Assert.Equal(2, receiver.Requests.Count);
            Assert.All(receiver.Requests, r => Assert.True(SignatureValid(channel.Secret!, r)));
            Assert.Single(receiver.Requests.Select(r => r.Body).Distinct());
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Dispatch_400_DeadAfterOneAttemptNoRetry()
    {
        receiver.Then(400);
        var channel = await ChannelAsync();
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");

            var delivery = await SettledAsync(id);
            await Task.Delay(500); // ten times the first backoff: a retry would have come

            Assert.Equal((DeliveryStatus.Dead, 1, 400), (delivery.Status, delivery.Attempts, delivery.LastStatus));
            Assert.Equal("HTTP 400 Bad Request: scripted 400", delivery.LastError);
            Assert.NotNull(delivery.DeadAt);
            Assert.Single(receiver.Requests);
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Dispatch_429WithRetryAfter2_NextAttemptNoSoonerThanTwoSeconds()
    {
        receiver.Then(429, ("Retry-After", "2"));
        var channel = await ChannelAsync();
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");

            var delivery = await SettledAsync(id);

            Assert.Equal((DeliveryStatus.Delivered, 2), (delivery.Status, delivery.Attempts));
            var times = receiver.Requests.Select(r => r.At).ToList();
            Assert.Equal(2, times.Count);
            // The backoff alone would be at most 50 ms.
            Assert.True(times[1] - times[0] >= TimeSpan.FromSeconds(2), $"second attempt after {(times[1] - times[0]).TotalMilliseconds} ms");
            Assert.True(times[1] - times[0] < TimeSpan.FromSeconds(4), $"second attempt after {(times[1] - times[0]).TotalMilliseconds} ms");
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(500, false)]
    [InlineData(502, true)]
    [InlineData(504, false)]
    public async Task Dispatch_5xxWithRetryAfter_NextAttemptWaitsForIt(int status, bool httpDate)
    {
        // Seconds, or an HTTP date three seconds ahead (whole seconds: two to three seconds from when it is read).
        var value = httpDate ? DateTimeOffset.UtcNow.AddSeconds(3).ToString("R", CultureInfo.InvariantCulture) : "2";
        receiver.Then(status, ("Retry-After", value));
        var channel = await ChannelAsync();
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");

            var delivery = await SettledAsync(id);

            Assert.Equal((DeliveryStatus.Delivered, 2), (delivery.Status, delivery.Attempts));
            var times = receiver.Requests.Select(r => r.At).ToList();
            Assert.Equal(2, times.Count);
            // The backoff alone would be at most 50 ms.
            var gap = times[1] - times[0];
            Assert.True(gap >= TimeSpan.FromSeconds(1.5), $"second attempt after {gap.TotalMilliseconds} ms");
            Assert.True(gap < TimeSpan.FromSeconds(5), $"second attempt after {gap.TotalMilliseconds} ms");
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Resend_DeadLetterAfterAllAttempts_DeliveredAsNewRow()
    {
        receiver.Then(503).Then(502).Then(500);
        var channel = await ChannelAsync(ChannelKind.Slack);
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");
            var dead = await SettledAsync(id);
            var again = await harness.Store.ResendAsync(id, "alice");
            var resent = await SettledAsync(again);

            Assert.Equal((DeliveryStatus.Dead, 3, 500), (dead.Status, dead.Attempts, dead.LastStatus));
            Assert.Equal("HTTP 500 Internal Server Error: scripted 500 Gave up after 3 attempts.", dead.LastError);
            Assert.Equal((DeliveryStatus.Delivered, 1), (resent.Status, resent.Attempts));
            Assert.Equal(DeliveryStatus.Dead, (await harness.Store.GetDeliveryAsync(id))!.Status);
            Assert.Equal(4, receiver.Requests.Count);
            var slack = JsonDocument.Parse(receiver.Requests.Last().Body).RootElement;
            Assert.Equal("[TEST] [FIRING:1] Test notification", slack.GetProperty("text").GetString());
            Assert.All(receiver.Requests, r => Assert.True(SignatureValid(channel.Secret!, r)));
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Dispatch_NothingListening_NetworkErrorRetriedThenDead()
    {
        var channel = await ChannelAsync();
        // The fresh receiver starts before the old one closes, so it cannot be given the port the channel points at.
        var closed = receiver;
        receiver = await WebhookReceiver.StartAsync();
        await closed.DisposeAsync();
        await harness.Dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");

            var dead = await SettledAsync(id);

            Assert.Equal((DeliveryStatus.Dead, 3, (int?)null), (dead.Status, dead.Attempts, dead.LastStatus));
            Assert.StartsWith("Network error:", dead.LastError, StringComparison.Ordinal);
            Assert.EndsWith("Gave up after 3 attempts.", dead.LastError, StringComparison.Ordinal);
        }
        finally
        {
            await harness.Dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Dispatch_HostNowResolvesToLoopback_RefusedAtConnectDeadAtOnce()
    {
        // Saved while allowed (a public address), then pointed at localhost, as DNS rebinding would: the connect-time check refuses.
        await using var strict = new DeliveryHarness(database, new AlertsOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(100) });
        var channel = await strict.Store.CreateAsync(new ChannelSpec("rebound", ChannelKind.Alertmanager, "https://93.184.216.34/hook", Global: true), "alice");
        await using (var connection = await database.DataSource.OpenConnectionAsync())
            await connection.ExecuteAsync("UPDATE notification_channels SET url = @url WHERE id = @id", new { url = $"http://localhost:{receiver.Port}/hook", id = channel.Channel.Id });
        var id = await strict.Store.SendTestAsync(channel.Channel.Id, "alice");

        var attempted = await strict.DispatchDueAsync();

        var dead = (await strict.Store.GetDeliveryAsync(id))!;
        Assert.Equal(1, attempted);
        Assert.Equal((DeliveryStatus.Dead, 1), (dead.Status, dead.Attempts));
        Assert.StartsWith("Refused to connect to 'localhost': it resolves to a loopback address", dead.LastError, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task Dispatch_SecretFromAnotherKeyRing_DeadWithAHintNothingSentUnsigned()
    {
        var channel = await ChannelAsync();
        var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");
        await using var otherKeys = new DeliveryHarness(database, harness.Options);

        Assert.Equal(1, await otherKeys.DispatchDueAsync());

        var dead = (await harness.Store.GetDeliveryAsync(id))!;
        Assert.Equal((DeliveryStatus.Dead, 1), (dead.Status, dead.Attempts));
        Assert.StartsWith("The channel's signing secret cannot be decrypted", dead.LastError, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public void Backoff_FullJitter_UniformUnderADoublingCap()
    {
        var settings = new AlertsOptions { InitialBackoff = TimeSpan.FromSeconds(2), MaxBackoff = TimeSpan.FromMinutes(10) };
        var top = new FixedRandom(0.999999);

        var caps = Enumerable.Range(1, 10).Select(a => Math.Round(NotificationDispatcher.Backoff(a, settings, top).TotalSeconds)).ToList();
        var random = new Random(19);
        var samples = Enumerable.Range(0, 2000).Select(_ => NotificationDispatcher.Backoff(3, settings, random).TotalSeconds).ToList();

        Assert.Equal([2, 4, 8, 16, 32, 64, 128, 256, 512, 600], caps);
        Assert.Equal(TimeSpan.Zero, NotificationDispatcher.Backoff(4, settings, new FixedRandom(0)));
        Assert.All(samples, s => Assert.InRange(s, 0, 8));
        // Uniform on [0, 8]: mean 4, standard error 8 / sqrt(12 · 2000) ≈ 0.052.
        Assert.InRange(samples.Average(), 3.8, 4.2);
        Assert.InRange(samples.Count(s => s < 2) / 2000.0, 0.21, 0.29);
    }

    [Fact]
    public void RetryAfter_SecondsOrHttpDate_FromNowCappedNeverNegative()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 17, 0, 0, TimeSpan.Zero));
        var dispatcher = new DeliveryHarness(database, time: time).Dispatcher;

        Assert.Equal(TimeSpan.FromSeconds(2), dispatcher.RetryAfter(new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(2))));
        Assert.Equal(TimeSpan.FromSeconds(90), dispatcher.RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue.Parse("Mon, 07 Dec 2026 17:01:30 GMT")));
        Assert.Equal(TimeSpan.Zero, dispatcher.RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue.Parse("Mon, 07 Dec 2026 16:00:00 GMT")));
        Assert.Equal(NotificationDispatcher.MaxRetryAfter, dispatcher.RetryAfter(new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromDays(3))));
        Assert.Null(dispatcher.RetryAfter(null));
    }

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }
}

using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using MimeKit;
using netDumbster.smtp;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Alert e-mail through a real SMTP conversation with an in-test server (netDumbster): subject, recipients, both bodies.</summary>
[Trait("Category", "Database")]
public sealed class AlertEmailTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>, IAsyncLifetime
{
    private readonly SimpleSmtpServer smtp = Configuration.Configure().WithRandomPort().Build();
    private DeliveryHarness harness = default!;

    public async Task InitializeAsync()
    {
        harness = new DeliveryHarness(database, new AlertsOptions
        {
            PublicUrl = "https://wb.example.com",
            Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Configuration.Port, Security = "None", From = "FraudWorkbench <alerts@wb.example.com>" },
        });
        await harness.ResetAsync();
    }

    public async Task DisposeAsync()
    {
        smtp.Stop();
        smtp.Dispose();
        await harness.DisposeAsync();
    }

    [Fact]
    public async Task Deliver_FiringAlertByEmail_ReceivedWithSubjectPlainTextAndEncodedHtml()
    {
        await harness.Store.CreateAsync(new ChannelSpec("risk mail", ChannelKind.Email, Recipients: ["ops@example.com", "Risk Team <risk@example.com>"], Global: true, GroupWait: "0s"), "alice");
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var fired = new DateTime(2026, 12, 7, 9, 30, 0, DateTimeKind.Utc);
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, fired, fired, value: 0.62,
            ruleLabels: new Dictionary<string, string> { ["note"] = "<script>alert(1)</script>" });

        Assert.Equal(1, await harness.Notifier.RunOnceAsync(CancellationToken.None));
        Assert.Equal(1, await harness.DispatchDueAsync());

        Assert.Equal(1, smtp.ReceivedEmailCount);
        // netDumbster keeps the DATA as sent: undo SMTP's dot-stuffing (RFC 5321 4.5.2) as a mail server would.
        var data = smtp.ReceivedEmail[0].Data.Replace("\r\n..", "\r\n.", StringComparison.Ordinal);
        var received = MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data)));
        Assert.Equal("[FIRING:1] Dataset drift · card-fraud", received.Subject);
        Assert.Equal("alerts@wb.example.com", received.From.Mailboxes.Single().Address);
        Assert.Equal(["ops@example.com", "risk@example.com"], received.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("multipart/alternative", received.Body!.ContentType.MimeType);
        var text = received.TextBody!.ReplaceLineEndings("\n");
        Assert.Contains("FIRING (critical) Dataset drift · card-fraud\n  Value: 0.62 (threshold 0.5), since 2026-12-07T09:30:00Z\n", text, StringComparison.Ordinal);
        Assert.Contains("Dataset drift: drift share of card-fraud is 0.62 (threshold 0.5).", text, StringComparison.Ordinal);
        Assert.Contains("https://workbench.example.com/models/card-fraud/monitoring", text, StringComparison.Ordinal);
        Assert.Contains("note=<script>alert(1)</script>", text, StringComparison.Ordinal);
        var html = received.HtmlBody!;
        Assert.Contains("Value: <strong>0.62</strong> (threshold 0.5)", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://workbench.example.com/models/card-fraud/monitoring\">Open in FraudWorkbench</a>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        var row = Assert.Single(await harness.DeliveryRowsAsync());
        Assert.Equal(("delivered", 1), (row.Status, row.Attempts));
    }

    [Fact]
    public async Task Dispatch_EmailQueuedButNoSmtpHostNow_DeadAtOnceWithAClearError()
    {
        var channel = await harness.Store.CreateAsync(new ChannelSpec("mail", ChannelKind.Email, Recipients: ["ops@example.com"]), "alice");
        var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");
        await using var unconfigured = new DeliveryHarness(database, new AlertsOptions());

        Assert.Equal(1, await unconfigured.DispatchDueAsync());

        var dead = (await harness.Store.GetDeliveryAsync(id))!;
        Assert.Equal((DeliveryStatus.Dead, 1), (dead.Status, dead.Attempts));
        Assert.Equal(AlertEmail.NoHost, dead.LastError);
        Assert.Equal(0, smtp.ReceivedEmailCount);
    }

    [Fact]
    public async Task Dispatch_SmtpServerDown_RetriedNotDead()
    {
        var channel = await harness.Store.CreateAsync(new ChannelSpec("mail", ChannelKind.Email, Recipients: ["ops@example.com"]), "alice");
        var id = await harness.Store.SendTestAsync(channel.Channel.Id, "alice");
        smtp.Stop();

        Assert.Equal(1, await harness.DispatchDueAsync());

        var pending = (await harness.Store.GetDeliveryAsync(id))!;
        Assert.Equal((DeliveryStatus.Pending, 1), (pending.Status, pending.Attempts));
        Assert.StartsWith($"Could not reach the SMTP server 127.0.0.1:{smtp.Configuration.Port}", pending.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TestMessage_BothBodiesNameTheChannel()
    {
        var content = AlertEmail.Render(NotificationChannelStore.TestMessage("risk & ops", new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc), new AlertsOptions()));

        Assert.Equal("[TEST] [FIRING:1] Test notification", content.Subject);
        Assert.Contains("to check that the channel 'risk & ops' receives alerts.", content.Text, StringComparison.Ordinal);
        Assert.Contains("to check that the channel &#x27;risk &amp; ops&#x27; receives alerts.", content.Html, StringComparison.Ordinal);
        Assert.Equal(content, AlertEmailContent.FromJson(content.ToJson()));
    }
}

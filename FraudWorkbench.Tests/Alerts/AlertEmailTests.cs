using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using MimeKit;
using netDumbster.smtp;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// Alert e-mail through a real SMTP conversation with an in-test server: netDumbster for the plain conversation (subject,
/// recipients, both bodies), <see cref="TlsSmtpServer"/> for STARTTLS with a login and a pinned self-signed certificate.
/// </summary>
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
    public async Task Deliver_OneRuleFiringOnTwoModels_OneMailListingBoth()
    {
        await harness.Store.CreateAsync(new ChannelSpec("risk mail", ChannelKind.Email, Recipients: ["ops@example.com"], Global: true, GroupWait: "0s"), "alice");
        var rule = await harness.InsertRuleAsync("Dataset drift");
        var fired = new DateTime(2026, 12, 7, 9, 30, 0, DateTimeKind.Utc);
        await harness.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, fired, fired, value: 0.62);
        await harness.InsertAlertAsync(rule, "Dataset drift", "loan-default", AlertState.Firing, fired, fired, value: 0.71);

        Assert.Equal(1, await harness.Notifier.RunOnceAsync(CancellationToken.None));
        Assert.Equal(1, await harness.DispatchDueAsync());

        Assert.Equal(1, smtp.ReceivedEmailCount);
        var data = smtp.ReceivedEmail[0].Data.Replace("\r\n..", "\r\n.", StringComparison.Ordinal);
        var received = MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data)));
        Assert.Equal("[FIRING:2] Dataset drift · 2 models", received.Subject);
        var text = received.TextBody!.ReplaceLineEndings("\n");
        Assert.Contains("FIRING (critical) Dataset drift · card-fraud\n  Value: 0.62 (threshold 0.5)", text, StringComparison.Ordinal);
        Assert.Contains("FIRING (critical) Dataset drift · loan-default\n  Value: 0.71 (threshold 0.5)", text, StringComparison.Ordinal);
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

    /// <summary>The options of a submission server on the loopback: STARTTLS required, a login, the server's certificate pinned (or not).</summary>
    private static AlertsOptions TlsOptions(int port, string? pin, string password = "s3cret pass") => new()
    {
        PublicUrl = "https://wb.example.com",
        Smtp = new SmtpOptions
        {
            Host = "127.0.0.1", Port = port, Security = "StartTls", UserName = "alerts@wb.example.com", Password = password,
            From = "FraudWorkbench <alerts@wb.example.com>", TrustedCertificateSha256 = pin,
        },
    };

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Deliver_StartTlsServerWithLogin_PinnedCertificateTrusted_CredentialsArriveEncryptedAndTheMailIsReceived(string mechanism)
    {
        using var certificate = TlsSmtpServer.SelfSignedCertificate();
        await using var server = new TlsSmtpServer(certificate, "alerts@wb.example.com", "s3cret pass", mechanism);
        // The fingerprint as an operator copies it from openssl (colon-separated, any case).
        var pin = string.Join(':', Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c))).ToLowerInvariant();
        await using var tls = new DeliveryHarness(database, TlsOptions(server.Port, pin));
        await tls.Store.CreateAsync(new ChannelSpec("risk mail", ChannelKind.Email, Recipients: ["ops@example.com"], Global: true, GroupWait: "0s"), "alice");
        var rule = await tls.InsertRuleAsync("Dataset drift");
        var fired = new DateTime(2026, 12, 7, 9, 30, 0, DateTimeKind.Utc);
        await tls.InsertAlertAsync(rule, "Dataset drift", "card-fraud", AlertState.Firing, fired, fired, value: 0.62);

        Assert.Equal(1, await tls.Notifier.RunOnceAsync(CancellationToken.None));
        Assert.Equal(1, await tls.DispatchDueAsync());

        var row = Assert.Single(await tls.DeliveryRowsAsync());
        Assert.True(row.Status == DeliveryStatus.Delivered, $"{row.Status}: {row.LastError}; commands: {string.Join(" | ", server.Commands)}");
        var login = Assert.Single(server.Logins);
        Assert.Equal(new TlsSmtpServer.Login(mechanism, "alerts@wb.example.com", "s3cret pass", Encrypted: true, Accepted: true), login);
        // STARTTLS came before any AUTH, and the client said EHLO again over TLS.
        var commands = server.Commands.Select(c => c.Split(' ')[0].ToUpperInvariant()).ToList();
        Assert.True(commands.IndexOf("STARTTLS") is >= 0 and var at && at < commands.IndexOf("AUTH") && commands.Skip(at + 1).First() == "EHLO", string.Join(" | ", server.Commands));
        var mail = Assert.Single(server.Messages);
        Assert.True(mail.Encrypted);
        Assert.Equal("alerts@wb.example.com", mail.From);
        Assert.Equal(["ops@example.com"], mail.To);
        var received = MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(mail.Data)));
        Assert.Equal("[FIRING:1] Dataset drift · card-fraud", received.Subject);
        Assert.Contains("FIRING (critical) Dataset drift · card-fraud\n  Value: 0.62 (threshold 0.5), since 2026-12-07T09:30:00Z\n",
            received.TextBody!.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("Value: <strong>0.62</strong> (threshold 0.5)", received.HtmlBody, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF")]
    public async Task Deliver_StartTlsServerWithAnUntrustedCertificate_NoCredentialsSentRetriedLater(string? pin)
    {
        using var certificate = TlsSmtpServer.SelfSignedCertificate();
        await using var server = new TlsSmtpServer(certificate, "alerts@wb.example.com", "s3cret pass");
        await using var tls = new DeliveryHarness(database, TlsOptions(server.Port, pin));
        var channel = await tls.Store.CreateAsync(new ChannelSpec("risk mail", ChannelKind.Email, Recipients: ["ops@example.com"]), "alice");
        var id = await tls.Store.SendTestAsync(channel.Channel.Id, "alice");

        Assert.Equal(1, await tls.DispatchDueAsync());

        var pending = (await tls.Store.GetDeliveryAsync(id))!;
        Assert.Equal((DeliveryStatus.Pending, 1), (pending.Status, pending.Attempts));
        Assert.StartsWith($"Could not reach the SMTP server 127.0.0.1:{server.Port}", pending.LastError, StringComparison.Ordinal);
        Assert.Contains("STARTTLS", server.Commands);
        Assert.Empty(server.Logins);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Deliver_StartTlsServerRefusesThePassword_RetriedWithTheServersAnswer()
    {
        using var certificate = TlsSmtpServer.SelfSignedCertificate();
        await using var server = new TlsSmtpServer(certificate, "alerts@wb.example.com", "s3cret pass", "PLAIN");
        await using var tls = new DeliveryHarness(database, TlsOptions(server.Port, certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), "wrong"));
        var channel = await tls.Store.CreateAsync(new ChannelSpec("risk mail", ChannelKind.Email, Recipients: ["ops@example.com"]), "alice");
        var id = await tls.Store.SendTestAsync(channel.Channel.Id, "alice");

        Assert.Equal(1, await tls.DispatchDueAsync());

        var pending = (await tls.Store.GetDeliveryAsync(id))!;
        Assert.Equal((DeliveryStatus.Pending, 1), (pending.Status, pending.Attempts));
        Assert.StartsWith("The SMTP server refused the configured credentials", pending.LastError, StringComparison.Ordinal);
        Assert.Equal(new TlsSmtpServer.Login("PLAIN", "alerts@wb.example.com", "wrong", Encrypted: true, Accepted: false), Assert.Single(server.Logins));
        Assert.Empty(server.Messages);
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("AB:CD", false)]
    [InlineData("not hex at all but sixty-four characters long, really, it is; ok", false)]
    [InlineData("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", true)]
    [InlineData("00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff", true)]
    public void Options_TrustedCertificateSha256_OnlyAFingerprintIsValid(string pin, bool valid)
    {
        var options = new AlertsOptions { Smtp = new SmtpOptions { Host = "smtp.example.com", TrustedCertificateSha256 = pin } };

        Assert.Equal(valid, options.IsValid());
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

namespace FraudWorkbench.Core.Alerts;

/// <summary>Alerting settings (<c>FraudWorkbench:Alerts</c>).</summary>
public sealed class AlertsOptions
{
    public const string Section = "FraudWorkbench:Alerts";

    /// <summary>How often the instance holding the evaluation lock looks for rules due (each rule has its own interval).</summary>
    public TimeSpan EvaluationTick { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Offer the default rules (created enabled, labelled <c>default=true</c>) when a model is first promoted to production.</summary>
    public bool DefaultRulesOnPromotion { get; set; } = true;

    /// <summary>The app's public address, for links in notifications (generatorURL, the e-mail's link); relative links without it.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Lets webhooks reach loopback, link-local and private addresses (off: the server cannot be used to reach internal hosts).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Defaults for new channels (Alertmanager's).</summary>
    public TimeSpan GroupWait { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan GroupInterval { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan RepeatInterval { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Attempts before a notification becomes a dead letter.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The first retry's delay; each next one doubles (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>One webhook request's time limit.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public SmtpOptions Smtp { get; set; } = new();

    public bool IsValid() =>
        EvaluationTick >= TimeSpan.FromMilliseconds(100) && EvaluationTick <= TimeSpan.FromMinutes(10)
        && GroupWait >= TimeSpan.Zero && GroupInterval > TimeSpan.Zero && RepeatInterval > TimeSpan.Zero
        && MaxAttempts is >= 1 and <= 50 && InitialBackoff > TimeSpan.Zero && MaxBackoff >= InitialBackoff
        && RequestTimeout > TimeSpan.Zero && RequestTimeout <= TimeSpan.FromMinutes(2)
        && (Smtp.Host is null || Smtp.Port is > 0 and < 65536) && SmtpOptions.Modes.Contains(Smtp.Security, StringComparer.OrdinalIgnoreCase)
        && (string.IsNullOrWhiteSpace(Smtp.TrustedCertificateSha256) || SmtpOptions.Fingerprint(Smtp.TrustedCertificateSha256) is not null) && (PublicUrl is null || Uri.TryCreate(PublicUrl, UriKind.Absolute, out _));
}

/// <summary>E-mail over SMTP; no host, no e-mail channels.</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    /// <summary>Auto (STARTTLS when offered), StartTls (required), SslOnConnect, or None (only for a relay on the same host).</summary>
    public string Security { get; set; } = "StartTls";

    /// <summary>The security modes accepted; a typo must stop the start, not quietly become StartTls.</summary>
    public static readonly IReadOnlyList<string> Modes = ["Auto", "StartTls", "SslOnConnect", "None"];

    public string? UserName { get; set; }

    /// <summary>From configuration or the environment (FraudWorkbench__Alerts__Smtp__Password); never logged.</summary>
    public string? Password { get; set; }

    public string From { get; set; } = "fraudworkbench@localhost";

    /// <summary>
    /// The SHA-256 fingerprint (hex, colons or spaces allowed) of the one server certificate to accept although no trusted
    /// authority issued it for the host, such as an internal relay's self-signed certificate. Any other certificate still needs a
    /// valid chain and name; empty, only those.
    /// </summary>
    public string? TrustedCertificateSha256 { get; set; }

    /// <summary>The fingerprint as 64 upper-case hex digits, or null when it is not a SHA-256 fingerprint.</summary>
    public static string? Fingerprint(string text)
    {
        var hex = new string([.. text.Where(c => c is not (':' or ' ' or '-'))]).ToUpperInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex : null;
    }
}

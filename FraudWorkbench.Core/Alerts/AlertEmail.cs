using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace FraudWorkbench.Core.Alerts;

/// <summary>An alert e-mail as queued: subject, plain-text and HTML bodies.</summary>
public sealed record AlertEmailContent(string Subject, string Text, string Html)
{
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static AlertEmailContent FromJson(string json) => JsonSerializer.Deserialize<AlertEmailContent>(json, JsonOptions)!;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}

/// <summary>Thrown when an e-mail cannot be sent; <see cref="Retry"/> says whether trying again may help.</summary>
public sealed class AlertEmailException(string message, bool retry, Exception? inner = null) : Exception(message, inner)
{
    public bool Retry { get; } = retry;
}

/// <summary>Alert e-mail: rendered from a notification (values HTML-encoded in the HTML body) and sent with MailKit over SMTP.</summary>
public static class AlertEmail
{
    public const string NoHost = "No SMTP server is configured (FraudWorkbench:Alerts:Smtp:Host), so e-mail cannot be sent.";

    public static AlertEmailContent Render(NotificationMessage message)
    {
        var text = new StringBuilder();
        var html = new StringBuilder();
        // Every script passes through as itself (names in any language); only markup characters are encoded.
        var encode = HtmlEncoder.Create(UnicodeRanges.All);
        text.AppendLine(message.Title).AppendLine();
        html.Append("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">")
            .Append("<h2>").Append(encode.Encode(message.Title)).Append("</h2>");
        foreach (var alert in message.Alerts)
        {
            var state = alert.Status == AlertState.Firing ? "FIRING" : "RESOLVED";
            var summary = alert.Annotations.GetValueOrDefault("description") ?? alert.Annotations.GetValueOrDefault("summary") ?? "";
            var link = alert.Annotations.GetValueOrDefault("link") is { Length: > 0 } l && Uri.IsWellFormedUriString(l, UriKind.Absolute) ? l : alert.GeneratorUrl;
            var threshold = alert.Annotations.GetValueOrDefault("threshold");
            var when = alert.EndsAt is { } ended ? $"resolved {AlertPayloads.Time(ended)}" : $"since {AlertPayloads.Time(alert.StartsAt)}";

            text.AppendLine($"{state} ({alert.Severity}) {alert.Rule} · {alert.Model}");
            text.AppendLine($"  Value: {AlertTemplate.Number(alert.Value)}{(threshold is null ? "" : $" (threshold {threshold})")}, {when}");
            if (summary.Length > 0) text.AppendLine($"  {summary}");
            if (link.Length > 0) text.AppendLine($"  {link}");
            text.AppendLine($"  Labels: {string.Join(", ", alert.Labels.Select(p => $"{p.Key}={p.Value}"))}").AppendLine();

            var colour = alert.Status == AlertState.Resolved ? "#2e7d32" : AlertPayloads.Colour(alert.Severity);
            html.Append("<div style=\"border-left:4px solid ").Append(colour).Append(";padding:4px 12px;margin:12px 0\">")
                .Append("<p><strong>").Append(encode.Encode($"{state} ({alert.Severity}) {alert.Rule}")).Append("</strong> · ").Append(encode.Encode(alert.Model)).Append("</p>")
                .Append("<p>Value: <strong>").Append(encode.Encode(AlertTemplate.Number(alert.Value))).Append("</strong>")
                .Append(threshold is null ? "" : $" (threshold {encode.Encode(threshold)})").Append(", ").Append(encode.Encode(when)).Append("</p>");
            if (summary.Length > 0) html.Append("<p>").Append(encode.Encode(summary)).Append("</p>");
            if (link.Length > 0 && Uri.TryCreate(link, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                html.Append("<p><a href=\"").Append(encode.Encode(uri.AbsoluteUri)).Append("\">Open in FraudWorkbench</a></p>");
            html.Append("<p style=\"color:#666;font-size:smaller\">").Append(encode.Encode(string.Join(", ", alert.Labels.Select(p => $"{p.Key}={p.Value}")))).Append("</p></div>");
        }

        html.Append("</body></html>");
        return new AlertEmailContent(message.Title, text.ToString(), html.ToString());
    }

    /// <summary>The MIME message: multipart/alternative with the plain text first, as clients expect.</summary>
    public static MimeMessage Message(AlertEmailContent content, string from, IEnumerable<string> recipients)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var recipient in recipients) message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = content.Subject;
        message.Body = new BodyBuilder { TextBody = content.Text, HtmlBody = content.Html }.ToMessageBody();
        return message;
    }

    /// <summary>Sends over SMTP with the configured security and credentials.</summary>
    /// <exception cref="AlertEmailException">With <see cref="AlertEmailException.Retry"/> false for a permanent refusal (5xx) or no server configured.</exception>
    public static async Task SendAsync(SmtpOptions smtp, AlertEmailContent content, IReadOnlyList<string> recipients, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(smtp.Host)) throw new AlertEmailException(NoHost, retry: false);
        var message = Message(content, smtp.From, recipients);
        using var client = new SmtpClient { Timeout = (int)Math.Clamp(timeout.TotalMilliseconds, 1000, int.MaxValue) };
        if (!string.IsNullOrWhiteSpace(smtp.TrustedCertificateSha256)) client.ServerCertificateValidationCallback = Pinned(smtp.TrustedCertificateSha256);
        try
        {
            await client.ConnectAsync(smtp.Host, smtp.Port, Security(smtp.Security), cancellationToken);
            if (!string.IsNullOrEmpty(smtp.UserName)) await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? "", cancellationToken);
            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(true, cancellationToken);
        }
        catch (SmtpCommandException ex)
        {
            // 4xx is the server's "try later"; 5xx its final no.
            throw new AlertEmailException($"The SMTP server refused the message: {(int)ex.StatusCode} {ex.Message}", retry: (int)ex.StatusCode < 500, ex);
        }
        catch (AuthenticationException ex)
        {
            throw new AlertEmailException($"The SMTP server refused the configured credentials: {ex.Message}", retry: true, ex);
        }
        catch (Exception ex) when (ex is SmtpProtocolException or ServiceNotConnectedException or SocketException or IOException or SslHandshakeException or TimeoutException)
        {
            throw new AlertEmailException($"Could not reach the SMTP server {smtp.Host}:{smtp.Port}: {ex.Message}", retry: true, ex);
        }
    }

    /// <summary>
    /// Accepts what the system accepts, and besides exactly the certificate with the pinned SHA-256 fingerprint (whatever its
    /// issuer or name): an internal relay's self-signed certificate, trusted by the operator's choice, never any certificate.
    /// </summary>
    public static RemoteCertificateValidationCallback Pinned(string fingerprint)
    {
        var pinned = SmtpOptions.Fingerprint(fingerprint) ?? throw new ArgumentException("Not a SHA-256 certificate fingerprint.", nameof(fingerprint));
        return (_, certificate, _, errors) =>
            errors == SslPolicyErrors.None
            || (certificate is not null
                && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(pinned), certificate.GetCertHash(HashAlgorithmName.SHA256)));
    }

    public static SecureSocketOptions Security(string? mode) => mode?.ToLowerInvariant() switch
    {
        "none" => SecureSocketOptions.None,
        "auto" => SecureSocketOptions.Auto,
        "sslonconnect" => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.StartTls,
    };
}

using System.Security.Cryptography;
using System.Text;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Signs webhook requests so a receiver can tell they come from this server and are fresh: <c>X-FraudWorkbench-Timestamp</c>
/// is the unix time in seconds of the attempt, <c>X-FraudWorkbench-Signature</c> is <c>sha256=</c> and the lower-case hex
/// HMAC-SHA256, keyed with the channel's secret (its UTF-8 bytes, as shown when the channel was created), of
/// <c>"{timestamp}.{body}"</c>. A receiver recomputes it over the raw body, compares in constant time and refuses old timestamps.
/// </summary>
public static class WebhookSigner
{
    public const string TimestampHeader = "X-FraudWorkbench-Timestamp";
    public const string SignatureHeader = "X-FraudWorkbench-Signature";

    /// <summary>A new signing secret: 32 random bytes as 64 hex digits.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The signature header's value for <paramref name="body"/> sent at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(string secret, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{body}");
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), content));
    }

    /// <summary>What a receiver does: true when <paramref name="signature"/> is the signature of <paramref name="body"/> at <paramref name="timestamp"/>.</summary>
    public static bool Verify(string secret, long timestamp, string body, string? signature) =>
        signature is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, timestamp, body)), Encoding.ASCII.GetBytes(signature));
}

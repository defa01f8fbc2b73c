using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Alerts;

/// <summary>
/// Which webhook addresses the server may call: http or https, no user-info, and a host whose addresses are all public —
/// not loopback, link-local (the cloud metadata service at 169.254.169.254 among them), private, CGNAT, unspecified,
/// multicast or reserved, also when reached through an IPv6 form that carries an IPv4 address (mapped, compatible,
/// translated, 6to4, NAT64, Teredo) — unless the operator allows private networks. Checked
/// when a channel is saved and again, on the address actually dialled, when a delivery connects (DNS may answer
/// differently the second time: rebinding).
/// </summary>
public sealed class WebhookUrlPolicy(IOptions<AlertsOptions> options)
{
    public const int MaxUrlLength = 2000;

    /// <summary>The named <see cref="System.Net.Http.IHttpClientFactory"/> client whose connections this policy guards.</summary>
    public const string HttpClientName = "alert-webhooks";

    private bool AllowPrivate => options.Value.AllowPrivateNetworks;

    /// <summary>Null when <paramref name="url"/> may be called; otherwise why not. Resolves the host by DNS.</summary>
    public async Task<string?> ProblemAsync(string? url, CancellationToken cancellationToken)
    {
        if (ParseProblem(url, out var uri) is { } problem) return problem;
        if (AllowPrivate) return null;
        var host = uri!.IdnHost;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            }
            catch (SocketException)
            {
                return $"The host '{host}' could not be resolved.";
            }
        }

        if (addresses.Length == 0) return $"The host '{host}' could not be resolved.";
        return addresses.FirstOrDefault(IsForbidden) is { } forbidden
            ? $"'{host}' is {Describe(forbidden)}; webhooks may only reach public addresses (an operator can allow private networks with FraudWorkbench:Alerts:AllowPrivateNetworks)."
            : null;
    }

    /// <summary>The checks that need no DNS: scheme, user-info, length.</summary>
    public static string? ParseProblem(string? url, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(url)) return "A webhook needs a url.";
        if (url.Length > MaxUrlLength) return $"The url has at most {MaxUrlLength} characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out uri) || uri.IsFile || uri.IsUnc) return $"'{Shorten(url)}' is not an absolute URL.";
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return "A webhook url is http or https.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "A webhook url cannot carry a user name or password; the requests are signed instead.";
        if (string.IsNullOrEmpty(uri.Host)) return "A webhook url names a host.";
        return null;
    }

    /// <summary>True for any address a webhook must not reach when private networks are not allowed.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0 // "this network", 0.0.0.0 included
                || b[0] == 10
                || b[0] == 127
                || (b[0] == 100 && (b[1] & 0xC0) == 64) // CGNAT 100.64/10
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && (b[1] & 0xF0) == 16)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0) // IETF protocol assignments
                || (b[0] == 198 && (b[1] & 0xFE) == 18) // benchmarking 198.18/15
                || b[0] >= 224; // multicast, reserved, broadcast
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6) return true;
        if (IPAddress.IPv6Loopback.Equals(address) || IPAddress.IPv6None.Equals(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast)
            return true;
        var bytes = address.GetAddressBytes();
        if ((bytes[0] & 0xFE) == 0xFC) return true; // unique local fc00::/7
        if (Special(bytes) is not null) return true;
        // 6to4 and NAT64 carry an IPv4 address the host may reach through a relay or translator: judge that.
        return Embedded(bytes) is { } inner && IsForbidden(inner);
    }

    /// <summary>IPv6 ranges refused whatever follows the prefix (none is a public host's), with a name for messages; null for the rest.</summary>
    private static string? Special(ReadOnlySpan<byte> b)
    {
        // IPv4-compatible ::a.b.c.d (deprecated, never routed; :: and ::1 are caught before) and IPv4-translated ::ffff:0:a.b.c.d.
        if (b[..12].IndexOfAnyExcept((byte)0) < 0) return "an IPv4-compatible IPv6 address";
        if (b[..8].IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xFF && b[9] == 0xFF && b[10] == 0 && b[11] == 0) return "an IPv4-translated IPv6 address";
        // Teredo 2001::/32 tunnels to an obfuscated IPv4 address (and relays decide where it goes): not judged, refused.
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return "a Teredo address";
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return "a documentation address";
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0x02 && b[4] == 0 && b[5] == 0) return "a benchmarking address";
        // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): the translator is the operator's, its IPv4 side may be anything internal.
        if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0 && b[5] == 0x01) return "a local-use NAT64 address";
        if (b[0] == 0x01 && b[1..8].IndexOfAnyExcept((byte)0) < 0) return "a discard-only address";
        return null;
    }

    /// <summary>The IPv4 address a 6to4 (2002:a.b.c.d::/48) or well-known-prefix NAT64 (64:ff9b::a.b.c.d) address leads to; null for others.</summary>
    private static IPAddress? Embedded(ReadOnlySpan<byte> b)
    {
        if (b[0] == 0x20 && b[1] == 0x02) return new IPAddress(b.Slice(2, 4));
        if (b[..12].SequenceEqual(new byte[] { 0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0 })) return new IPAddress(b.Slice(12, 4));
        return null;
    }

    /// <summary>
    /// Connects the webhook client: resolves the host and dials only addresses the policy allows, so a name that resolved
    /// to a public address when the channel was saved cannot later lead the server to an internal one.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = AllowPrivate ? addresses : addresses.Where(a => !IsForbidden(a)).ToArray();
        if (addresses.Length == 0) throw new HttpRequestException($"The host '{host}' could not be resolved.");
        if (allowed.Length == 0)
            throw new WebhookAddressRefusedException($"Refused to connect to '{host}': it resolves to {Describe(addresses[0])}, which webhooks may not reach.");

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Describe(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return "a loopback address";
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return "the unspecified address";
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            if (b[0] == 169 && b[1] == 254) return "a link-local address";
            if (b[0] == 100 && (b[1] & 0xC0) == 64) return "a carrier-grade NAT address";
            if (b[0] >= 224) return "a multicast or reserved address";
            return "a private address";
        }

        if (address.IsIPv6LinkLocal) return "a link-local address";
        if (address.IsIPv6Multicast) return "a multicast address";
        if (address.IsIPv6SiteLocal) return "a site-local address";
        if (Special(b) is { } special) return special;
        if (Embedded(b) is { } inner) return $"an IPv6 address that leads to {inner}, {Describe(inner)}";
        return "a private address";
    }

    private static string Shorten(string text) => text.Length > 100 ? text[..100] + "…" : text;
}

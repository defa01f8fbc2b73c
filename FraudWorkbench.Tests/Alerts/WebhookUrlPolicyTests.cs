using System.Net;
using FraudWorkbench.Core.Alerts;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>Which addresses a webhook may reach: checked when a channel is saved and again on the address dialled.</summary>
public sealed class WebhookUrlPolicyTests
{
    private static WebhookUrlPolicy Policy(bool allowPrivate = false) => new(Options.Create(new AlertsOptions { AllowPrivateNetworks = allowPrivate }));

    [Theory]
    [InlineData("http://127.0.0.1/hook", "loopback")]
    [InlineData("http://127.1.2.3:8080/hook", "loopback")]
    [InlineData("http://[::1]/hook", "loopback")]
    [InlineData("http://localhost/hook", "loopback")] // by DNS
    [InlineData("http://10.1.2.3/hook", "private")]
    [InlineData("http://172.16.0.1/hook", "private")]
    [InlineData("http://172.31.255.254/hook", "private")]
    [InlineData("http://192.168.1.1/hook", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    [InlineData("http://[fe80::1]/hook", "link-local")]
    [InlineData("http://100.64.0.1/hook", "carrier-grade NAT")]
    [InlineData("http://100.127.255.254/hook", "carrier-grade NAT")]
    [InlineData("http://[fc00::1]/hook", "private")]
    [InlineData("http://[fd12:3456::1]/hook", "private")]
    [InlineData("http://0.0.0.0/hook", "unspecified")]
    [InlineData("http://[::]/hook", "unspecified")]
    [InlineData("http://224.0.0.1/hook", "multicast")]
    [InlineData("http://[ff02::1]/hook", "multicast")]
    [InlineData("http://[::ffff:127.0.0.1]/hook", "loopback")]
    [InlineData("http://[::ffff:10.0.0.1]/hook", "private")]
    [InlineData("http://[::ffff:169.254.169.254]/hook", "link-local")]
    [InlineData("http://[::127.0.0.1]/hook", "IPv4-compatible")]
    [InlineData("http://[2002:7f00:1::]/hook", "leads to 127.0.0.1, a loopback address")] // 6to4
    [InlineData("http://[2002:a9fe:a9fe::1]/latest/meta-data/", "leads to 169.254.169.254, a link-local address")]
    [InlineData("http://[64:ff9b::a00:1]/hook", "leads to 10.0.0.1, a private address")] // NAT64
    [InlineData("http://[64:ff9b:1::808:808]/hook", "local-use NAT64")]
    [InlineData("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "Teredo")]
    [InlineData("http://[fec0::1]/hook", "site-local")]
    [InlineData("http://user:pw@93.184.216.34/hook", "user name or password")]
    [InlineData("ftp://93.184.216.34/hook", "http or https")]
    [InlineData("file:///etc/passwd", "not an absolute URL")]
    [InlineData("hook", "not an absolute URL")]
    [InlineData("", "needs a url")]
    public async Task Problem_RefusedAddressOrForm_SaysWhy(string url, string why)
    {
        var problem = await Policy().ProblemAsync(url, CancellationToken.None);

        Assert.NotNull(problem);
        Assert.Contains(why, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://93.184.216.34/hook")]
    [InlineData("http://8.8.8.8:8080/x?y=1")]
    [InlineData("http://172.32.0.1/hook")] // just past 172.16/12
    [InlineData("http://172.15.255.255/hook")]
    [InlineData("http://100.128.0.1/hook")] // just past 100.64/10
    [InlineData("http://100.63.255.255/hook")]
    [InlineData("http://169.253.1.1/hook")]
    [InlineData("http://[2001:4860:4860::8888]/hook")]
    public async Task Problem_PublicAddress_Allowed(string url) =>
        Assert.Null(await Policy().ProblemAsync(url, CancellationToken.None));

    [Theory]
    [InlineData("http://127.0.0.1:5000/hook", null)]
    [InlineData("http://10.1.2.3/hook", null)]
    [InlineData("http://user:pw@127.0.0.1/hook", "user name or password")]
    [InlineData("gopher://127.0.0.1/hook", "http or https")]
    public async Task Problem_PrivateNetworksAllowed_OnlyTheFormIsChecked(string url, string? why)
    {
        var problem = await Policy(allowPrivate: true).ProblemAsync(url, CancellationToken.None);

        if (why is null) Assert.Null(problem);
        else Assert.Contains(why, problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_HostResolvesToLoopback_RefusedBeforeAnyByteIsSent()
    {
        // What DNS rebinding looks like from here: the host passed the check when saved and now resolves to an internal address.
        await using var receiver = await WebhookReceiver.StartAsync();
        using var guarded = new HttpClient(new SocketsHttpHandler { ConnectCallback = Policy().ConnectAsync, UseProxy = false });
        using var open = new HttpClient(new SocketsHttpHandler { ConnectCallback = Policy(allowPrivate: true).ConnectAsync, UseProxy = false });

        var byName = await Assert.ThrowsAsync<HttpRequestException>(() => guarded.PostAsync($"http://localhost:{receiver.Port}/hook", new StringContent("{}")));
        var byAddress = await Assert.ThrowsAsync<HttpRequestException>(() => guarded.PostAsync($"http://127.0.0.1:{receiver.Port}/hook", new StringContent("{}")));
        Assert.Empty(receiver.Requests);
        var allowed = await open.PostAsync($"http://localhost:{receiver.Port}/hook", new StringContent("{}"));

        Assert.IsType<WebhookAddressRefusedException>(byName.InnerException);
        Assert.Contains("loopback", byName.InnerException!.Message, StringComparison.Ordinal);
        Assert.IsType<WebhookAddressRefusedException>(byAddress.InnerException);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Single(receiver.Requests);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.255.255.255", true)]
    [InlineData("11.0.0.0", false)]
    [InlineData("192.0.0.8", true)]
    [InlineData("198.18.0.1", true)]
    [InlineData("198.20.0.1", false)]
    [InlineData("255.255.255.255", true)]
    [InlineData("64:ff9b::a00:1", true)] // NAT64 of 10.0.0.1
    [InlineData("64:ff9b::7f00:1", true)] // NAT64 of 127.0.0.1
    [InlineData("64:ff9b::a9fe:a9fe", true)] // NAT64 of 169.254.169.254
    [InlineData("64:ff9b::c0a8:101", true)] // NAT64 of 192.168.1.1
    [InlineData("64:ff9b::808:808", false)] // NAT64 of 8.8.8.8
    [InlineData("64:ff9b:1::a00:1", true)] // local-use NAT64 64:ff9b:1::/48: refused whatever it carries
    [InlineData("64:ff9b:1::808:808", true)]
    [InlineData("64:ff9b:2::808:808", false)] // past the /48
    // 6to4 2002::/16: the IPv4 address in bytes 2–5 is judged.
    [InlineData("2002:7f00:1::", true)] // 127.0.0.1
    [InlineData("2002:a00:1::1", true)] // 10.0.0.1
    [InlineData("2002:a9fe:a9fe::", true)] // 169.254.169.254
    [InlineData("2002:ac10:1::", true)] // 172.16.0.1
    [InlineData("2002:c0a8:101::", true)] // 192.168.1.1
    [InlineData("2002:6440:1::", true)] // 100.64.0.1 (CGNAT)
    [InlineData("2002:808:808::1", false)] // 8.8.8.8
    [InlineData("2002:5db8:d822::1", false)] // 93.184.216.34
    // Teredo 2001::/32, documentation 2001:db8::/32, benchmarking 2001:2::/48, discard 100::/64.
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", true)]
    [InlineData("2001::1", true)]
    [InlineData("2001:1::1", false)] // next /32 (PCP anycast): not Teredo
    [InlineData("2001:db8::1", true)]
    [InlineData("2001:2::1", true)]
    [InlineData("100::1", true)]
    [InlineData("100:0:0:1::1", false)] // past the /64
    // IPv4-compatible ::a.b.c.d (deprecated) and IPv4-translated ::ffff:0:a.b.c.d: refused whatever they carry.
    [InlineData("::127.0.0.1", true)]
    [InlineData("::10.0.0.1", true)]
    [InlineData("::8.8.8.8", true)]
    [InlineData("::ffff:0:7f00:1", true)]
    // IPv4-mapped ::ffff:a.b.c.d: the IPv4 address is judged.
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:192.168.0.1", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, loopback, unspecified.
    [InlineData("fc00::1", true)]
    [InlineData("fdff:ffff::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("febf:ffff::1", true)]
    [InlineData("fec0::1", true)]
    [InlineData("feff::1", true)]
    [InlineData("ff02::1", true)]
    [InlineData("ff0e::1", true)]
    [InlineData("::1", true)]
    [InlineData("::", true)]
    [InlineData("fbff::1", false)] // just below fc00::/7 (unallocated, but not an internal range)
    [InlineData("2606:4700::1111", false)]
    [InlineData("2001:4860:4860::8888", false)]
    public void IsForbidden_Address_AsTheRangesSay(string address, bool forbidden) =>
        Assert.Equal(forbidden, WebhookUrlPolicy.IsForbidden(IPAddress.Parse(address)));
}

using System.Text.Json;
using FraudWorkbench.Bench;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Bench;

public sealed class LoadGeneratorTests
{
    [Theory]
    [InlineData(0.0, 1)]          // the request scheduled at time 0 goes at once
    [InlineData(0.000999, 1)]
    [InlineData(0.001, 2)]        // request 1 is due at 1 / rate, not a whole interval later
    [InlineData(0.0105, 11)]
    [InlineData(5.0, 100)]        // never more than were asked for
    public void Due_OpenLoopAt1000PerSecond_RequestKDueAtKOverRate(double elapsed, int expected)
    {
        Assert.Equal(expected, LoadGenerator.Due(elapsed, 1000, 100));
    }

    [Fact]
    public async Task RunAsync_AgainstAServer_EveryStepReportedWithCountsAndTheAppsLatency()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        var requests = 0;
        var authorised = 0;
        app.MapPost("/api/v1/predict", (HttpContext context) =>
        {
            Interlocked.Increment(ref requests);
            if (context.Request.Headers.Authorization == "Bearer secret-key") Interlocked.Increment(ref authorised);
            return Results.Json(new { probability = 0.1, latencyMs = 0.25 });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bodies = Path.GetTempFileName();
        await File.WriteAllLinesAsync(bodies, ["{\"transaction\":{\"amount\":1}}", "{\"transaction\":{\"amount\":2}}"]);
        var output = new StringWriter();

        var exit = await LoadGenerator.RunAsync(address, bodies, "secret-key", warmupSeconds: 1, seconds: 1, rates: [200], concurrency: [2], output, CancellationToken.None);
        File.Delete(bodies);

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["begin warm-up", "begin open 200", "begin closed 2"], lines.Where(l => l.StartsWith("begin ", StringComparison.Ordinal)));
        var results = lines.Where(l => l.StartsWith("result ", StringComparison.Ordinal))
            .Select(l => JsonSerializer.Deserialize<LoadGenerator.LoadResult>(l["result ".Length..], LoadGenerator.Json)!).ToList();
        Assert.Equal(["warm-up", "open 200", "closed 2"], results.Select(r => r.Step));
        var open = results[1];
        Assert.Equal(200, open.Count); // exactly rate × seconds in open loop
        Assert.Equal(0, open.Errors);
        Assert.Equal(0.25, open.ServerP50);
        Assert.True(open.P50 >= open.ServerP50 && open.P99 >= open.P50 && open.Max >= open.P99);
        Assert.True(results[2].Count > 0);
        Assert.True(double.IsNaN(results[2].ServerP50)); // not read in closed loop
        Assert.Equal(requests, authorised);
        Assert.Equal(400 + results[2].Count, requests);
    }

    [Fact]
    public async Task RunAsync_NoKey_Refused()
    {
        var bodies = Path.GetTempFileName();
        await File.WriteAllLinesAsync(bodies, ["{}"]);

        var exit = await LoadGenerator.RunAsync("http://127.0.0.1:9", bodies, null, 1, 1, [10], [1], new StringWriter(), CancellationToken.None);
        File.Delete(bodies);

        Assert.Equal(2, exit);
    }

    [Fact]
    public async Task RunAsync_AddressNotHttp_Refused()
    {
        var exit = await LoadGenerator.RunAsync("ftp://example", "unused", "key", 1, 1, [10], [1], new StringWriter(), CancellationToken.None);

        Assert.Equal(2, exit);
    }
}

using FraudWorkbench.Bench;

namespace FraudWorkbench.Tests.Bench;

public sealed class ShadowBenchmarkTests
{
    [Fact]
    public void IsShadowRound_TwoPairs_AbbaOrder()
    {
        Assert.Equal([false, true, true, false, false, true, true, false], Enumerable.Range(0, 8).Select(ShadowBenchmark.IsShadowRound));
    }

    [Fact]
    public void Summary_Rounds_MediansAndFailedRequestsInAll()
    {
        LoadGenerator.LoadResult Round(double p99, double server, int errors) => new("open 1000", 10_000, errors, 10, 1.5, p99, 2 * p99, ServerP99: server);

        var summary = ShadowBenchmark.Summary.Of([Round(5, 0.5, 0), Round(165, 1.7, 1), Round(7, 0.4, 0), Round(6, 0.6, 2)]);

        Assert.Equal(1.5, summary.P50);
        Assert.Equal(6.5, summary.P99); // (6 + 7) / 2: one stalled round does not move the median
        Assert.Equal(0.55, summary.ServerP99, 12);
        Assert.Equal(3, summary.Errors);
    }

    [Fact]
    public async Task LoadGenerator_NoClosedLoopSteps_RunsOnlyTheOpenLoop()
    {
        // The shadow rounds pass --concurrency 0: no closed-loop step (it would flood the shadow queue on purpose).
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        await using var app = builder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapPost(app, "/api/v1/predict", () => Microsoft.AspNetCore.Http.Results.Json(new { probability = 0.1, latencyMs = 0.25 }));
        await app.StartAsync();
        var address = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(app.Services)
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        var bodies = Path.GetTempFileName();
        await File.WriteAllLinesAsync(bodies, ["{\"transaction\":{\"amount\":1}}"]);
        var output = new StringWriter();

        var exit = await LoadGenerator.RunAsync(address, bodies, "key", warmupSeconds: 1, seconds: 1, rates: [50], concurrency: [0], output, CancellationToken.None);
        File.Delete(bodies);

        Assert.Equal(0, exit);
        Assert.Equal(["begin warm-up", "begin open 50"], output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("begin ", StringComparison.Ordinal)));
    }
}

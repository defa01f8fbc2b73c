using System.Net;
using System.Net.Sockets;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Operations;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Scoring;

/// <summary>Scoring requests counted per minute by their final status, and flushed to the database without loss across an outage.</summary>
[Trait("Category", "Database")]
public sealed class ScoringRequestStatsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTime Noon = new(2026, 3, 2, 12, 0, 0, DateTimeKind.Utc);

    private ScoringRequestStats Stats(FakeTimeProvider clock, NpgsqlDataSource? dataSource = null) =>
        new(dataSource ?? db.DataSource, clock, NullLogger<ScoringRequestStats>.Instance);

    [Fact]
    public async Task FlushAsync_A503AndA200_OneMinuteRowWithTwoRequestsOneError()
    {
        var clock = new FakeTimeProvider(Noon.AddDays(1).AddSeconds(30));
        var stats = Stats(clock);
        stats.Count(StatusCodes.Status200OK);
        stats.Count(StatusCodes.Status503ServiceUnavailable);
        stats.Count(StatusCodes.Status400BadRequest); // refused input is the caller's error, not the service's

        Assert.True(await stats.FlushAsync());

        var minute = Noon.AddDays(1);
        Assert.Equal([new ScoringRequestMinute(minute, "*", 3, 1)], await stats.ReadAsync(minute, minute.AddMinutes(1)));
        Assert.Equal(0, stats.Pending);
    }

    [Fact]
    public async Task FlushAsync_TwoInstancesSameMinute_CountsAdded()
    {
        var clock = new FakeTimeProvider(Noon.AddDays(2).AddSeconds(59));
        var (a, b) = (Stats(clock), Stats(clock));
        a.Count(200);
        a.Count(500);
        b.Count(200);
        Assert.True(await a.FlushAsync());
        Assert.True(await b.FlushAsync());
        b.Count(503);
        Assert.True(await b.FlushAsync());

        var minute = Noon.AddDays(2);
        Assert.Equal([new ScoringRequestMinute(minute, "*", 4, 2)], await a.ReadAsync(minute, minute.AddMinutes(1)));
    }

    [Fact]
    public async Task FlushAsync_DatabaseDown_KeepsTheCountsAndWritesThemOnceItIsBack()
    {
        var (proxy, connectionString) = TcpProxy.For(db.ConnectionString);
        await using var _ = proxy;
        await using var through = NpgsqlDataSource.Create(connectionString + ";Pooling=false;Timeout=2;Command Timeout=2");
        var clock = new FakeTimeProvider(Noon.AddDays(3));
        var stats = Stats(clock, through);

        stats.Count(200);
        stats.Count(503);
        proxy.Cut();
        Assert.False(await stats.FlushAsync());
        Assert.Equal(1, stats.Pending);
        // More traffic while it is down, in the same minute and the next.
        stats.Count(503);
        clock.Advance(TimeSpan.FromMinutes(1));
        stats.Count(200);
        Assert.False(await stats.FlushAsync());
        Assert.Equal(2, stats.Pending);

        proxy.Restore();
        Assert.True(await stats.FlushAsync());
        Assert.Equal(0, stats.Pending);
        var minute = Noon.AddDays(3);
        Assert.Equal([new ScoringRequestMinute(minute, "*", 3, 2), new ScoringRequestMinute(minute.AddMinutes(1), "*", 1, 0)],
            await Stats(clock).ReadAsync(minute, minute.AddMinutes(2)));
        Assert.Equal(0, stats.Dropped);
    }

    [Fact]
    public async Task Middleware_ScoringRoutes_CountsTheFinalStatusOf503sFromTheFaultMiddlewareAnd500sFromTheExceptionHandler()
    {
        var clock = new FakeTimeProvider(Noon.AddDays(4).AddSeconds(10));
        var stats = Stats(clock);
        using var host = await new HostBuilder().ConfigureWebHost(web => web.UseTestServer()
            .ConfigureServices(services => services.AddRouting().AddProblemDetails().AddSingleton(stats))
            .Configure(app =>
            {
                // The app's order: counting outermost, then the exception handler, then the database fault middleware.
                app.UseMiddleware<ScoringRequestCounting>();
                app.UseExceptionHandler();
                app.UseMiddleware<DatabaseFaultMiddleware>();
                app.UseRouting();
                app.UseEndpoints(endpoints =>
                {
                    endpoints.MapPost("/api/v1/predict", (string? fail) => fail switch
                    {
                        "db" => throw new NpgsqlException("The database went away", new SocketException()),
                        "bug" => throw new InvalidOperationException("a bug"),
                        _ => Results.Ok(new { probability = 0.1 }),
                    });
                    endpoints.MapPost("/api/v1/predict/batch", () => Results.Ok());
                    endpoints.MapPost("/api/v1/explain", () => Results.Ok());
                    endpoints.MapGet("/api/v1/predict", () => Results.Ok());
                });
            })).StartAsync();
        var client = host.GetTestClient();

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/predict", null)).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/api/v1/predict?fail=db", null)).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.PostAsync("/api/v1/predict?fail=bug", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/predict/batch/", null)).StatusCode);
        // Not scoring: other routes and other methods are not counted.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/explain", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/predict")).StatusCode);

        Assert.True(await stats.FlushAsync());
        var minute = Noon.AddDays(4);
        Assert.Equal([new ScoringRequestMinute(minute, "*", 4, 2)], await stats.ReadAsync(minute, minute.AddMinutes(1)));
        await host.StopAsync();
    }
}

using FraudWorkbench.Core.Events;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace FraudWorkbench.Tests.Events;

[EventName("test.ping")]
public sealed record Ping(int N, string Text);

[Trait("Category", "Database")]
public sealed class EventHubTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task PublishAsync_LocalSubscriber_ReceivesEventUntilDisposed()
    {
        var hub = db.NewHub();
        var received = new List<Ping>();
        var subscription = hub.Subscribe<Ping>(received.Add);

        await hub.PublishAsync(new Ping(1, "a"));
        subscription.Dispose();
        await hub.PublishAsync(new Ping(2, "b"));

        Assert.Equal([new Ping(1, "a")], received);
    }

    [Fact]
    public async Task PublishAsync_FailingSubscriber_OthersStillReceive()
    {
        var hub = db.NewHub();
        var received = 0;
        using var bad = hub.Subscribe<Ping>(_ => throw new InvalidOperationException("boom"));
        using var good = hub.Subscribe<Ping>(_ => received++);

        await hub.PublishAsync(new Ping(1, "a"));

        Assert.Equal(1, received);
    }

    [Fact]
    public async Task PublishAsync_TwoInstancesOnOneDatabase_OtherInstanceReceivesOnceAndOriginNoEcho()
    {
        await using var a = await Instance.StartAsync(db);
        await using var b = await Instance.StartAsync(db);
        var atA = new List<Ping>();
        var atB = new TaskCompletionSource<Ping>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subA = a.Hub.Subscribe<Ping>(atA.Add);
        using var subB = b.Hub.Subscribe<Ping>(p => atB.TrySetResult(p));

        await a.Hub.PublishAsync(new Ping(7, "across"));

        Assert.Equal(new Ping(7, "across"), await atB.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.Delay(300); // time for an echo, which must not come
        Assert.Equal([new Ping(7, "across")], atA);
    }

    /// <summary>The hub, relay and listener of one app instance.</summary>
    private sealed class Instance(ServiceProvider services, PostgresEventListener listener) : IAsyncDisposable
    {
        public EventHub Hub => services.GetRequiredService<EventHub>();

        public static async Task<Instance> StartAsync(DatabaseFixture db)
        {
            var services = new ServiceCollection()
                .AddLogging()
                .AddSingleton(db.DataSource)
                .AddSingleton<PostgresEventRelay>()
                .AddSingleton<IEventRelay>(sp => sp.GetRequiredService<PostgresEventRelay>())
                .AddSingleton<EventHub>()
                .BuildServiceProvider();
            var listener = new PostgresEventListener(db.DataSource, services, services.GetRequiredService<PostgresEventRelay>(), NullLogger<PostgresEventListener>.Instance);
            await listener.StartAsync(CancellationToken.None);
            await listener.Listening.WaitAsync(TimeSpan.FromSeconds(10));
            return new Instance(services, listener);
        }

        public async ValueTask DisposeAsync()
        {
            await listener.StopAsync(CancellationToken.None);
            listener.Dispose();
            await services.DisposeAsync();
        }
    }
}

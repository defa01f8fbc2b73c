using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace FraudWorkbench.Core.Events;

/// <summary>Marks a record as an event that may travel between instances under a stable name.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class EventNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Carries an event to the other instances; implemented over PostgreSQL NOTIFY.</summary>
public interface IEventRelay
{
    Task SendAsync(string name, string json, CancellationToken cancellationToken);
}

/// <summary>
/// In-process publish/subscribe for typed events. Local subscribers are called at once; the relay
/// then carries the event to other instances, whose hubs call their own subscribers through
/// <see cref="DeliverRemote"/>. Handlers must be quick (a component calls InvokeAsync(StateHasChanged)).
/// </summary>
public sealed class EventHub(ILogger<EventHub> logger, IEventRelay? relay = null)
{
    private static readonly ConcurrentDictionary<Type, string> Names = new();
    private readonly ConcurrentDictionary<string, Type> typesByName = new();
    private readonly ConcurrentDictionary<Type, ImmutableHandlers> handlers = new();

    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Subscribes until the returned handle is disposed.</summary>
    public IDisposable Subscribe<T>(Action<T> handler) where T : class
    {
        typesByName[NameOf(typeof(T))] = typeof(T);
        var wrapped = new Action<object>(e => handler((T)e));
        handlers.AddOrUpdate(typeof(T), _ => new([wrapped]), (_, h) => h.Add(wrapped));
        return new Subscription(() => handlers.AddOrUpdate(typeof(T), _ => new([]), (_, h) => h.Remove(wrapped)));
    }

    public async Task PublishAsync<T>(T @event, CancellationToken cancellationToken = default) where T : class
    {
        Dispatch(typeof(T), @event);
        if (relay is not null)
        {
            try
            {
                await relay.SendAsync(NameOf(typeof(T)), JsonSerializer.Serialize(@event, JsonOptions), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Other instances miss a live update; their pages catch up on the next event or reload.
                logger.LogWarning(ex, "Could not relay event {Event} to other instances", typeof(T).Name);
            }
        }
    }

    /// <summary>Called by the relay for an event published by another instance.</summary>
    public void DeliverRemote(string name, string json)
    {
        if (!typesByName.TryGetValue(name, out var type))
        {
            return; // nobody here listens for it
        }

        try
        {
            var @event = JsonSerializer.Deserialize(json, type, JsonOptions);
            if (@event is not null) Dispatch(type, @event);
        }
        catch (JsonException ex)
        {
            logger.LogWarning(ex, "Ignoring malformed relayed event {Event}", name);
        }
    }

    internal int SubscriberCount<T>() => handlers.TryGetValue(typeof(T), out var h) ? h.Items.Length : 0;

    public static string NameOf(Type type) => Names.GetOrAdd(type, t =>
        t.GetCustomAttributes(typeof(EventNameAttribute), false) is [EventNameAttribute a] ? a.Name : t.FullName!);

    private void Dispatch(Type type, object @event)
    {
        if (!handlers.TryGetValue(type, out var current)) return;
        foreach (var handler in current.Items)
        {
            try
            {
                handler(@event);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "An event handler for {Event} failed", type.Name);
            }
        }
    }

    private sealed record ImmutableHandlers(Action<object>[] Items)
    {
        public ImmutableHandlers Add(Action<object> h) => new([.. Items, h]);
        public ImmutableHandlers Remove(Action<object> h) => new(Items.Where(x => x != h).ToArray());
    }

    private sealed class Subscription(Action unsubscribe) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) unsubscribe();
        }
    }
}

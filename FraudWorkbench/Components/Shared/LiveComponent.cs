using FraudWorkbench.Core.Events;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Components.Shared;

/// <summary>
/// The one way a page or panel follows live events: subscriptions made through <see cref="On{T}(Func{T, bool}, Action{T})"/>
/// and <see cref="ReloadOn{T}"/> run on the component's dispatcher, reloads are coalesced (a burst
/// of events costs two queries, not N), re-renders are throttled to a few per second (a job
/// reporting every row would otherwise re-render a page per row), and everything is unsubscribed
/// when the component goes.
/// </summary>
public abstract class LiveComponent : ComponentBase, IDisposable
{
    private static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(200);

    private readonly List<IDisposable> subscriptions = [];
    private readonly CoalescingReload reload = new();
    private long lastRender;
    private bool renderScheduled;
    private bool disposed;

    [Inject]
    private EventHub Events { get; set; } = default!;

    [Inject]
    private TimeProvider Time { get; set; } = default!;

    /// <summary>Loads the component's data; what <see cref="ReloadOn{T}"/> and <see cref="ReloadAsync"/> run.</summary>
    protected virtual Task LoadAsync() => Task.CompletedTask;

    /// <summary>Runs <see cref="LoadAsync"/>, or once more after the one in progress.</summary>
    protected Task ReloadAsync() => reload.RunAsync(LoadAsync);

    /// <summary>
    /// Patches state for each event <paramref name="when"/> accepts, then re-renders. The filter runs
    /// on the publisher's thread, so it must only read fields (it decides whether the event is ours).
    /// </summary>
    protected void On<T>(Func<T, bool> when, Action<T> apply) where T : class =>
        On<T>(when, e =>
        {
            apply(e);
            return Task.CompletedTask;
        });

    /// <inheritdoc cref="On{T}(Func{T, bool}, Action{T})"/>
    protected void On<T>(Func<T, bool> when, Func<T, Task> apply) where T : class =>
        subscriptions.Add(Events.Subscribe<T>(e =>
        {
            if (disposed || !when(e)) return;
            _ = InvokeAsync(async () =>
            {
                if (disposed) return;
                await apply(e);
                RenderSoon();
            });
        }));

    /// <summary>Reloads (coalesced) and re-renders for each event <paramref name="when"/> accepts.</summary>
    protected void ReloadOn<T>(Func<T, bool> when) where T : class => On<T>(when, _ => ReloadAsync());

    /// <inheritdoc cref="ReloadOn{T}(Func{T, bool})"/>
    protected void ReloadOn<T>() where T : class => ReloadOn<T>(_ => true);

    /// <summary>Re-renders now, or once at the end of the current interval when one was just drawn.</summary>
    private void RenderSoon()
    {
        var wait = RenderInterval - Time.GetElapsedTime(lastRender);
        if (wait <= TimeSpan.Zero)
        {
            lastRender = Time.GetTimestamp();
            StateHasChanged();
            return;
        }

        if (renderScheduled) return;
        renderScheduled = true;
        _ = DelayedRenderAsync(wait);
    }

    private async Task DelayedRenderAsync(TimeSpan wait)
    {
        await Task.Delay(wait, Time);
        await InvokeAsync(() =>
        {
            renderScheduled = false;
            if (disposed) return;
            lastRender = Time.GetTimestamp();
            StateHasChanged();
        });
    }

    public void Dispose()
    {
        disposed = true;
        foreach (var subscription in subscriptions) subscription.Dispose();
        subscriptions.Clear();
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}

using System.Collections.Concurrent;

namespace FraudWorkbench.Core.Registry;

/// <summary>
/// Values derived from a model version, which never changes once registered: each is loaded once however many callers
/// ask at the same time, and kept for good. A failed load (a database fault) is not remembered, so the next caller retries.
/// </summary>
public sealed class VersionCache<T>
{
    private readonly ConcurrentDictionary<Guid, Lazy<Task<T>>> entries = new();

    /// <param name="load">Shared by every caller waiting for the version, so it gets no caller's cancellation token.</param>
    public async Task<T> GetAsync(Guid versionId, Func<Guid, Task<T>> load, CancellationToken cancellationToken)
    {
        var lazy = entries.GetOrAdd(versionId, id => new Lazy<Task<T>>(() => load(id)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            entries.TryRemove(new KeyValuePair<Guid, Lazy<Task<T>>>(versionId, lazy));
            throw;
        }
    }
}

using System.Runtime.ExceptionServices;

namespace FraudWorkbench.Core.Features;

/// <summary>
/// Group commit without a thread of its own: callers queue their items; a caller that finds no flush
/// running flushes everything queued in one round trip, then hands the turn to the first caller still
/// waiting. Alone, a caller flushes at once; under load, many callers share one statement and one
/// transaction instead of each paying for theirs, and one instance never runs two flushes at once.
/// </summary>
/// <param name="flush">Handles a batch and returns one result per item, in order. It runs without the callers' cancellation: other callers wait for it.</param>
/// <param name="keysOf">Items sharing a key are never flushed together: the later one waits for the next batch.</param>
internal sealed class GroupCommit<TItem, TKey, TResult>(Func<List<TItem>, Task<TResult[]>> flush, Func<TItem, IEnumerable<TKey>>? keysOf = null, int maxBatch = 512)
    where TKey : notnull
{
    private readonly List<Waiter> queue = [];
    private bool flushing;

    public async Task<TResult> RunAsync(TItem item)
    {
        var waiter = new Waiter(item);
        bool lead;
        lock (queue)
        {
            queue.Add(waiter);
            // The queue is empty whenever nobody is flushing, so a caller that leads is first in it.
            lead = !flushing;
            flushing = true;
        }

        if (!lead && !await waiter.Turn.Task.ConfigureAwait(false)) return waiter.Outcome();

        // Off the caller's context (a Blazor circuit's, say: everyone waits on this flush), and after work already
        // queued on the thread pool (other requests on their way here) has run and joined it: free when idle,
        // larger batches when busy.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        List<Waiter> batch = [waiter];
        try
        {
            batch = Take();
            var results = await flush([.. batch.Select(w => w.Item)]).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++) batch[i].Result = results[i];
        }
        catch (Exception ex)
        {
            var error = ExceptionDispatchInfo.Capture(ex);
            foreach (var w in batch) w.Error = error;
        }
        finally
        {
            // Whatever happened, the turn passes on: a caller left waiting would wait for ever.
            Waiter? next;
            lock (queue)
            {
                queue.Remove(waiter); // still queued only when Take itself failed
                next = queue.Count > 0 ? queue[0] : null;
                flushing = next is not null;
            }

            foreach (var w in batch)
                if (w != waiter) w.Turn.TrySetResult(false);
            next?.Turn.TrySetResult(true);
        }

        return waiter.Outcome();
    }

    private List<Waiter> Take()
    {
        lock (queue)
        {
            var batch = new List<Waiter>();
            var taken = new HashSet<TKey>();
            var rest = new List<Waiter>();
            foreach (var w in queue)
            {
                var keys = keysOf?.Invoke(w.Item).ToList() ?? [];
                if (batch.Count < maxBatch && !keys.Any(taken.Contains))
                {
                    batch.Add(w);
                    taken.UnionWith(keys);
                }
                else rest.Add(w);
            }

            queue.Clear();
            queue.AddRange(rest);
            return batch;
        }
    }

    private sealed class Waiter(TItem item)
    {
        public TItem Item { get; } = item;

        /// <summary>True: this caller flushes next. False: someone else flushed its item.</summary>
        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TResult? Result { get; set; }

        public ExceptionDispatchInfo? Error { get; set; }

        public TResult Outcome()
        {
            Error?.Throw();
            return Result!;
        }
    }
}

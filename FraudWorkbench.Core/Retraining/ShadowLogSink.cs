using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Threading.Channels;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>A workflow whose challenger shadows the champion version's traffic.</summary>
public sealed record ShadowTarget(Guid WorkflowId, Guid ChampionVersionId, Guid ChallengerVersionId);

/// <summary>One logged champion prediction waiting for the challenger.</summary>
public sealed record ShadowItem(Guid WorkflowId, Guid PredictionId, DateTime CreatedAt, Guid ChampionVersionId, string?[] Row, double ChampionProbability, bool ChampionDecision);

/// <summary>
/// Hands every logged prediction of a shadowed champion version to the <see cref="ShadowScorer"/>. It runs inside the
/// prediction log's batch transaction, so it touches neither the database nor a lock: a look-up in a map the scorer
/// swaps whole, and a non-blocking write to a bounded queue that drops (and counts) what it has no room for. A
/// dropped transaction was served and logged as usual; it is only not shadowed.
/// </summary>
/// <remarks>
/// The log retries a batch whose transaction failed, so a prediction can be queued twice: the scorer's insert ignores
/// the second. A batch the log finally gives up on (only at shutdown) may leave a shadow prediction without its
/// champion row; the comparison reads both scores from <c>shadow_predictions</c>, so it is unaffected.
/// </remarks>
public sealed class ShadowLogSink : IPredictionLogSink
{
    private readonly Channel<ShadowItem> channel;
    private readonly ConcurrentDictionary<Guid, long> dropped = new();
    private FrozenDictionary<Guid, ShadowTarget> targets = FrozenDictionary<Guid, ShadowTarget>.Empty;

    public ShadowLogSink(IOptions<RetrainingOptions> options)
    {
        channel = Channel.CreateBounded<ShadowItem>(
            new BoundedChannelOptions(options.Value.ShadowQueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            item => dropped.AddOrUpdate(item.WorkflowId, 1, (_, n) => n + 1));
    }

    public ChannelReader<ShadowItem> Reader => channel.Reader;

    /// <summary>The workflows shadowing now, keyed by champion version (a model has at most one active workflow).</summary>
    public IReadOnlyCollection<ShadowTarget> Targets => Volatile.Read(ref targets).Values;

    /// <summary>Transactions queued and not yet scored.</summary>
    public int Queued => channel.Reader.Count;

    /// <summary>Replaces the shadowed versions at once; from the next batch on only these are queued.</summary>
    public void SetTargets(IEnumerable<ShadowTarget> active) =>
        Volatile.Write(ref targets, active.GroupBy(t => t.ChampionVersionId).ToFrozenDictionary(g => g.Key, g => g.Last()));

    /// <summary>Transactions of the workflow this instance could not queue (the queue was full) or not score, since it started.</summary>
    public long Dropped(Guid workflowId) => dropped.TryGetValue(workflowId, out var n) ? n : 0;

    /// <summary>Counts transactions the scorer took but could not score (their features failed).</summary>
    internal void CountDropped(Guid workflowId, long count) => dropped.AddOrUpdate(workflowId, count, (_, n) => n + count);

    public Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref targets);
        if (current.Count == 0) return Task.CompletedTask;
        foreach (var record in batch)
        {
            if (record.Row is null || !current.TryGetValue(record.ModelVersionId, out var target)) continue;
            channel.Writer.TryWrite(new ShadowItem(target.WorkflowId, record.Id, record.CreatedAt, record.ModelVersionId, record.Row, record.Probability, record.Decision));
        }

        return Task.CompletedTask;
    }
}

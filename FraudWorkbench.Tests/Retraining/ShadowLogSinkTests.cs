using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Retraining;

public sealed class ShadowLogSinkTests
{
    private static readonly Guid Champion = Guid.NewGuid();
    private static readonly Guid Other = Guid.NewGuid();
    private static readonly Guid Workflow = Guid.NewGuid();

    private static PredictionRecord Record(Guid version, double probability, string?[]? row = null) =>
        new(Guid.CreateVersion7(), DateTime.UtcNow, version, "test", "{}", [], probability, probability >= 0.5, 0.1f, Row: row ?? ["a", "1"]);

    private static ShadowLogSink Sink(int capacity) => new(Options.Create(new RetrainingOptions { ShadowQueueCapacity = capacity }));

    [Fact]
    public async Task WriteAsync_NoTargets_QueuesNothing()
    {
        var sink = Sink(10);

        // The sink must not touch the connection or transaction it is handed: none is given here.
        await sink.WriteAsync(null!, null!, [Record(Champion, 0.2), Record(Other, 0.9)], CancellationToken.None);

        Assert.Equal(0, sink.Queued);
    }

    [Fact]
    public async Task WriteAsync_ShadowedChampion_QueuesOnlyItsPredictionsWithRowsInOrder()
    {
        var sink = Sink(10);
        sink.SetTargets([new ShadowTarget(Workflow, Champion, Guid.NewGuid())]);
        var first = Record(Champion, 0.7, ["x", "2"]);
        var second = Record(Champion, 0.1);

        await sink.WriteAsync(null!, null!, [first, Record(Other, 0.5), Record(Champion, 0.4) with { Row = null }, second], CancellationToken.None);

        Assert.Equal(2, sink.Queued);
        Assert.True(sink.Reader.TryRead(out var a));
        Assert.True(sink.Reader.TryRead(out var b));
        Assert.Equal((Workflow, first.Id, first.CreatedAt, Champion, 0.7, true), (a.WorkflowId, a.PredictionId, a.CreatedAt, a.ChampionVersionId, a.ChampionProbability, a.ChampionDecision));
        Assert.Equal<string?>(["x", "2"], a.Row.AsEnumerable());
        Assert.Equal(second.Id, b.PredictionId);
        Assert.Equal(0, sink.Dropped(Workflow));
    }

    [Fact]
    public async Task WriteAsync_QueueFull_DropsAndCountsWithoutThrowingOrWaiting()
    {
        var sink = Sink(3);
        sink.SetTargets([new ShadowTarget(Workflow, Champion, Guid.NewGuid())]);
        var batch = Enumerable.Range(0, 8).Select(i => Record(Champion, i / 10.0)).ToList();

        var write = sink.WriteAsync(null!, null!, batch, CancellationToken.None);

        Assert.True(write.IsCompletedSuccessfully); // synchronous: the log writer's transaction never waits on the shadow
        await write;
        Assert.Equal(3, sink.Queued);
        Assert.Equal(5, sink.Dropped(Workflow));
        Assert.True(sink.Reader.TryRead(out var kept));
        Assert.Equal(batch[0].Id, kept.PredictionId); // the oldest are kept, the newest dropped
    }

    [Fact]
    public async Task SetTargets_Emptied_StopsQueueing()
    {
        var sink = Sink(10);
        sink.SetTargets([new ShadowTarget(Workflow, Champion, Guid.NewGuid())]);
        await sink.WriteAsync(null!, null!, [Record(Champion, 0.3)], CancellationToken.None);

        sink.SetTargets([]);
        await sink.WriteAsync(null!, null!, [Record(Champion, 0.3)], CancellationToken.None);

        Assert.Equal(1, sink.Queued);
        Assert.Empty(sink.Targets);
    }
}

using System.Collections.Concurrent;
using FraudWorkbench.Core.Jobs;

namespace FraudWorkbench.Tests.Infrastructure;

public sealed record StepsPayload(int Steps, string? Gate = null);

/// <summary>
/// A job kind for tests: advances progress in equal steps. With a gate name it waits before each step
/// until the test opens the gate, so a test can watch every intermediate state.
/// </summary>
public sealed class StepsJobHandler : IJobHandler
{
    public const string KindName = "test.steps";
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new();
    public static readonly ConcurrentDictionary<Guid, int> Executions = new();

    public string Kind => KindName;

    public static SemaphoreSlim Gate(string name) => Gates.GetOrAdd(name, _ => new SemaphoreSlim(0));

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        Executions.AddOrUpdate(context.Job.Id, 1, (_, n) => n + 1);
        var payload = context.Payload<StepsPayload>();
        for (var step = 1; step <= payload.Steps; step++)
        {
            if (payload.Gate is not null) await Gate(payload.Gate).WaitAsync(cancellationToken);
            else await Task.Delay(20, cancellationToken);
            await context.ReportAsync(step * 100 / payload.Steps, $"step {step} of {payload.Steps}", cancellationToken);
        }

        return new { steps = payload.Steps };
    }
}

/// <summary>Fails its first attempt, then succeeds; with <c>Permanent</c> it fails for good at once.</summary>
public sealed class FlakyJobHandler : IJobHandler
{
    public const string KindName = "test.flaky";
    public string Kind => KindName;

    public sealed record Payload(bool Permanent);

    public Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        if (context.Payload<Payload>().Permanent) throw new NonRetryableJobException("the input can never work");
        if (context.Job.Attempts == 1) throw new InvalidOperationException("transient failure");
        return Task.FromResult<object?>(new { attempt = context.Job.Attempts });
    }
}

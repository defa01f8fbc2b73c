namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>Waiting for work done in the background (jobs, writers) to show.</summary>
public static class Wait
{
    /// <exception cref="TimeoutException"><paramref name="condition"/> still false after <paramref name="seconds"/>; the message says <paramref name="what"/>.</exception>
    public static async Task UntilAsync(Func<Task<bool>> condition, int seconds = 30, string what = "condition")
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}: not met within {seconds} s");
            await Task.Delay(20);
        }
    }
}

namespace FraudWorkbench.Components.Shared;

/// <summary>
/// Runs a component's reload at most once at a time: events arriving during a reload ask for one
/// more run afterwards instead of a query each, so a burst of events costs two queries, not N.
/// Used from the component's own dispatcher, so the flags need no locking.
/// </summary>
public sealed class CoalescingReload
{
    private bool running;
    private bool again;

    public async Task RunAsync(Func<Task> reload)
    {
        if (running)
        {
            again = true;
            return;
        }

        running = true;
        try
        {
            do
            {
                again = false;
                await reload();
            }
            while (again);
        }
        finally
        {
            running = false;
        }
    }
}

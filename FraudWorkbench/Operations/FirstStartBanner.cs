using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FraudWorkbench.Operations;

/// <summary>
/// On a first start, repeats the one-time password once the app listens, with the address to open:
/// the banner printed while the database was prepared is above a screen of start-up output by then.
/// </summary>
public sealed class FirstStartBanner(IServiceProvider services, IServer server, IHostApplicationLifetime lifetime, TimeProvider time) : BackgroundService
{
    // After the host's own "Application started" lines, which are written from the same started event.
    private static readonly TimeSpan AfterStartupOutput = TimeSpan.FromMilliseconds(300);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (services.GetService<AccountBootstrapService>() is not { } bootstrap) return;
        var started = new TaskCompletionSource();
        await using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);
        await Task.Delay(AfterStartupOutput, time, stoppingToken);
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        await bootstrap.PrintReadyBannerAsync(addresses, stoppingToken);
    }
}

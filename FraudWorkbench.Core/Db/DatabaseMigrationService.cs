using Microsoft.Extensions.Hosting;

namespace FraudWorkbench.Core.Db;

/// <summary>First thing at start-up: reach the database (starting the local cluster if needed) and migrate it.</summary>
public sealed class DatabaseMigrationService(Migrator migrator) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => migrator.ApplyAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

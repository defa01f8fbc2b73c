using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>A fresh, migrated database for one test class.</summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        ConnectionString = await PostgresServer.CreateDatabaseAsync();
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    public EventHub NewHub() => new(NullLogger<EventHub>.Instance);

    public JobStore Jobs(EventHub? hub = null, TimeProvider? time = null) => new(DataSource, hub ?? NewHub(), time ?? TimeProvider.System);

    public UserStore Users(TimeProvider? time = null) => new(DataSource, time ?? TimeProvider.System, Options.Create(new AccountOptions()));

    public ApiKeyStore ApiKeys(TimeProvider? time = null) => new(DataSource, time ?? TimeProvider.System);
}

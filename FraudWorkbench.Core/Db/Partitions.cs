using System.Globalization;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core.Db;

/// <summary>
/// A table partitioned by RANGE on <paramref name="Key"/> into UTC days named <c>{Name}_pYYYYMMDD</c>, with a DEFAULT
/// partition <c>{Name}_default</c> for rows no day partition takes.
/// </summary>
/// <param name="Dependent">A table whose rows reference this one's by (id, time), with the column holding the time: its rows
/// are parked while their day moves out of the DEFAULT partition and deleted before their day is dropped.</param>
public sealed record PartitionedTable(string Name, string Key, PartitionDependent? Dependent = null)
{
    public string Default => $"{Name}_default";

    public string PartitionName(DateOnly day) => $"{Name}_p{day:yyyyMMdd}";
}

/// <param name="IdColumn">The column holding the referenced row's <c>id</c>.</param>
/// <param name="KeyColumn">The column holding the referenced row's partition key.</param>
public sealed record PartitionDependent(string Table, string IdColumn, string KeyColumn);

/// <summary>What dropping a table's old days did: the partitions dropped and the rows gone with them (DEFAULT's included).</summary>
public sealed record PartitionDrop(string Table, IReadOnlyList<string> Partitions, long Rows, long DependentRows);

/// <summary>
/// Keeps the day partitions of the prediction log and the monitoring tables: creates today and the next
/// <see cref="DaysAhead"/> days (at start-up and from the daily retention job) and drops the days a retention period
/// left behind. Every change takes one advisory lock, so instances doing this at the same time wait for each other
/// and then find the work done.
/// </summary>
public sealed class PartitionMaintenance(NpgsqlDataSource dataSource, TimeProvider time, ILogger<PartitionMaintenance> logger)
{
    public const int DaysAhead = 7;

    // "FWB" + "PART" in ASCII, shared by every instance.
    private const long AdvisoryLockKey = 0x465742_50415254;

    // Creating or detaching a partition locks its parent exclusively: rather fail and retry tomorrow (a week ahead)
    // than queue every insert behind a long report.
    private const string LockTimeout = "SET LOCAL lock_timeout = '10s'";

    public static readonly PartitionedTable Predictions = new("predictions", "created_at", new PartitionDependent("prediction_feedback", "prediction_id", "prediction_created_at"));
    public static readonly PartitionedTable MonitoringCounts = new("monitoring_counts", "bucket_start");
    public static readonly PartitionedTable ScoringRefusals = new("scoring_refusals", "bucket_start");
    public static readonly PartitionedTable DriftResults = new("drift_results", "window_start");

    public static IReadOnlyList<PartitionedTable> All { get; } = [Predictions, MonitoringCounts, ScoringRefusals, DriftResults];

    public static IReadOnlyList<PartitionedTable> Monitoring { get; } = [MonitoringCounts, ScoringRefusals, DriftResults];

    /// <summary>Creates today's partition and the next <see cref="DaysAhead"/> days' of every table; returns the ones created.</summary>
    public async Task<IReadOnlyList<string>> CreateAheadAsync(CancellationToken cancellationToken = default)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var created = new List<string>();
        foreach (var table in All)
        {
            for (var day = today; day <= today.AddDays(DaysAhead); day = day.AddDays(1))
            {
                if (await CreateAsync(table, day, cancellationToken)) created.Add(table.PartitionName(day));
            }
        }

        if (created.Count > 0) logger.LogInformation("Created partitions {Partitions}", string.Join(", ", created));
        return created;
    }

    /// <summary>
    /// Creates <paramref name="day"/>'s partition of <paramref name="table"/> unless it exists (false). Rows of that day
    /// parked in the DEFAULT partition (clock skew, downtime) would make PostgreSQL refuse it, so they move into it in
    /// the same transaction, their dependent rows (labels) with them.
    /// </summary>
    public async Task<bool> CreateAsync(PartitionedTable table, DateOnly day, CancellationToken cancellationToken = default)
    {
        var name = table.PartitionName(day);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockAsync(connection, transaction, cancellationToken);
        if (await ExistsAsync(connection, transaction, name, cancellationToken)) return false;

        var (from, to) = (Bound(day), Bound(day.AddDays(1)));
        await Execute(connection, transaction, $"LOCK TABLE {table.Name} IN ACCESS EXCLUSIVE MODE", cancellationToken);
        var inDefault = $"{table.Key} >= '{from}' AND {table.Key} < '{to}'";
        var parked = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"SELECT EXISTS (SELECT 1 FROM {table.Default} WHERE {inDefault})", transaction: transaction, cancellationToken: cancellationToken));
        if (parked)
        {
            if (table.Dependent is { } dependent)
            {
                await Execute(connection, transaction, $"""
                    CREATE TEMP TABLE parked_dependent (LIKE {dependent.Table}) ON COMMIT DROP;
                    WITH moved AS (DELETE FROM {dependent.Table} WHERE {dependent.KeyColumn} >= '{from}' AND {dependent.KeyColumn} < '{to}' RETURNING *)
                    INSERT INTO parked_dependent SELECT * FROM moved
                    """, cancellationToken);
            }

            await Execute(connection, transaction, $"""
                CREATE TEMP TABLE parked_rows (LIKE {table.Name}) ON COMMIT DROP;
                WITH moved AS (DELETE FROM {table.Default} WHERE {inDefault} RETURNING *)
                INSERT INTO parked_rows SELECT * FROM moved
                """, cancellationToken);
        }

        await Execute(connection, transaction, $"CREATE TABLE {name} PARTITION OF {table.Name} FOR VALUES FROM ('{from}') TO ('{to}')", cancellationToken);
        if (parked)
        {
            await Execute(connection, transaction, $"INSERT INTO {table.Name} SELECT * FROM parked_rows", cancellationToken);
            if (table.Dependent is { } dependent)
            {
                await Execute(connection, transaction, $"INSERT INTO {dependent.Table} SELECT * FROM parked_dependent", cancellationToken);
            }

            logger.LogInformation("Moved the rows of {Day} parked in {Default} into {Partition}", day, table.Default, name);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The day partitions of a table (named as this class names them), oldest first.</summary>
    public async Task<IReadOnlyList<DateOnly>> DaysAsync(PartitionedTable table, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(@table)
            """;
        var names = await connection.QueryAsync<string>(new CommandDefinition(sql, new { table = table.Name }, cancellationToken: cancellationToken));
        var prefix = $"{table.Name}_p";
        return [.. names
            .Select(n => n.StartsWith(prefix, StringComparison.Ordinal)
                && DateOnly.TryParseExact(n[prefix.Length..], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : (DateOnly?)null)
            .OfType<DateOnly>()
            .Order()];
    }

    /// <summary>
    /// Drops the day partitions that end at or before <paramref name="cutoff"/> (the day holding the cutoff stays until it
    /// is wholly past) after deleting their dependent rows, and deletes the DEFAULT partition's rows older than the cutoff.
    /// </summary>
    public async Task<PartitionDrop> DropOlderThanAsync(PartitionedTable table, DateTime cutoff, CancellationToken cancellationToken = default)
    {
        var dropped = new List<string>();
        long rows = 0, dependentRows = 0;
        foreach (var day in await DaysAsync(table, cancellationToken))
        {
            if (day.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) > cutoff) break;
            var name = table.PartitionName(day);
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await LockAsync(connection, transaction, cancellationToken);
            if (!await ExistsAsync(connection, transaction, name, cancellationToken)) continue; // another instance was first

            if (table.Dependent is { } dependent)
            {
                // A referenced partition cannot be detached while rows point at it.
                dependentRows += await connection.ExecuteAsync(new CommandDefinition(
                    $"DELETE FROM {dependent.Table} WHERE {dependent.KeyColumn} >= '{Bound(day)}' AND {dependent.KeyColumn} < '{Bound(day.AddDays(1))}'",
                    transaction: transaction, cancellationToken: cancellationToken));
            }

            rows += await connection.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM {name}", transaction: transaction, cancellationToken: cancellationToken));
            await Execute(connection, transaction, $"ALTER TABLE {table.Name} DETACH PARTITION {name}", cancellationToken);
            await Execute(connection, transaction, $"DROP TABLE {name}", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            dropped.Add(name);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (table.Dependent is { } dependent)
            {
                dependentRows += await connection.ExecuteAsync(new CommandDefinition($"""
                    DELETE FROM {dependent.Table} f USING {table.Default} d
                    WHERE f.{dependent.IdColumn} = d.id AND f.{dependent.KeyColumn} = d.{table.Key} AND d.{table.Key} < @cutoff
                    """, new { cutoff }, transaction, cancellationToken: cancellationToken));
            }

            rows += await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM {table.Default} WHERE {table.Key} < @cutoff", new { cutoff }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }

        if (dropped.Count > 0) logger.LogInformation("Dropped partitions {Partitions} (older than {Cutoff:u})", string.Join(", ", dropped), cutoff);
        return new PartitionDrop(table.Name, dropped, rows, dependentRows);
    }

    private static string Bound(DateOnly day) => $"{day:yyyy-MM-dd} 00:00:00+00";

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await Execute(connection, transaction, LockTimeout, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@key)", new { key = AdvisoryLockKey }, transaction, cancellationToken: cancellationToken));
    }

    private static Task<bool> ExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT to_regclass(@name) IS NOT NULL", new { name }, transaction, cancellationToken: cancellationToken));

    private static Task Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
}

/// <summary>Creates the days ahead at start-up (after the migrations); the daily retention job keeps them ahead after that.</summary>
public sealed class PartitionMaintenanceService(PartitionMaintenance partitions, ILogger<PartitionMaintenanceService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await partitions.CreateAheadAsync(cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            // Not fatal: rows land in the DEFAULT partitions until the next run creates their days and moves them.
            logger.LogWarning(ex, "Could not create the partitions ahead; the daily retention job will try again");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

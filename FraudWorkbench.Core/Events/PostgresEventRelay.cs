using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FraudWorkbench.Core.Events;

/// <summary>
/// Carries events between instances with PostgreSQL LISTEN/NOTIFY on one channel. Each instance
/// tags what it sends with its own id and ignores its own echo, because local subscribers were
/// already called when the event was published.
/// </summary>
public sealed class PostgresEventRelay(NpgsqlDataSource dataSource) : IEventRelay
{
    public const string Channel = "fraudwb_events";

    /// <summary>
    /// The largest payload relayed, in bytes. NOTIFY payloads are limited to 8000 bytes; events are small summaries by
    /// design, and one that lists things (alerts fired at once) is published in parts that fit (<see cref="PayloadBytes"/>).
    /// </summary>
    public const int MaxPayloadBytes = 7900;

    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The bytes an event's NOTIFY payload takes: its JSON escaped again inside the envelope, with an instance id.</summary>
    public static int PayloadBytes(string name, string json) =>
        System.Text.Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(new Envelope(SizingInstanceId, name, json)));

    // Every instance id has this length (a Guid in "N" format).
    private static readonly string SizingInstanceId = new('0', 32);

    public async Task SendAsync(string name, string json, CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.Serialize(new Envelope(InstanceId, name, json));
        if (System.Text.Encoding.UTF8.GetByteCount(payload) > MaxPayloadBytes)
        {
            throw new InvalidOperationException($"Event {name} is too large to relay ({payload.Length} characters).");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "SELECT pg_notify(@channel, @payload)";
        await connection.ExecuteAsync(new CommandDefinition(sql, new { channel = Channel, payload }, cancellationToken: cancellationToken));
    }

    internal sealed record Envelope(string Instance, string Name, string Json);
}

/// <summary>Listens for other instances' events and hands them to the local hub; reconnects after failures.</summary>
public sealed class PostgresEventListener(
    NpgsqlDataSource dataSource,
    IServiceProvider services,
    PostgresEventRelay relay,
    ILogger<PostgresEventListener> logger) : BackgroundService
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(30);
    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the first LISTEN is in place.</summary>
    public Task Listening => listening.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hub = services.GetRequiredService<EventHub>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    try
                    {
                        var envelope = JsonSerializer.Deserialize<PostgresEventRelay.Envelope>(e.Payload);
                        if (envelope is not null && envelope.Instance != relay.InstanceId)
                        {
                            hub.DeliverRemote(envelope.Name, envelope.Json);
                        }
                    }
                    catch (JsonException ex)
                    {
                        logger.LogWarning(ex, "Ignoring a malformed notification on {Channel}", PostgresEventRelay.Channel);
                    }
                };

                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresEventRelay.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                listening.TrySetResult();
                try
                {
                    while (!stoppingToken.IsCancellationRequested)
                    {
                        // An idle LISTEN socket dropped by a firewall or proxy raises nothing by itself:
                        // probe it after each quiet period so a dead connection throws and we reconnect.
                        if (!await connection.WaitAsync(ProbeInterval, stoppingToken))
                        {
                            await using var probe = new NpgsqlCommand("SELECT 1", connection);
                            await probe.ExecuteScalarAsync(stoppingToken);
                        }
                    }
                }
                finally
                {
                    // Pooled connections are not reset when they go back (NoResetOnClose): stop listening first.
                    if (connection.State == System.Data.ConnectionState.Open)
                    {
                        try
                        {
                            // Bounded: shutting down must not wait on a connection that stopped answering.
                            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                            await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
                            await unlisten.ExecuteNonQueryAsync(timeout.Token);
                        }
                        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or OperationCanceledException)
                        {
                            // A broken connection is not returned to the pool anyway.
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Event listener lost its connection; reconnecting");
                try { await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }
}

using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder in front of PostgreSQL, for fault tests: <see cref="Cut"/> drops every
/// connection and refuses new ones (a database that went away), <see cref="Stall"/> accepts and then
/// forwards nothing (a database whose backends stopped), <see cref="Restore"/> forwards again.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private enum Mode { Forward, Cut, Stall }

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<TcpClient> open = [];
    private volatile Mode mode = Mode.Forward;
    private readonly Task accepting;

    private TcpProxy(IPEndPoint target)
    {
        this.target = target;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>A proxy in front of the server of <paramref name="connectionString"/>, and the same connection string through it.</summary>
    public static (TcpProxy Proxy, string ConnectionString) For(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var proxy = new TcpProxy(new IPEndPoint(IPAddress.Parse(builder.Host == "localhost" ? "127.0.0.1" : builder.Host!), builder.Port));
        builder.Host = "127.0.0.1";
        builder.Port = proxy.Port;
        return (proxy, builder.ConnectionString);
    }

    public void Cut()
    {
        mode = Mode.Cut;
        CloseAll();
    }

    public void Stall() => mode = Mode.Stall;

    public void Restore() => mode = Mode.Forward;

    private void CloseAll()
    {
        lock (open)
        {
            foreach (var client in open) client.Dispose();
            open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stopping.Token); }
            catch (Exception) { return; }

            if (mode == Mode.Cut)
            {
                client.Client.LingerState = new LingerOption(true, 0); // a reset, like a closed port
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var server = new TcpClient();
        lock (open) open.Add(client);
        try
        {
            await server.ConnectAsync(target, stopping.Token);
            lock (open) open.Add(server);
            await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream()), PumpAsync(server.GetStream(), client.GetStream()));
        }
        catch (Exception)
        {
            // A cut or a stop ends the pumps with errors; the client sees a broken connection, as intended.
        }
        finally
        {
            client.Dispose();
            lock (open) { open.Remove(client); open.Remove(server); }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, stopping.Token);
            if (read == 0) return;
            // A stalled server holds what it was sent: nothing moves until the proxy forwards again.
            while (mode == Mode.Stall) await Task.Delay(20, stopping.Token);
            if (mode == Mode.Cut) return;
            await to.WriteAsync(buffer.AsMemory(0, read), stopping.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        CloseAll();
        await accepting;
        stopping.Dispose();
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>The built app run as its own process, as a newcomer or an operator runs it.</summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder errors = new();

    private AppProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output { get { lock (output) return output.ToString(); } }
    public string Errors { get { lock (errors) return errors.ToString(); } }
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    public static AppProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FraudWorkbench.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ConnectionStrings__Postgres");
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return new AppProcess(Process.Start(info)!);
    }

    /// <summary>Runs an operator command to completion.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        await using var run = Start(environment, args);
        await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return (run.ExitCode, run.Output, run.Errors);
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text))
        {
            if (process.HasExited) throw new InvalidOperationException($"The app exited with {process.ExitCode} before printing '{text}'.\n{Output}\n{Errors}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{text}' not printed within {timeout}.\n{Output}\n{Errors}");
            await Task.Delay(100);
        }
    }

    /// <summary>Ctrl+C: a graceful shutdown.</summary>
    public async Task InterruptAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString()])) await kill.WaitForExitAsync();
        await WaitForExitAsync(timeout);
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        process.WaitForExit(); // flush the redirected streams
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}

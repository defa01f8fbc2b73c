using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace FraudWorkbench.Core.Db;

/// <summary>Thrown when there is neither a connection string nor a PostgreSQL server on the machine.</summary>
public sealed class PostgresNotAvailableException(string message) : Exception(message);

/// <summary>
/// A private PostgreSQL cluster under a data directory, run from the server binaries found on the
/// machine. It serves the zero-config local run and the test suite's throwaway cluster. It listens
/// on a free loopback port only (no Unix socket: socket paths are limited to 107 bytes and deep
/// data directories exceed that) and requires a generated password kept beside the cluster.
/// </summary>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    public const string SuperUser = "fraudwb";

    private readonly string root;
    private readonly bool throwaway;
    private readonly string? explicitBinDirectory;
    private bool ownsServer;

    private LocalPostgresCluster(string root, bool throwaway, string? binDirectory = null)
    {
        this.root = Path.GetFullPath(root);
        this.throwaway = throwaway;
        explicitBinDirectory = binDirectory;
    }

    public string ClusterDirectory => Path.Combine(root, "postgres");
    public string BinDirectory { get; private set; } = "";
    public int Port { get; private set; }
    public string Password { get; private set; } = "";

    /// <summary>The cluster kept in <c>{dataDirectory}/postgres</c>, reused across starts.</summary>
    /// <param name="binDirectory">Where initdb, pg_ctl and postgres are; null to search the machine.</param>
    public static LocalPostgresCluster ForDataDirectory(string dataDirectory, string? binDirectory = null) =>
        new(dataDirectory, throwaway: false, binDirectory);

    /// <summary>A cluster in a new temporary directory, without fsync, deleted on dispose.</summary>
    public static LocalPostgresCluster CreateThrowaway() =>
        new(Path.Combine(Path.GetTempPath(), "fraudwb-pg-" + Guid.NewGuid().ToString("N")[..12]), throwaway: true);

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Password = Password,
        Database = database,
    }.ConnectionString;

    /// <summary>Initialises the cluster if needed, starts it unless already running, and makes sure <paramref name="database"/> exists.</summary>
    public async Task<string> StartAsync(string database, CancellationToken cancellationToken = default)
    {
        BinDirectory = explicitBinDirectory is null
            ? FindBinDirectory() ?? throw new PostgresNotAvailableException(NotFoundMessage)
            : HasServer(explicitBinDirectory)
                ? explicitBinDirectory
                : throw new PostgresNotAvailableException($"The configured PostgreSQL bin directory '{explicitBinDirectory}' (FRAUDWB_PG_BIN) has no initdb, pg_ctl and postgres.\n{NotFoundMessage}");
        Directory.CreateDirectory(root);
        var runAs = RunAsUser();
        if (runAs is not null) await EnsureReachableAsync(runAs, cancellationToken);

        // Two processes starting on one data directory take turns here.
        await using var startLock = await AcquireFileLockAsync(Path.Combine(root, "cluster.lock"), cancellationToken);

        var passwordFile = Path.Combine(root, "postgres.credentials");
        if (!File.Exists(Path.Combine(ClusterDirectory, "PG_VERSION")))
        {
            await InitialiseAsync(passwordFile, runAs, cancellationToken);
        }

        Password = (await File.ReadAllTextAsync(passwordFile, cancellationToken)).Trim();

        var runningPort = await RunningPortAsync(runAs, cancellationToken);
        if (runningPort is int port)
        {
            Port = port;
        }
        else
        {
            Port = FreeLoopbackPort();
            await StartServerAsync(runAs, cancellationToken);
        }

        await EnsureDatabaseAsync(database, cancellationToken);
        return ConnectionString(database);
    }

    /// <summary>True while the postmaster named in the cluster's pid file is alive.</summary>
    public bool IsRunning()
    {
        try
        {
            var pidFile = Path.Combine(ClusterDirectory, "postmaster.pid");
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid)) return false;
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts the server again on the same port (connection strings hold it) after it died. Fails, to be tried
    /// again, while the dead server's backends still hold its shared memory.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var runAs = RunAsUser();
        await using var startLock = await AcquireFileLockAsync(Path.Combine(root, "cluster.lock"), cancellationToken);
        if (IsRunning()) return;
        await StartServerAsync(runAs, cancellationToken);
    }

    private async Task StartServerAsync(string? runAs, CancellationToken cancellationToken)
    {
        var settings = $"-p {Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''";
        if (throwaway)
        {
            settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        }

        await RunAsync(runAs, "pg_ctl", ["start", "-w", "-t", "60", "-D", ClusterDirectory, "-l", Path.Combine(ClusterDirectory, "server.log"), "-o", settings], cancellationToken);
        ownsServer = true;
    }

    public async Task StopAsync()
    {
        if (!ownsServer)
        {
            return;
        }

        ownsServer = false;
        await RunAsync(RunAsUser(), "pg_ctl", ["stop", "-w", "-m", "fast", "-D", ClusterDirectory], CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (throwaway)
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool HasServer(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "postgres"));

    /// <summary>Searches PATH, then <c>pg_config --bindir</c>, then Debian's <c>/usr/lib/postgresql/*/bin</c> (newest first).</summary>
    public static string? FindBinDirectory()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")))
            {
                // Resolve symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb.
                var target = new FileInfo(Path.Combine(dir, "initdb")).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
                var real = target is null ? dir : Path.GetDirectoryName(target)!;
                if (HasServer(real)) return real;
                if (HasServer(dir)) return dir;
            }
        }

        try
        {
            using var pgConfig = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (pgConfig is not null)
            {
                var bindir = pgConfig.StandardOutput.ReadToEnd().Trim();
                pgConfig.WaitForExit();
                if (pgConfig.ExitCode == 0 && HasServer(bindir)) return bindir;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // pg_config is not installed.
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            return Directory.GetDirectories(debianRoot)
                .Select(d => (dir: Path.Combine(d, "bin"), version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => HasServer(x.dir))
                .OrderByDescending(x => x.version)
                .Select(x => x.dir)
                .FirstOrDefault();
        }

        return null;
    }

    public const string NotFoundMessage =
        "FraudWorkbench needs PostgreSQL and found neither a connection string nor PostgreSQL server binaries (initdb, pg_ctl, postgres).\n" +
        "Do one of these:\n" +
        "  * install the PostgreSQL server so the app can run its own private cluster under its data directory\n" +
        "    (Debian/Ubuntu: sudo apt-get install postgresql; Fedora: sudo dnf install postgresql-server; macOS: brew install postgresql@15), or\n" +
        "  * point it at an existing database: ConnectionStrings__Postgres=\"Host=...;Database=...;Username=...;Password=...\".";

    private async Task InitialiseAsync(string passwordFile, string? runAs, CancellationToken cancellationToken)
    {
        // initdb into a side directory and rename, so an interrupted initdb never leaves a half cluster that looks real.
        var staging = ClusterDirectory + ".init";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);

        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        // Created owner-only from the first byte: the file holds the cluster's superuser password.
        var createOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) createOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new StreamWriter(passwordFile, createOptions))
        {
            await file.WriteAsync(password);
        }

        if (runAs is not null)
        {
            await RunAsync(null, "chown", [$"{runAs}:", staging, passwordFile], cancellationToken, bin: false);
        }

        await RunAsync(runAs, "initdb", ["-D", staging, "-U", SuperUser, $"--pwfile={passwordFile}", "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-instructions"], cancellationToken);
        Directory.Move(staging, ClusterDirectory);
    }

    private async Task<int?> RunningPortAsync(string? runAs, CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(ClusterDirectory, "postmaster.pid");
        if (!File.Exists(pidFile)) return null;
        var status = await RunAsync(runAs, "pg_ctl", ["status", "-D", ClusterDirectory], cancellationToken, throwOnError: false);
        if (status.ExitCode != 0) return null;
        var lines = await File.ReadAllLinesAsync(pidFile, cancellationToken);
        return lines.Length > 3 && int.TryParse(lines[3], out var port) ? port : null;
    }

    private async Task EnsureDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = database } } };
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The server user must be able to reach the data directory; /root and its subfolders are closed to it.</summary>
    private async Task EnsureReachableAsync(string runAs, CancellationToken cancellationToken)
    {
        var probe = await RunAsync(runAs, "test", ["-x", root], cancellationToken, throwOnError: false, bin: false);
        if (probe.ExitCode != 0)
        {
            throw new PostgresNotAvailableException(
                $"Running as root, the private PostgreSQL cluster runs as the '{runAs}' user, which cannot reach the data directory {root} " +
                "(a parent folder such as /root is closed to it). Set FRAUDWB_DATA_DIR to a folder it can reach (for example /var/lib/fraudworkbench), " +
                "run FraudWorkbench as a normal user, or set ConnectionStrings__Postgres.");
        }
    }

    /// <summary>PostgreSQL refuses to run as root; then the server runs as the <c>postgres</c> system user.</summary>
    private string? RunAsUser()
    {
        if (Environment.UserName != "root") return null;
        if (!File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)))
        {
            throw new PostgresNotAvailableException(
                "Running as root, and PostgreSQL refuses to run as root, but there is no 'postgres' system user to run the private cluster as. " +
                "Run FraudWorkbench as a normal user, install the postgresql package (it creates that user), or set ConnectionStrings__Postgres.");
        }

        return "postgres";
    }

    private async Task<ProcessResult> RunAsync(string? runAs, string tool, IReadOnlyList<string> args, CancellationToken cancellationToken, bool throwOnError = true, bool bin = true)
    {
        var executable = bin ? Path.Combine(BinDirectory, tool) : tool;
        var info = runAs is null ? new ProcessStartInfo(executable) : new ProcessStartInfo("runuser");
        if (runAs is not null)
        {
            foreach (var a in new[] { "-u", runAs, "--", executable }) info.ArgumentList.Add(a);
        }

        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        // Directories above a root-owned working directory may be closed to the postgres user.
        info.WorkingDirectory = Path.GetTempPath();

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var result = new ProcessResult(process.ExitCode, await stdout, await stderr);
        if (throwOnError && result.ExitCode != 0)
        {
            var log = Path.Combine(ClusterDirectory, "server.log");
            var tail = tool == "pg_ctl" && File.Exists(log) ? "\nserver.log:\n" + string.Join('\n', File.ReadLines(log).TakeLast(20)) : "";
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed with exit code {result.ExitCode}:\n{result.StandardError}{result.StandardOutput}{tail}");
        }

        return result;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);
}

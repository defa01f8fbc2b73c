using Dapper;
using FraudWorkbench.Core.Db;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

/// <summary>
/// On an empty database: creates the first Admin (from configuration, or with a generated one-time
/// password printed once to the console, never to the log) and the bootstrap API key if one is configured.
/// </summary>
public sealed class AccountBootstrapService(
    NpgsqlDataSource dataSource,
    UserStore users,
    ApiKeyStore apiKeys,
    IOptions<AccountOptions> options,
    ILogger<AccountBootstrapService> logger) : IHostedService
{
    public const string GeneratedAdminEmail = "admin@localhost";
    private const long AdvisoryLockKey = 0x465742_424F4F54; // "FWB" + "BOOT"

    /// <summary>Where the one-time password goes; the console unless a test redirects it.</summary>
    public TextWriter Console { get; set; } = System.Console.Out;

    /// <summary>
    /// The generated one-time password until it has been printed the second time, when the app is
    /// ready (so it is the last thing on the console, not lost above the start-up output).
    /// </summary>
    public string? PendingOneTimePassword { get; private set; }

    /// <summary>Prints the sign-in banner again with where to open the app, then forgets the password.</summary>
    public async Task PrintReadyBannerAsync(IEnumerable<string> addresses, CancellationToken cancellationToken)
    {
        if (PendingOneTimePassword is not { } password) return;
        PendingOneTimePassword = null;
        var url = addresses
            .Select(a => a.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal))
            .OrderBy(a => a.StartsWith("https", StringComparison.Ordinal) ? 1 : 0)
            .FirstOrDefault() ?? "http://localhost:5080";
        await Console.WriteLineAsync($"""

            ===================================================================
             FraudWorkbench is ready: open {url}
             and sign in with
               email:    {GeneratedAdminEmail}
               password: {password}
             You will then choose your own password (at least {options.Value.MinPasswordLength} characters).
            ===================================================================

            """);
        await Console.FlushAsync(cancellationToken);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Instances starting together on an empty database must not both create an admin.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            await BootstrapAdminAsync(cancellationToken);
            await BootstrapApiKeyAsync(cancellationToken);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task BootstrapAdminAsync(CancellationToken cancellationToken)
    {
        // Keyed on admins, not users: a user created first from the command line must not leave the app without one.
        if (await users.CountAdminsAsync(cancellationToken) > 0) return;
        var settings = options.Value;

        if (!string.IsNullOrWhiteSpace(settings.AdminEmail))
        {
            if (string.IsNullOrEmpty(settings.AdminPassword))
            {
                throw new InvalidOperationException("FRAUDWB_ADMIN_EMAIL is set but FRAUDWB_ADMIN_PASSWORD is not: set both, or neither to get a generated one-time password.");
            }

            await CreateOrPromoteAsync(settings.AdminEmail, settings.AdminPassword, mustChangePassword: false, cancellationToken);
            logger.LogInformation("Made {Email} the first Admin from configuration", settings.AdminEmail);
            return;
        }

        var password = UserStore.GeneratePassword();
        await CreateOrPromoteAsync(GeneratedAdminEmail, password, mustChangePassword: true, cancellationToken);
        PendingOneTimePassword = password;
        logger.LogWarning("Created the first Admin {Email} with a one-time password, printed once to the console", GeneratedAdminEmail);
        await Console.WriteLineAsync($"""

            ===================================================================
             FraudWorkbench: first start, an Admin account was created.
               email:    {GeneratedAdminEmail}
               password: {password}
             Shown at this start only (and again when the app is ready).
             You will choose a new password at first sign-in.
            ===================================================================

            """);
        await Console.FlushAsync(cancellationToken);
    }

    /// <summary>The email may already belong to a user (say, one demoted earlier): then that user becomes Admin with this password.</summary>
    private async Task CreateOrPromoteAsync(string email, string password, bool mustChangePassword, CancellationToken cancellationToken)
    {
        const string actor = "system:bootstrap";
        if (await users.FindByEmailAsync(email, cancellationToken) is { } existing)
        {
            await users.SetRoleAsync(existing.Id, Roles.Admin, actor, cancellationToken);
            await users.SetPasswordAsync(email, password, actor, mustChangePassword, cancellationToken);
            return;
        }

        await users.CreateAsync(email, "Administrator", Roles.Admin, password, actor, mustChangePassword, cancellationToken);
    }

    private async Task BootstrapApiKeyAsync(CancellationToken cancellationToken)
    {
        var secret = options.Value.BootstrapApiKey;
        if (string.IsNullOrEmpty(secret) || await apiKeys.AnyAsync(cancellationToken)) return;
        await apiKeys.CreateAsync("bootstrap", [Scopes.Admin], null, "system:bootstrap", secret, cancellationToken);
        logger.LogInformation("Created the bootstrap API key from FRAUDWB_BOOTSTRAP_API_KEY");
    }
}

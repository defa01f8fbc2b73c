using System.CommandLine;
using FraudWorkbench.Core;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Db;

namespace FraudWorkbench.Cli;

/// <summary>
/// The operator command line on the app's own binary: <c>dotnet run --project FraudWorkbench -- user create …</c>.
/// It uses the same configuration and database as the app, including the zero-config local cluster.
/// Logs go to standard error so that standard output carries only results (an API key alone on its last line).
/// </summary>
public static class OperatorCommands
{
    private static readonly string[] Commands = ["user", "api-key"];

    public static bool IsCommand(string[] args) => args.Length > 0 && Commands.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, Action<HostApplicationBuilder>? configure = null)
    {
        output ??= Console.Out;
        var actor = "cli:" + Environment.UserName;

        var root = new RootCommand("FraudWorkbench operator commands");

        var email = new Option<string>("--email") { Description = "The user's email address (the sign-in name)", Required = true };
        var role = new Option<string>("--role") { Description = "Admin, DataScientist or Reviewer", DefaultValueFactory = _ => Roles.DataScientist };
        var displayName = new Option<string?>("--name") { Description = "Display name (defaults to the email)" };
        var password = new Option<string?>("--password") { Description = "Password; when omitted a one-time password is generated and printed" };

        var userCreate = new Command("create", "Create a local user") { email, role, displayName, password };
        userCreate.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            var users = services.GetRequiredService<UserStore>();
            var given = parse.GetValue(password);
            var secret = given ?? UserStore.GeneratePassword();
            var user = await users.CreateAsync(parse.GetValue(email)!, parse.GetValue(displayName) ?? "", parse.GetValue(role)!, secret, actor,
                mustChangePassword: given is null, ct);
            await output.WriteLineAsync($"Created {user.Role} {user.Email}.");
            if (given is null) await output.WriteLineAsync($"One-time password (change at first sign-in): {secret}");
            return 0;
        }));

        var resetEmail = new Option<string>("--email") { Description = "The user's email address", Required = true };
        var resetPassword = new Option<string?>("--password") { Description = "New password; when omitted a one-time password is generated and printed" };
        var userReset = new Command("reset-password", "Set a new password and clear a lockout") { resetEmail, resetPassword };
        userReset.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            var given = parse.GetValue(resetPassword);
            var secret = given ?? UserStore.GeneratePassword();
            var user = await services.GetRequiredService<UserStore>().SetPasswordAsync(parse.GetValue(resetEmail)!, secret, actor, given is null, ct);
            await output.WriteLineAsync($"Password reset for {user.Email}; lockout cleared; existing sessions signed out.");
            if (given is null) await output.WriteLineAsync($"One-time password (change at first sign-in): {secret}");
            return 0;
        }));

        var userList = new Command("list", "List users");
        userList.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            foreach (var u in await services.GetRequiredService<UserStore>().ListAsync(ct))
            {
                await output.WriteLineAsync($"{u.Email}\t{u.Role}\t{(u.MustChangePassword ? "one-time password" : "active")}");
            }

            return 0;
        }));

        var keyName = new Option<string>("--name") { Description = "A name that says who uses the key", Required = true };
        var keyScopes = new Option<string[]>("--scopes")
        {
            Description = $"Comma-separated scopes: {string.Join(", ", Scopes.All)}",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var keyExpires = new Option<int?>("--expires-days") { Description = "Days until the key expires (default: never)" };
        var keyRateLimit = new Option<int?>("--rate-limit") { Description = "Requests per minute for this key on the scoring API (default: FraudWorkbench:Scoring:RateLimitPerMinute)" };
        var keyCreate = new Command("create", "Create an API key; the key is printed alone on the last line") { keyName, keyScopes, keyExpires, keyRateLimit };
        keyCreate.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            var time = services.GetRequiredService<TimeProvider>();
            var expires = parse.GetValue(keyExpires) is int days ? time.GetUtcNow().UtcDateTime.AddDays(days) : (DateTime?)null;
            var (key, secret) = await services.GetRequiredService<ApiKeyStore>().CreateAsync(parse.GetValue(keyName)!, parse.GetValue(keyScopes)!, expires, actor, cancellationToken: ct, rateLimitPerMinute: parse.GetValue(keyRateLimit));
            await output.WriteLineAsync($"Created API key '{key.Name}' ({key.Id}) with scopes {string.Join(",", key.Scopes)}{(expires is null ? "" : $", expiring {expires:u}")}. It is shown once:");
            await output.WriteLineAsync(secret);
            return 0;
        }));

        var keyRef = new Argument<string>("key") { Description = "The key's id, name or shown prefix" };
        var keyRevoke = new Command("revoke", "Revoke an API key") { keyRef };
        keyRevoke.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            var store = services.GetRequiredService<ApiKeyStore>();
            var reference = parse.GetValue(keyRef)!;
            var matches = (await store.FindAsync(reference, ct)).Where(k => k.RevokedAt is null).ToList();
            if (matches.Count != 1)
            {
                await Console.Error.WriteLineAsync(matches.Count == 0
                    ? $"No active API key has the id, name or prefix '{reference}'."
                    : $"'{reference}' matches {matches.Count} active keys ({string.Join(", ", matches.Select(k => k.Id))}); give the id.");
                return 1;
            }

            await store.RevokeAsync(matches[0].Id, actor, ct);
            await output.WriteLineAsync($"Revoked API key '{matches[0].Name}' ({matches[0].Id}).");
            return 0;
        }));

        var keyList = new Command("list", "List API keys (never their secrets)");
        keyList.SetAction((parse, ct) => WithServicesAsync(configure, output, async services =>
        {
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
            foreach (var k in await services.GetRequiredService<ApiKeyStore>().ListAsync(ct))
            {
                await output.WriteLineAsync($"{k.Id}\t{k.Name}\t{k.Prefix}…\t{string.Join(",", k.Scopes)}\t{(k.IsActive(now) ? "active" : k.RevokedAt is null ? "expired" : "revoked")}");
            }

            return 0;
        }));

        root.Subcommands.Add(new Command("user", "Manage local accounts") { userCreate, userReset, userList });
        root.Subcommands.Add(new Command("api-key", "Manage API keys for /api/v1") { keyCreate, keyRevoke, keyList });
        return await root.Parse(args).InvokeAsync();
    }

    private static async Task<int> WithServicesAsync(Action<HostApplicationBuilder>? configure, TextWriter output, Func<IServiceProvider, Task<int>> action)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        WorkbenchWebExtensions.AddSharedSettings(builder.Configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddFraudWorkbench(background: false);
        configure?.Invoke(builder);

        using var host = builder.Build();
        try
        {
            await host.StartAsync();
            return await action(host.Services);
        }
        catch (AccountValidationException ex)
        {
            await Console.Error.WriteLineAsync($"{ex.Field}: {ex.Message}");
            return 1;
        }
        catch (PostgresNotAvailableException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }
        finally
        {
            await host.StopAsync();
            await output.FlushAsync();
        }
    }
}

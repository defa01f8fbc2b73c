using System.Text.RegularExpressions;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Collections.Concurrent;

namespace FraudWorkbench.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class AccountBootstrapServiceTests
{
    private static async Task<(AccountBootstrapService Service, DatabaseFixture Db, StringWriter Console, ConcurrentQueue<string> Logs)> CreateAsync(AccountOptions options)
    {
        var db = new DatabaseFixture();
        await db.InitializeAsync();
        var logs = new ConcurrentQueue<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new CapturingLoggerProvider(logs)));
        var console = new StringWriter();
        var service = new AccountBootstrapService(db.DataSource, db.Users(), db.ApiKeys(), Options.Create(options), loggerFactory.CreateLogger<AccountBootstrapService>())
        {
            Console = console,
        };
        return (service, db, console, logs);
    }

    [Fact]
    public async Task StartAsync_EmptyDatabaseNoAdminConfigured_PrintsAOneTimePasswordOnceToTheConsoleOnly()
    {
        var (service, db, console, logs) = await CreateAsync(new AccountOptions());
        await using var _ = db.DataSource;

        await service.StartAsync(CancellationToken.None);
        var printed = console.ToString();
        await service.StartAsync(CancellationToken.None); // a restart prints nothing new

        var password = Regex.Match(printed, @"password: (\S+)").Groups[1].Value;
        Assert.True(password.Length >= 20, printed);
        Assert.Equal(printed, console.ToString());
        Assert.DoesNotContain(logs, l => l.Contains(password));
        var signIn = await db.Users().SignInAsync(AccountBootstrapService.GeneratedAdminEmail, password);
        Assert.Equal(SignInStatus.Succeeded, signIn.Status);
        Assert.Equal((Roles.Admin, true), (signIn.User!.Role, signIn.User.MustChangePassword));
    }

    [Fact]
    public async Task StartAsync_AdminAndApiKeyConfigured_CreatesBothAndPrintsNothing()
    {
        var (service, db, console, _) = await CreateAsync(new AccountOptions
        {
            AdminEmail = "boss@example.com",
            AdminPassword = "configured-password",
            BootstrapApiKey = "fwb_automation_key_0123456789abcdefghij",
        });
        await using var _ = db.DataSource;

        await service.StartAsync(CancellationToken.None);

        Assert.Equal("", console.ToString());
        Assert.Equal(SignInStatus.Succeeded, (await db.Users().SignInAsync("boss@example.com", "configured-password")).Status);
        var key = await db.ApiKeys().AuthenticateAsync("fwb_automation_key_0123456789abcdefghij");
        Assert.Equal(["admin"], key!.Scopes);
    }

    [Fact]
    public async Task StartAsync_ConfiguredAdminExistsAsNonAdmin_IsPromotedWithTheConfiguredPassword()
    {
        var (service, db, _, _) = await CreateAsync(new AccountOptions { AdminEmail = "former@example.com", AdminPassword = "configured-password" });
        await using var _ = db.DataSource;
        await db.Users().CreateAsync("former@example.com", "", Roles.Reviewer, "old-password-123", "test");

        await service.StartAsync(CancellationToken.None);

        var signIn = await db.Users().SignInAsync("former@example.com", "configured-password");
        Assert.Equal((SignInStatus.Succeeded, Roles.Admin), (signIn.Status, signIn.User!.Role));
    }

    [Fact]
    public async Task StartAsync_AdminEmailWithoutPassword_RefusesToStart()
    {
        var (service, db, _, _) = await CreateAsync(new AccountOptions { AdminEmail = "boss@example.com" });
        await using var _ = db.DataSource;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync(CancellationToken.None));

        Assert.Contains("FRAUDWB_ADMIN_PASSWORD", error.Message);
        Assert.Equal(0, await db.Users().CountAsync());
    }
}

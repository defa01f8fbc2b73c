using FraudWorkbench.Cli;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace FraudWorkbench.Tests.Cli;

[Trait("Category", "Database")]
public sealed class OperatorCommandsTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private async Task<(int ExitCode, string[] Lines)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var exit = await OperatorCommands.RunAsync(args, output, builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = db.ConnectionString }));
        return (exit, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task ApiKeyCreate_PrintsTheKeyAloneOnTheLastLine_AndTheKeyAuthenticates()
    {
        var (exit, lines) = await RunAsync("api-key", "create", "--name", "cli-partner", "--scopes", "predict,feedback");

        Assert.Equal(0, exit);
        var secret = lines[^1];
        Assert.StartsWith(ApiKeyStore.SecretPrefix, secret);
        Assert.DoesNotContain(' ', secret);
        var key = await db.ApiKeys().AuthenticateAsync(secret);
        Assert.Equal("cli-partner", key!.Name);
        Assert.Equal(["feedback", "predict"], key.Scopes.Order());
    }

    [Fact]
    public async Task ApiKeyRevoke_ByName_KeyStopsWorkingAndRevocationIsAudited()
    {
        var (_, created) = await RunAsync("api-key", "create", "--name", "cli-revoke-me", "--scopes", "read");

        var (exit, lines) = await RunAsync("api-key", "revoke", "cli-revoke-me");

        Assert.Equal(0, exit);
        Assert.StartsWith("Revoked API key 'cli-revoke-me'", lines[^1]);
        Assert.Null(await db.ApiKeys().AuthenticateAsync(created[^1]));
        var audit = await new AuditLog(db.DataSource).PageAsync(0, 50, "api-key.revoke");
        Assert.Contains(audit.Items, e => e.Actor.StartsWith("cli:") && e.Summary!.Contains("cli-revoke-me"));
    }

    [Fact]
    public async Task ApiKeyCreate_UnknownScope_FailsNamingTheFieldAndStoresNothing()
    {
        var before = (await db.ApiKeys().ListAsync()).Count;

        var (exit, _) = await RunAsync("api-key", "create", "--name", "bad", "--scopes", "predict,root");

        Assert.Equal(1, exit);
        Assert.Equal(before, (await db.ApiKeys().ListAsync()).Count);
    }

    [Fact]
    public async Task UserCreate_ThenResetPassword_OldPasswordStopsWorking()
    {
        var (created, _) = await RunAsync("user", "create", "--email", "ds@example.com", "--role", "DataScientist", "--password", "first-password-1");
        var users = db.Users();
        Assert.Equal(SignInStatus.Succeeded, (await users.SignInAsync("ds@example.com", "first-password-1")).Status);

        var (reset, lines) = await RunAsync("user", "reset-password", "--email", "ds@example.com");

        Assert.Equal((0, 0), (created, reset));
        var oneTime = lines[^1].Split(": ")[1];
        Assert.Equal(SignInStatus.Failed, (await users.SignInAsync("ds@example.com", "first-password-1")).Status);
        var signedIn = await users.SignInAsync("ds@example.com", oneTime);
        Assert.Equal(SignInStatus.Succeeded, signedIn.Status);
        Assert.True(signedIn.User!.MustChangePassword);
    }

    [Fact]
    public async Task UserCreate_DuplicateEmail_FailsWithExitCodeOne()
    {
        await RunAsync("user", "create", "--email", "twice@example.com", "--password", "some-password-1");

        var (exit, _) = await RunAsync("user", "create", "--email", "Twice@Example.com", "--password", "some-password-1");

        Assert.Equal(1, exit);
    }
}

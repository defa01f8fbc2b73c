using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Accounts;

public sealed class UserStoreTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task SignInAsync_FiveWrongPasswords_LocksForFifteenMinutesThenAllowsAgain()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var users = db.Users(time);
        await users.CreateAsync("lock@example.com", "", Roles.DataScientist, "a-good-password", "test");

        var results = new List<SignInStatus>();
        for (var i = 0; i < 5; i++) results.Add((await users.SignInAsync("lock@example.com", "nope")).Status);
        var whileLocked = await users.SignInAsync("lock@example.com", "a-good-password");
        time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));
        var afterwards = await users.SignInAsync("lock@example.com", "a-good-password");

        Assert.Equal([SignInStatus.Failed, SignInStatus.Failed, SignInStatus.Failed, SignInStatus.Failed, SignInStatus.LockedOut], results);
        Assert.Equal(SignInStatus.LockedOut, whileLocked.Status);
        Assert.Equal(new DateTime(2026, 5, 1, 9, 15, 0, DateTimeKind.Utc), whileLocked.LockedUntil);
        Assert.Equal(SignInStatus.Succeeded, afterwards.Status);
        Assert.Equal(0, afterwards.User!.FailedSignIns);
    }

    [Fact]
    public async Task SignInAsync_TwentyWrongGuessesAtOnce_AccountEndsLockedAndRightPasswordRefused()
    {
        var users = db.Users();
        await users.CreateAsync("burst@example.com", "", Roles.DataScientist, "a-good-password", "test");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => users.SignInAsync("burst@example.com", "guess-" + i))));
        var right = await users.SignInAsync("burst@example.com", "a-good-password");

        Assert.Contains(results, r => r.Status == SignInStatus.LockedOut);
        Assert.True(results.Count(r => r.Status == SignInStatus.Failed) <= 4, "at most four guesses are answered 'wrong' before the lock");
        Assert.Equal(SignInStatus.LockedOut, right.Status);
    }

    [Fact]
    public async Task SetRoleAsync_TwoAdminsDemoteEachOtherAtOnce_OneAdminRemains()
    {
        var users = db.Users();
        var a = await users.CreateAsync("admin-a@example.com", "", Roles.Admin, "a-good-password", "test");
        var b = await users.CreateAsync("admin-b@example.com", "", Roles.Admin, "a-good-password", "test");
        var admins = (await users.ListAsync()).Count(u => u.Role == Roles.Admin);
        var others = (await users.ListAsync()).Where(u => u.Role == Roles.Admin && u.Id != a.Id && u.Id != b.Id).ToList();
        foreach (var other in others) await users.SetRoleAsync(other.Id, Roles.Reviewer, "test");

        var outcomes = await Task.WhenAll(
            Task.Run(async () => { try { await users.SetRoleAsync(a.Id, Roles.Reviewer, "test"); return true; } catch (AccountValidationException) { return false; } }),
            Task.Run(async () => { try { await users.SetRoleAsync(b.Id, Roles.Reviewer, "test"); return true; } catch (AccountValidationException) { return false; } }));

        Assert.True(admins >= 2);
        Assert.Single(outcomes, o => o);
        Assert.Equal(1, await users.CountAdminsAsync());
    }

    [Fact]
    public async Task SignInAsync_SuccessResetsTheFailureCount()
    {
        var users = db.Users();
        await users.CreateAsync("reset-count@example.com", "", Roles.Reviewer, "a-good-password", "test");
        for (var i = 0; i < 4; i++) await users.SignInAsync("reset-count@example.com", "nope");

        await users.SignInAsync("reset-count@example.com", "a-good-password");
        var next = await users.SignInAsync("reset-count@example.com", "nope");

        Assert.Equal(SignInStatus.Failed, next.Status);
        Assert.Equal(1, (await users.FindByEmailAsync("reset-count@example.com"))!.FailedSignIns);
    }

    [Theory]
    [InlineData("not-an-email", "Reviewer", "long-enough-pw", "email")]
    [InlineData("a@example.com", "Superuser", "long-enough-pw", "role")]
    [InlineData("a@example.com", "Reviewer", "short", "password")]
    public async Task CreateAsync_BadInput_NamesTheFieldAndStoresNothing(string email, string role, string password, string field)
    {
        var users = db.Users();
        var before = await users.CountAsync();

        var error = await Assert.ThrowsAsync<AccountValidationException>(() => users.CreateAsync(email, "", role, password, "test"));

        Assert.Equal(field, error.Field);
        Assert.Equal(before, await users.CountAsync());
    }

    [Fact]
    public async Task CreateAsync_StoresAHashNotThePasswordAndAudits()
    {
        var users = db.Users();

        var user = await users.CreateAsync("hash@example.com", "Hash", Roles.DataScientist, "plain-text-secret", "user:admin@example.com");

        Assert.DoesNotContain("plain-text-secret", user.PasswordHash);
        Assert.StartsWith("AQAAAA", user.PasswordHash); // ASP.NET Core Identity v3 format (PBKDF2)
        var audit = await new AuditLog(db.DataSource).PageAsync(0, 10, "hash@example.com");
        Assert.Equal(("user:admin@example.com", "user.create"), (audit.Items[0].Actor, audit.Items[0].Action));
    }

    [Fact]
    public async Task SetRoleAsync_LastAdmin_CannotBeDemoted()
    {
        var users = db.Users();
        var admin = await users.CreateAsync("only-admin@example.com", "", Roles.Admin, "a-good-password", "test");

        var error = await Assert.ThrowsAsync<AccountValidationException>(() => users.SetRoleAsync(admin.Id, Roles.Reviewer, "test"));

        Assert.Equal("role", error.Field);
        Assert.Equal(Roles.Admin, (await users.GetAsync(admin.Id))!.Role);
    }

    [Fact]
    public async Task SetPasswordAsync_RotatesTheSecurityStamp()
    {
        var users = db.Users();
        var user = await users.CreateAsync("stamp@example.com", "", Roles.DataScientist, "a-good-password", "test");

        var changed = await users.ChangeOwnPasswordAsync(user.Id, "a-good-password", "another-good-password");

        Assert.NotEqual(user.SecurityStamp, changed.SecurityStamp);
        await Assert.ThrowsAsync<AccountValidationException>(() => users.ChangeOwnPasswordAsync(user.Id, "a-good-password", "third-good-password"));
    }
}

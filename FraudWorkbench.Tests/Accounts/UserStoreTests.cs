using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class UserStoreTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task SignInAsync_FiveWrongPasswords_NextAttemptWaitsASecondThenTheRightPasswordWorks()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var users = db.Users(time);
        await users.CreateAsync("slow@example.com", "", Roles.DataScientist, "a-good-password", "test");

        var results = new List<SignInStatus>();
        for (var i = 0; i < 5; i++) results.Add((await users.SignInAsync("slow@example.com", "nope")).Status);
        var tooSoon = await users.SignInAsync("slow@example.com", "a-good-password");
        time.Advance(TimeSpan.FromSeconds(1));
        var afterTheWait = await users.SignInAsync("slow@example.com", "a-good-password");

        Assert.All(results, r => Assert.Equal(SignInStatus.Failed, r));
        Assert.Equal((SignInStatus.Throttled, TimeSpan.FromSeconds(1)), (tooSoon.Status, tooSoon.RetryAfter));
        Assert.Null(tooSoon.User);
        Assert.Equal(SignInStatus.Succeeded, afterTheWait.Status);
        Assert.Null(users.ThrottledUntil("slow@example.com"));
    }

    [Fact]
    public async Task SignInAsync_UnknownEmail_AnsweredExactlyAsAKnownOne()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var users = db.Users(time);
        await users.CreateAsync("known@example.com", "", Roles.DataScientist, "a-good-password", "test");

        async Task<List<(SignInStatus, TimeSpan?, bool)>> AttemptsAsync(string email)
        {
            var answers = new List<(SignInStatus, TimeSpan?, bool)>();
            for (var i = 0; i < 8; i++)
            {
                var r = await users.SignInAsync(email, "wrong-" + i, "198.51.100." + i);
                answers.Add((r.Status, r.RetryAfter, r.User is null));
                time.Advance(TimeSpan.FromSeconds(1));
            }

            return answers;
        }

        var known = await AttemptsAsync("known@example.com");
        var unknown = await AttemptsAsync("nobody@example.com");

        Assert.Equal(known, unknown);
        Assert.Contains((SignInStatus.Throttled, (TimeSpan?)TimeSpan.FromSeconds(1), true), known);
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(10, 32)]
    [InlineData(11, 60)]
    [InlineData(500, 60)]
    public void Delay_FailuresPastTheAllowance_DoublesUpToAMinute(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SignInThrottle.Delay(failures, 5));

    [Fact]
    public async Task SignInAsync_TwentyGuessesAtOnce_OnlyFiveAreChecked()
    {
        var users = db.Users();
        await users.CreateAsync("burst@example.com", "", Roles.DataScientist, "a-good-password", "test");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => users.SignInAsync("burst@example.com", "guess-" + i))));
        var right = await users.SignInAsync("burst@example.com", "a-good-password");

        Assert.Equal(5, results.Count(r => r.Status == SignInStatus.Failed));
        Assert.Equal(15, results.Count(r => r.Status == SignInStatus.Throttled));
        Assert.Equal(SignInStatus.Throttled, right.Status);
    }

    [Fact]
    public async Task SignInAsync_ManyAccountsFromOneAddress_ThatAddressIsSlowedOthersAreNot()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var users = db.Users(time);
        await users.CreateAsync("office@example.com", "", Roles.Reviewer, "a-good-password", "test");
        // Colleagues' successful sign-ins from the same address do not count against it.
        for (var i = 0; i < 30; i++) Assert.Equal(SignInStatus.Succeeded, (await users.SignInAsync("office@example.com", "a-good-password", "203.0.113.7")).Status);

        var sprayed = new List<SignInStatus>();
        for (var i = 0; i < 20; i++) sprayed.Add((await users.SignInAsync($"user{i}@example.com", "password1", "203.0.113.9")).Status);
        var sameAddress = await users.SignInAsync("office@example.com", "a-good-password", "203.0.113.9");
        var otherAddress = await users.SignInAsync("office@example.com", "a-good-password", "203.0.113.7");

        Assert.All(sprayed, s => Assert.Equal(SignInStatus.Failed, s));
        Assert.Equal(SignInStatus.Throttled, sameAddress.Status);
        Assert.Equal(SignInStatus.Succeeded, otherAddress.Status);
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
        var next = new List<SignInStatus>();
        for (var i = 0; i < 5; i++) next.Add((await users.SignInAsync("reset-count@example.com", "nope")).Status);

        Assert.All(next, s => Assert.Equal(SignInStatus.Failed, s));
        Assert.NotNull(users.ThrottledUntil("reset-count@example.com"));
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

using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class ApiKeyStoreTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task CreateAsync_StoresOnlyTheSha256OfTheKey()
    {
        var (key, secret) = await db.ApiKeys().CreateAsync("hash-only", [Scopes.Read], null, "test");

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT key_hash FROM api_keys WHERE id = @Id", new { key.Id });
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), stored);
        Assert.Equal(secret[..12], key.Prefix);
        Assert.True(secret.Length >= 40);
    }

    [Fact]
    public async Task AuthenticateAsync_KeyExpires_RefusedFromItsExpiryOn()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var keys = db.ApiKeys(time);
        var (_, secret) = await keys.CreateAsync("expiring", [Scopes.Predict], new DateTime(2026, 6, 2, 0, 0, 0, DateTimeKind.Utc), "test");

        var before = await keys.AuthenticateAsync(secret);
        time.Advance(TimeSpan.FromDays(1));
        var after = await keys.AuthenticateAsync(secret);

        Assert.NotNull(before);
        Assert.Null(after);
    }

    [Fact]
    public async Task CreateAsync_ExpiryInThePast_Refused()
    {
        var error = await Assert.ThrowsAsync<AccountValidationException>(() =>
            db.ApiKeys().CreateAsync("late", [Scopes.Read], DateTime.UtcNow.AddMinutes(-1), "test"));
        Assert.Equal("expiresAt", error.Field);
    }

    [Fact]
    public async Task HasScope_AdminImpliesEveryScope()
    {
        var (admin, _) = await db.ApiKeys().CreateAsync("admin-key", [Scopes.Admin], null, "test");
        var (predict, _) = await db.ApiKeys().CreateAsync("predict-key", [Scopes.Predict], null, "test");

        Assert.True(admin.HasScope(Scopes.Feedback));
        Assert.True(predict.HasScope(Scopes.Predict));
        Assert.False(predict.HasScope(Scopes.Write));
    }

    [Fact]
    public async Task AuthenticateAsync_UnknownKeyAskedAgain_AnsweredFromMemoryForTenSeconds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var keys = db.ApiKeys(time);
        const string secret = "fwb_guessed_key_0000000000000000000000000000";

        var first = await keys.AuthenticateAsync(secret);
        // The key appears behind the store's back: an answer from the database would now be the key.
        var (created, _) = await db.ApiKeys().CreateAsync("appears-later", [Scopes.Read], null, "test", secret);
        var soon = await keys.AuthenticateAsync(secret);
        time.Advance(TimeSpan.FromSeconds(11));
        var later = await keys.AuthenticateAsync(secret);

        Assert.Null(first);
        Assert.Null(soon);
        Assert.Equal(created.Id, later?.Id);
    }

    [Fact]
    public async Task AuthenticateAsync_DatabaseUnreachable_RecentlyVerifiedKeyWorksForTheGraceOthersThrow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (proxy, connectionString) = TcpProxy.For(db.ConnectionString);
        await using var _ = proxy;
        await using var dataSource = NpgsqlDataSource.Create(connectionString + ";Timeout=2");
        var keys = new ApiKeyStore(dataSource, time);
        var (known, knownSecret) = await keys.CreateAsync("known-before-outage", [Scopes.Predict], null, "test");
        var (_, otherSecret) = await keys.CreateAsync("never-used", [Scopes.Predict], null, "test");
        Assert.NotNull(await keys.AuthenticateAsync(knownSecret));

        proxy.Cut();
        time.Advance(TimeSpan.FromMinutes(1));
        var duringOutage = await keys.AuthenticateAsync(knownSecret);
        var unknownDuringOutage = await Assert.ThrowsAnyAsync<NpgsqlException>(() => keys.AuthenticateAsync(otherSecret));
        time.Advance(ApiKeyStore.OutageGrace);
        var afterGrace = await Record.ExceptionAsync(() => keys.AuthenticateAsync(knownSecret));

        Assert.Equal(known.Id, duringOutage?.Id);
        Assert.True(FraudWorkbench.Core.Db.DatabaseFault.IsUnavailable(unknownDuringOutage));
        Assert.True(FraudWorkbench.Core.Db.DatabaseFault.IsUnavailable(afterGrace));
        proxy.Restore();
        Assert.Equal(known.Id, (await keys.AuthenticateAsync(knownSecret))?.Id);
    }
}

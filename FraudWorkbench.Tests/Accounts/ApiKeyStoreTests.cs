using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Accounts;

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
}

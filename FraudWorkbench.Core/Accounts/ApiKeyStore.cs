using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

public sealed record ApiKey(
    Guid Id,
    string Name,
    string Prefix,
    string ScopeList,
    string CreatedBy,
    DateTime CreatedAt,
    DateTime? ExpiresAt,
    DateTime? RevokedAt,
    DateTime? LastUsedAt,
    int? RateLimitPerMinute = null)
{
    // Dapper cannot pass a text[] column to a record constructor, so the SQL joins the scopes with spaces.
    public IReadOnlyList<string> Scopes { get; } = ScopeList.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public bool IsActive(DateTime now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);

    public bool HasScope(string scope) => Scopes.Contains(scope) || Scopes.Contains(Accounts.Scopes.Admin);
}

/// <summary>
/// API keys for <c>/api/v1</c>. A key is 32 random bytes, shown once; only its SHA-256 is stored.
/// A fast hash is right here (unlike passwords): the secret has 256 bits of entropy, so there is
/// nothing to brute-force, and every API call must look it up quickly.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public const string SecretPrefix = "fwb_";
    private const string Columns = "id, name, prefix, array_to_string(scopes, ' ') AS scope_list, created_by, created_at, expires_at, revoked_at, last_used_at, rate_limit_per_minute";
    // Scoring calls authenticate thousands of times a second; a verified key is trusted this long. Revocation
    // clears this instance's entry at once; other instances see it within this window.
    private static readonly TimeSpan TrustFor = TimeSpan.FromSeconds(10);

    /// <summary>While the database is unreachable, a key verified this recently keeps working (scoring goes on from memory).</summary>
    public static readonly TimeSpan OutageGrace = TimeSpan.FromMinutes(15);

    // A wrong key is remembered as briefly as a right one, so a client retrying a bad key costs no database round trip per call.
    private const int MaxRememberedFailures = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ApiKey Key, DateTime Until)> verified = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> failed = new();

    public async Task<(ApiKey Key, string Secret)> CreateAsync(string name, IReadOnlyCollection<string> scopes, DateTime? expiresAt, string actor,
        string? secret = null, CancellationToken cancellationToken = default, int? rateLimitPerMinute = null)
    {
        name = name?.Trim() ?? "";
        if (name.Length is 0 or > 100) throw new AccountValidationException("name", "A key needs a name of 1 to 100 characters.");
        var normalised = scopes.Select(s => s.Trim().ToLowerInvariant()).Where(s => s.Length > 0).Distinct().ToArray();
        if (normalised.Length == 0) throw new AccountValidationException("scopes", $"Give at least one scope: {string.Join(", ", Scopes.All)}.");
        var unknown = normalised.Except(Scopes.All).ToArray();
        if (unknown.Length > 0) throw new AccountValidationException("scopes", $"Unknown scope {string.Join(", ", unknown)}; known: {string.Join(", ", Scopes.All)}.");
        var now = Now;
        if (expiresAt is DateTime e && e <= now) throw new AccountValidationException("expiresAt", "The expiry must be in the future.");
        if (rateLimitPerMinute is < 1 or > 10_000_000) throw new AccountValidationException("rateLimitPerMinute", "The rate limit must be between 1 and 10,000,000 requests per minute.");
        if (secret is not null && secret.Length < 32) throw new AccountValidationException("secret", "A supplied API key must have at least 32 characters.");

        secret ??= SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var id = Guid.CreateVersion7(time.GetUtcNow());

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = $"""
            INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_by, created_at, expires_at, rate_limit_per_minute)
            VALUES (@id, @name, @prefix, @hash, @scopes, @actor, @now, @expiresAt, @rateLimitPerMinute)
            RETURNING {Columns}
            """;
        var key = await connection.QuerySingleAsync<ApiKey>(new CommandDefinition(
            sql, new { id, name, prefix = secret[..Math.Min(12, secret.Length)], hash = Hash(secret), scopes = normalised, actor, now, expiresAt, rateLimitPerMinute },
            transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, now, actor, "api-key.create", "api-key", id.ToString(), new { name, scopes = normalised, expiresAt }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        failed.TryRemove(Convert.ToHexString(Hash(secret)), out _);
        return (key, secret);
    }

    /// <summary>The active key with this secret, or null for unknown, revoked and expired keys.</summary>
    /// <param name="mayAskDatabase">
    /// Asked only when memory cannot answer; false keeps the call off the database (a caller's address over its budget of
    /// failed calls): then only a key verified on this instance within <see cref="OutageGrace"/> is accepted.
    /// </param>
    public async Task<ApiKey?> AuthenticateAsync(string secret, CancellationToken cancellationToken = default, Func<bool>? mayAskDatabase = null)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 200) return null;
        var now = Now;
        var hash = Hash(secret);
        var cacheKey = Convert.ToHexString(hash);
        if (verified.TryGetValue(cacheKey, out var hit) && hit.Until > now && hit.Key.IsActive(now)) return hit.Key;
        if (failed.TryGetValue(cacheKey, out var failedUntil) && failedUntil > now) return null;
        var recent = hit.Key is not null && hit.Until - TrustFor + OutageGrace > now && hit.Key.IsActive(now) ? hit.Key : null;
        if (mayAskDatabase?.Invoke() == false) return recent;
        try
        {
            return await LookUpAsync(hash, cacheKey, now, cancellationToken);
        }
        catch (Exception ex) when (Db.DatabaseFault.IsUnavailable(ex) && recent is not null)
        {
            return recent;
        }
    }

    private async Task<ApiKey?> LookUpAsync(byte[] hash, string cacheKey, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // last_used_at is written at most once a minute per key to keep hot keys from rewriting their row on every call.
        const string sql = $"""
            WITH found AS (
                SELECT {Columns} FROM api_keys
                WHERE key_hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
            ), touched AS (
                UPDATE api_keys SET last_used_at = @now
                WHERE id = (SELECT id FROM found) AND (last_used_at IS NULL OR last_used_at < @now - interval '1 minute')
            )
            SELECT * FROM found
            """;
        var key = await connection.QuerySingleOrDefaultAsync<ApiKey>(new CommandDefinition(sql, new { hash, now }, cancellationToken: cancellationToken));
        if (key is null)
        {
            verified.TryRemove(cacheKey, out _);
            if (failed.Count >= MaxRememberedFailures) failed.Clear();
            failed[cacheKey] = now + TrustFor;
        }
        else
        {
            verified[cacheKey] = (key, now + TrustFor);
            failed.TryRemove(cacheKey, out _);
        }

        return key;
    }

    public async Task<ApiKey?> RevokeAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = $"UPDATE api_keys SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL RETURNING {Columns}";
        var key = await connection.QuerySingleOrDefaultAsync<ApiKey>(new CommandDefinition(sql, new { id, now = Now }, transaction, cancellationToken: cancellationToken));
        if (key is null) return null;
        await AuditLog.WriteAsync(transaction, Now, actor, "api-key.revoke", "api-key", id.ToString(), new { key.Name, key.Prefix }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        foreach (var entry in verified.Where(e => e.Value.Key.Id == id)) verified.TryRemove(entry.Key, out _);
        return key;
    }

    /// <summary>Keys whose id, name or shown prefix equals <paramref name="reference"/> (for the command line).</summary>
    public async Task<IReadOnlyList<ApiKey>> FindAsync(string reference, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM api_keys WHERE id::text = @reference OR name = @reference OR prefix = @reference ORDER BY created_at";
        return [.. await connection.QueryAsync<ApiKey>(new CommandDefinition(sql, new { reference }, cancellationToken: cancellationToken))];
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM api_keys ORDER BY created_at DESC";
        return [.. await connection.QueryAsync<ApiKey>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    public async Task<int> CountActiveAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = "SELECT count(*)::int FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)";
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(sql, new { now = Now }, cancellationToken: cancellationToken));
    }

    public async Task<bool> AnyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM api_keys)", cancellationToken: cancellationToken));
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private DateTime Now => time.GetUtcNow().UtcDateTime;
}

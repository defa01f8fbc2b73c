using System.Net.Mail;
using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Core.Accounts;

public sealed record User(
    Guid Id,
    string Email,
    string DisplayName,
    string PasswordHash,
    string Role,
    Guid SecurityStamp,
    int FailedSignIns,
    DateTime? LockedUntil,
    bool MustChangePassword,
    DateTime CreatedAt,
    DateTime? LastSignInAt);

public enum SignInStatus { Succeeded, Failed, Throttled }

/// <param name="RetryAfter">For <see cref="SignInStatus.Throttled"/>: how long before the next attempt is looked at.</param>
public sealed record SignInResult(SignInStatus Status, User? User, TimeSpan? RetryAfter = null);

public sealed class UserStore(NpgsqlDataSource dataSource, TimeProvider time, IOptions<AccountOptions> options)
{
    private const string Columns = """
        id, email, display_name, password_hash, role, security_stamp, failed_sign_ins, locked_until,
        must_change_password, created_at, last_sign_in_at
        """;

    private static readonly PasswordHasher<User> Hasher = new();

    private AccountOptions Options => options.Value;

    private readonly SignInThrottle throttle = new(options.Value.MaxFailedSignIns, options.Value.LockoutDuration);

    public async Task<User> CreateAsync(string email, string displayName, string role, string password, string actor,
        bool mustChangePassword = false, CancellationToken cancellationToken = default)
    {
        email = ValidateEmail(email);
        if (!Roles.IsValid(role)) throw new AccountValidationException("role", $"Role must be one of {string.Join(", ", Roles.All)}.");
        ValidatePassword(password);
        displayName = string.IsNullOrWhiteSpace(displayName) ? email : displayName.Trim();

        var now = Now;
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var hash = Hasher.HashPassword(null!, password);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        const string sql = $"""
            INSERT INTO users (id, email, display_name, password_hash, role, security_stamp, must_change_password, created_at)
            VALUES (@id, @email, @displayName, @hash, @role, @stamp, @mustChangePassword, @now)
            ON CONFLICT DO NOTHING
            RETURNING {Columns}
            """;
        var user = await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(
            sql, new { id, email, displayName, hash, role, stamp = Guid.NewGuid(), mustChangePassword, now }, transaction, cancellationToken: cancellationToken))
            ?? throw new AccountValidationException("email", $"A user with the email {email} already exists.");
        await AuditLog.WriteAsync(transaction, now, actor, "user.create", "user", email, new { role, displayName }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return user;
    }

    /// <summary>
    /// Checks a password. Unknown emails, wrong passwords and throttled attempts answer alike whether or not the
    /// account exists (same status, same work), so sign-in reveals no accounts; see <see cref="SignInThrottle"/>.
    /// </summary>
    /// <param name="client">The caller's address, throttled too; null when there is none (the command line).</param>
    public async Task<SignInResult> SignInAsync(string email, string password, string? client = null, CancellationToken cancellationToken = default)
    {
        email = email?.Trim() ?? "";
        var now = Now;
        if (throttle.TryBegin(email, client, now) is TimeSpan wait) return new SignInResult(SignInStatus.Throttled, null, wait);

        var user = await FindByEmailAsync(email, cancellationToken);
        if (user is null)
        {
            // Spend the same time as a real check so response times don't reveal which emails exist.
            Hasher.VerifyHashedPassword(null!, DummyHash, password ?? "");
            return new SignInResult(SignInStatus.Failed, null);
        }

        var verification = Hasher.VerifyHashedPassword(user, user.PasswordHash, password ?? "");
        if (verification == PasswordVerificationResult.Failed)
        {
            if (throttle.JustExceeded(email))
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await AuditLog.WriteAsync(transaction, now, "system", "user.sign-in-throttled", "user", user.Email,
                    new { reason = $"{Options.MaxFailedSignIns} failed sign-ins; each further attempt waits longer" }, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }

            return new SignInResult(SignInStatus.Failed, null);
        }

        throttle.Succeeded(email, client);
        var rehash = verification == PasswordVerificationResult.SuccessRehashNeeded ? Hasher.HashPassword(user, password!) : null;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string succeed = $"""
                UPDATE users SET failed_sign_ins = 0, locked_until = NULL, last_sign_in_at = @now,
                                 password_hash = coalesce(@rehash, password_hash)
                WHERE id = @id
                RETURNING {Columns}
                """;
            var signedIn = await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(succeed, new { id = user.Id, now, rehash }, cancellationToken: cancellationToken));
            return signedIn is null ? new SignInResult(SignInStatus.Failed, null) : new SignInResult(SignInStatus.Succeeded, signedIn);
        }
    }

    /// <summary>When <paramref name="email"/> may next try to sign in on this instance, if it must wait.</summary>
    public DateTime? ThrottledUntil(string email) => throttle.NextAttempt(email, Now);

    /// <summary>Sets a new password, clears any lockout and invalidates existing sign-in cookies.</summary>
    public async Task<User> SetPasswordAsync(string email, string newPassword, string actor, bool mustChangePassword, CancellationToken cancellationToken = default)
    {
        ValidatePassword(newPassword);
        var user = await FindByEmailAsync(email, cancellationToken) ?? throw new AccountValidationException("email", $"No user has the email {email}.");
        throttle.Clear(user.Email);
        const string sql = $"""
            UPDATE users SET password_hash = @hash, security_stamp = @stamp, failed_sign_ins = 0, locked_until = NULL,
                             must_change_password = @mustChangePassword
            WHERE id = @id
            RETURNING {Columns}
            """;
        return await UpdateAsync(sql, new { id = user.Id, hash = Hasher.HashPassword(user, newPassword), stamp = Guid.NewGuid(), mustChangePassword },
            actor, actor == "user:" + user.Email ? "user.change-password" : "user.reset-password", user.Email, new { mustChangePassword }, cancellationToken);
    }

    /// <summary>Changes the user's own password after checking the current one.</summary>
    public async Task<User> ChangeOwnPasswordAsync(Guid userId, string currentPassword, string newPassword, CancellationToken cancellationToken = default)
    {
        var user = await GetAsync(userId, cancellationToken) ?? throw new AccountValidationException("user", "The user no longer exists.");
        if (Hasher.VerifyHashedPassword(user, user.PasswordHash, currentPassword ?? "") == PasswordVerificationResult.Failed)
        {
            throw new AccountValidationException("currentPassword", "The current password is wrong.");
        }

        if (currentPassword == newPassword) throw new AccountValidationException("newPassword", "The new password must differ from the current one.");
        return await SetPasswordAsync(user.Email, newPassword, "user:" + user.Email, mustChangePassword: false, cancellationToken);
    }

    public async Task<User> SetRoleAsync(Guid id, string role, string actor, CancellationToken cancellationToken = default)
    {
        if (!Roles.IsValid(role)) throw new AccountValidationException("role", $"Role must be one of {string.Join(", ", Roles.All)}.");
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Lock every Admin row: two Admins demoting each other at once must not leave none.
        const string admins = "SELECT id FROM users WHERE role = 'Admin' FOR UPDATE";
        var adminIds = (await connection.QueryAsync<Guid>(new CommandDefinition(admins, transaction: transaction, cancellationToken: cancellationToken))).ToList();
        const string current = $"SELECT {Columns} FROM users WHERE id = @id FOR UPDATE";
        var user = await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(current, new { id }, transaction, cancellationToken: cancellationToken))
            ?? throw new AccountValidationException("id", "No such user.");
        if (user.Role == Roles.Admin && role != Roles.Admin && adminIds.Count <= 1)
        {
            throw new AccountValidationException("role", "This is the last Admin; make another user Admin first.");
        }

        const string sql = $"UPDATE users SET role = @role, security_stamp = @stamp WHERE id = @id RETURNING {Columns}";
        var updated = await connection.QuerySingleAsync<User>(new CommandDefinition(sql, new { id, role, stamp = Guid.NewGuid() }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, Now, actor, "user.set-role", "user", user.Email, new { before = user.Role, after = role }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return updated;
    }

    /// <summary>Lets a slowed-down account try again at once (on this instance), audited.</summary>
    public async Task<User> UnlockAsync(Guid id, string actor, CancellationToken cancellationToken = default)
    {
        var user = await GetAsync(id, cancellationToken) ?? throw new AccountValidationException("id", "No such user.");
        var until = ThrottledUntil(user.Email);
        throttle.Clear(user.Email);
        const string sql = $"UPDATE users SET locked_until = NULL, failed_sign_ins = 0 WHERE id = @id RETURNING {Columns}";
        return await UpdateAsync(sql, new { id }, actor, "user.unlock", user.Email, new { throttledUntil = until }, cancellationToken);
    }

    public async Task<User?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM users WHERE id = @id";
        return await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
    }

    public async Task<User?> FindByEmailAsync(string email, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM users WHERE lower(email) = lower(@email)";
        return await connection.QuerySingleOrDefaultAsync<User>(new CommandDefinition(sql, new { email = email.Trim() }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<User>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT {Columns} FROM users ORDER BY lower(email)";
        return [.. await connection.QueryAsync<User>(new CommandDefinition(sql, cancellationToken: cancellationToken))];
    }

    public async Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*)::int FROM users", cancellationToken: cancellationToken));
    }

    public static string GeneratePassword()
    {
        // 18 random bytes -> 24 URL-safe characters, about 144 bits.
        return Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', 'x').Replace('/', 'y');
    }

    public void ValidatePassword(string password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < Options.MinPasswordLength)
        {
            throw new AccountValidationException("password", $"The password must have at least {Options.MinPasswordLength} characters.");
        }
    }

    private static string ValidateEmail(string email)
    {
        email = email?.Trim() ?? "";
        if (!MailAddress.TryCreate(email, out var parsed) || parsed.Address != email)
        {
            throw new AccountValidationException("email", $"'{email}' is not an email address.");
        }

        return email;
    }

    public async Task<int> CountAdminsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*)::int FROM users WHERE role = 'Admin'", cancellationToken: cancellationToken));
    }

    private async Task<User> UpdateAsync(string sql, object parameters, string actor, string action, string email, object summary, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var user = await connection.QuerySingleAsync<User>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, Now, actor, action, "user", email, summary, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return user;
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static readonly string DummyHash = Hasher.HashPassword(null!, Guid.NewGuid().ToString());
}

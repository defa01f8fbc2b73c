using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using Npgsql;

namespace FraudWorkbench.Core.Fairness;

/// <summary>A reviewer approved or rejected a version's fairness report; pages showing the latest sign-off reload.</summary>
[EventName("model.fairness-signed-off")]
public sealed record FairnessSignedOff(Guid ModelVersionId);

/// <summary>The two decisions a reviewer can take on a fairness report.</summary>
public static class SignOffDecision
{
    public const string Approve = "approve";
    public const string Reject = "reject";

    public static readonly IReadOnlyList<string> All = [Approve, Reject];
}

/// <summary>One sign-off of a version's fairness report.</summary>
/// <param name="Reviewer">The actor as the audit log names it (<c>user:lead@example.com</c>).</param>
/// <param name="ReportComputedAt">When the report that was signed off was computed: a recomputed report is not signed off by it.</param>
public sealed record FairnessSignOff(long Id, Guid ModelVersionId, string Decision, string Comment, string Reviewer, DateTime At, DateTime ReportComputedAt);

/// <summary>A sign-off refused, with the HTTP status that says why and the request field it is about.</summary>
public sealed class FairnessSignOffException(string message, int status, string field) : Exception(message)
{
    public int Status { get; } = status;

    public string Field { get; } = field;
}

/// <summary>Reviewers' sign-offs of fairness reports: every one kept, the latest shown.</summary>
public sealed class FairnessSignOffStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    public const int MaxCommentLength = 2000;

    /// <summary>
    /// Records <paramref name="reviewer"/>'s decision on the version's current report, audited in the same transaction.
    /// With <paramref name="expectedReportComputedAt"/> (the report the reviewer read) a report recomputed meanwhile is refused
    /// rather than signed off unseen.
    /// </summary>
    /// <exception cref="FairnessSignOffException">400 for a bad decision or comment, 409 without a report or when it changed.</exception>
    public async Task<FairnessSignOff> SignOffAsync(
        Guid versionId, string? decision, string? comment, string reviewer, DateTime? expectedReportComputedAt = null, CancellationToken cancellationToken = default)
    {
        if (decision is null || !SignOffDecision.All.Contains(decision))
            throw new FairnessSignOffException($"decision must be one of {string.Join(", ", SignOffDecision.All)}.", 400, "decision");
        comment = comment?.Trim();
        // A sign-off without its reasons tells the next reader nothing, so the comment is required like an override's reason.
        if (string.IsNullOrEmpty(comment)) throw new FairnessSignOffException("A comment saying why is required.", 400, "comment");
        if (StoredText.Problem(comment, MaxCommentLength, multiline: true) is { } problem) throw new FairnessSignOffException(problem, 400, "comment");

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // FOR SHARE: a recomputation saving its report waits for this sign-off to commit, so the sign-off names the report it read.
        const string current = "SELECT computed_at FROM model_fairness WHERE model_version_id = @versionId FOR SHARE";
        var computedAt = await connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition(current, new { versionId }, transaction, cancellationToken: cancellationToken));
        if (computedAt is not { } reportAt)
            throw new FairnessSignOffException("This version has no computed fairness report to sign off; compute it first.", 409, "version");
        // PostgreSQL keeps microseconds, .NET ticks of 100 ns: compare to the microsecond.
        // A time sent with an offset arrives as local time; one without is taken as UTC, as every time here is.
        if (expectedReportComputedAt is { } sent && (sent.Kind == DateTimeKind.Local ? sent.ToUniversalTime() : sent) is var expected && Math.Abs((expected - reportAt).Ticks) >= TimeSpan.TicksPerMicrosecond)
            throw new FairnessSignOffException(
                $"The report was recomputed at {reportAt:yyyy-MM-dd HH:mm:ss} UTC after the one you read ({expected:yyyy-MM-dd HH:mm:ss} UTC); read it again before signing off.", 409, "reportComputedAt");

        var at = time.GetUtcNow().UtcDateTime;
        const string sql = """
            INSERT INTO fairness_signoffs (model_version_id, decision, comment, reviewer, at, report_computed_at)
            VALUES (@versionId, @decision, @comment, @reviewer, @at, @reportAt)
            RETURNING id, model_version_id, decision, comment, reviewer, at, report_computed_at
            """;
        var signOff = await connection.QuerySingleAsync<FairnessSignOff>(new CommandDefinition(sql,
            new { versionId, decision, comment, reviewer, at, reportAt }, transaction, cancellationToken: cancellationToken));
        await AuditLog.WriteAsync(transaction, at, reviewer, "fairness.signoff", "model-version", versionId.ToString(),
            new { decision, comment, reportComputedAt = reportAt }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(new FairnessSignedOff(versionId), CancellationToken.None);
        return signOff;
    }

    /// <summary>The version's sign-offs, latest first.</summary>
    public async Task<IReadOnlyList<FairnessSignOff>> ListAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT id, model_version_id, decision, comment, reviewer, at, report_computed_at
            FROM fairness_signoffs WHERE model_version_id = @versionId ORDER BY id DESC
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<FairnessSignOff>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken))];
    }

    /// <summary>The version's latest sign-off, or null when nobody has signed off.</summary>
    public async Task<FairnessSignOff?> LatestAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        const string sql = """
            SELECT id, model_version_id, decision, comment, reviewer, at, report_computed_at
            FROM fairness_signoffs WHERE model_version_id = @versionId ORDER BY id DESC LIMIT 1
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<FairnessSignOff>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
    }
}

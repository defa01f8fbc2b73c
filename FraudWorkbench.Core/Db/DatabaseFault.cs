using Npgsql;

namespace FraudWorkbench.Core.Db;

/// <summary>
/// Tells an unreachable, stalled or overloaded database (retry later: 503) from everything else. A refusal
/// of the data itself (a constraint, a bad value) is not an outage and must not be dressed up as one.
/// </summary>
public static class DatabaseFault
{
    /// <summary>How long callers are told to wait before retrying while the database is away.</summary>
    public const int RetryAfterSeconds = 5;

    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    // 08: connection; 53: out of resources (too many connections); 57P0x: shutting down, starting up; 40001/40P01 are retried where they happen.
                    return postgres.IsTransient || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("53", StringComparison.Ordinal) || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException:
                case TimeoutException:
                    return true;
            }
        }

        return false;
    }
}

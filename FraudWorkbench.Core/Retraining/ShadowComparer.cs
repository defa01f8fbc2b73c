using Dapper;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The challenger against the champion on the traffic both scored in the shadow period (score correlation, flag
/// agreement, estimated and realized metrics), and the champion's traffic of the period the challenger did not score.
/// Computed by PostgreSQL and read as aggregates or as one streamed row per distinct score: a period of millions of
/// transactions costs the app no more memory than one of ten.
/// </summary>
public sealed class ShadowComparer(NpgsqlDataSource dataSource)
{
    // The period as the workflow row has it: [shadow_started_at, shadow_ends_at), open-ended while it runs.
    private const string Period = """
        w AS (SELECT shadow_started_at AS s, shadow_ends_at AS e, champion_version_id AS champion, histories_through AS through
              FROM retraining_workflows WHERE id = @workflowId),
        p AS (SELECT sp.prediction_id, sp.prediction_created_at AS t, sp.champion_probability AS a, sp.probability AS b,
                     sp.champion_decision AS fa, sp.decision AS fb, sp.latency_ms::float8 AS l
              FROM shadow_predictions sp CROSS JOIN w
              WHERE sp.workflow_id = @workflowId AND sp.prediction_created_at >= w.s AND (w.e IS NULL OR sp.prediction_created_at < w.e))
        """;

    private sealed record Totals(
        long N, DateTime? From, DateTime? To, double? MinA, double? MaxA, double? MinB, double? MaxB, double? Pearson, double? Spearman,
        long Agree, long ChampionFlags, long ChallengerFlags, double? SumA, double? SumB, double? P99, long Labelled, long LabelledFraud, long Dropped);

    public async Task<ShadowComparison> CompareAsync(RetrainingWorkflow workflow, CancellationToken cancellationToken = default)
    {
        // Spearman's ρ is Pearson's on average ranks: rank() is the lowest of a tie's ranks, and a tie of k values spans k of them.
        // Dropped: the champion's logged predictions of the period with no shadow prediction, whatever kept them out (the
        // challenger failed on them, they were committed behind the tailer, or the grace period ended before it read them).
        // A period still open counts only up to where the tailer has read.
        const string sql = $"""
            WITH {Period},
            r AS (SELECT (rank() OVER (ORDER BY a) + (count(*) OVER (PARTITION BY a) - 1) / 2.0)::float8 AS ra,
                         (rank() OVER (ORDER BY b) + (count(*) OVER (PARTITION BY b) - 1) / 2.0)::float8 AS rb
                  FROM p)
            SELECT count(*) AS n, min(t) AS "from", max(t) AS "to", min(a) AS min_a, max(a) AS max_a, min(b) AS min_b, max(b) AS max_b,
                   corr(a, b) AS pearson, (SELECT corr(ra, rb) FROM r) AS spearman,
                   count(*) FILTER (WHERE fa = fb) AS agree, count(*) FILTER (WHERE fa) AS champion_flags, count(*) FILTER (WHERE fb) AS challenger_flags,
                   sum(a) AS sum_a, sum(b) AS sum_b, percentile_cont(0.99) WITHIN GROUP (ORDER BY l) AS p99,
                   (SELECT count(*) FROM p JOIN prediction_feedback f ON f.prediction_id = p.prediction_id AND f.prediction_created_at = p.t) AS labelled,
                   (SELECT count(*) FROM p JOIN prediction_feedback f ON f.prediction_id = p.prediction_id AND f.prediction_created_at = p.t WHERE f.is_fraud) AS labelled_fraud,
                   (SELECT count(*) FROM predictions lp CROSS JOIN w
                    WHERE lp.model_version_id = w.champion AND lp.created_at >= w.s AND lp.created_at < coalesce(w.e, w.through, w.s)
                      AND NOT EXISTS (SELECT 1 FROM shadow_predictions sp WHERE sp.workflow_id = @workflowId AND sp.prediction_id = lp.id)) AS dropped
            FROM p
            """;
        // One snapshot for the totals and both curves: labels and late shadow rows keep arriving, and curves normalised by
        // another moment's counts would not end at (1, 1).
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var totals = await connection.QuerySingleAsync<Totals>(new CommandDefinition(sql, new { workflowId = workflow.Id }, transaction, cancellationToken: cancellationToken));
        var n = totals.N;
        // A constant side has no correlation; tested on the values, as PostgreSQL's running sums can leave a constant's variance a hair above 0.
        var correlated = n >= 2 && totals.MinA != totals.MaxA && totals.MinB != totals.MaxB;
        var bothClasses = totals.LabelledFraud > 0 && totals.LabelledFraud < totals.Labelled;
        return new ShadowComparison(
            n, totals.Dropped, totals.From, totals.To,
            correlated ? Clamp(totals.Pearson) : null, correlated ? Clamp(totals.Spearman) : null,
            n == 0 ? null : totals.Agree / (double)n,
            ShadowStatistics.Kappa(n, totals.Agree, totals.ChampionFlags, totals.ChallengerFlags),
            n == 0 ? 0 : totals.ChampionFlags / (double)n, n == 0 ? 0 : totals.ChallengerFlags / (double)n,
            n == 0 ? 0 : totals.SumA!.Value / n, n == 0 ? 0 : totals.SumB!.Value / n,
            totals.SumA ?? 0, totals.SumB ?? 0,
            totals.Labelled, totals.LabelledFraud,
            bothClasses ? await RealizedAsync(transaction, workflow.Id, "a", totals.LabelledFraud, totals.Labelled - totals.LabelledFraud, cancellationToken) : null,
            bothClasses ? await RealizedAsync(transaction, workflow.Id, "b", totals.LabelledFraud, totals.Labelled - totals.LabelledFraud, cancellationToken) : null,
            totals.P99 ?? 0);
    }

    private static double? Clamp(double? r) => r is { } v ? Math.Clamp(v, -1, 1) : null;

    /// <summary>
    /// One side's realized metrics on the labelled shadow predictions, from one row per distinct score streamed highest
    /// first: the ROC and precision-recall curves are walked as <see cref="ClassificationMetrics"/> walks them.
    /// </summary>
    private static async Task<ClassificationReport> RealizedAsync(NpgsqlTransaction transaction, Guid workflowId, string side, long positives, long negatives, CancellationToken cancellationToken)
    {
        var sql = $"""
            WITH {Period}
            SELECT p.{side} AS score, count(*) FILTER (WHERE f.is_fraud) AS fraud, count(*) FILTER (WHERE NOT f.is_fraud) AS legit
            FROM p JOIN prediction_feedback f ON f.prediction_id = p.prediction_id AND f.prediction_created_at = p.t
            GROUP BY p.{side} ORDER BY p.{side} DESC
            """;
        var curve = new StreamedMetrics(positives, negatives);
        await using var command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.AddWithValue("workflowId", workflowId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) curve.Add(reader.GetDouble(0), reader.GetInt64(1), reader.GetInt64(2));
        return curve.Report();
    }

    /// <summary>
    /// <see cref="ClassificationMetrics.Evaluate"/> over scores arriving highest first, each distinct score with its count of
    /// positives and negatives. ROC AUC, average precision and recall at 1 % FPR are the same sums in the same order, so the
    /// same numbers; log loss and Brier are summed per score rather than per row, equal up to rounding.
    /// </summary>
    internal sealed class StreamedMetrics(long positives, long negatives)
    {
        private const double Epsilon = 2.220446049250313e-16;
        private double tp, fp, x, y, area, recallAtFpr, averagePrecision, recall, logLoss, brier;

        public void Add(double score, long fraud, long legit)
        {
            tp += fraud;
            fp += legit;
            var (nextX, nextY) = (negatives == 0 ? 0 : fp / negatives, positives == 0 ? 0 : tp / positives);
            area += (nextX - x) * (nextY + y) / 2;
            if (nextX <= 0.01 + 1e-12) recallAtFpr = Math.Max(recallAtFpr, nextY);
            averagePrecision += (nextY - recall) * (tp / (tp + fp));
            (x, y, recall) = (nextX, nextY, nextY);
            var p = Math.Clamp(score, Epsilon, 1 - Epsilon);
            logLoss -= fraud * Math.Log(p) + legit * Math.Log(1 - p);
            brier += fraud * (score - 1) * (score - 1) + legit * score * score;
        }

        public ClassificationReport Report()
        {
            var n = positives + negatives;
            return new ClassificationReport(area, averagePrecision, logLoss / n, brier / n, recallAtFpr, positives, negatives);
        }
    }
}

/// <summary>Agreement statistics of two scorings of the same transactions.</summary>
public static class ShadowStatistics
{
    /// <summary>Cohen's kappa from the counts: <paramref name="n"/> rated, <paramref name="agree"/> alike, each side's yeses.</summary>
    public static double? Kappa(long n, long agree, long aYes, long bYes)
    {
        if (n == 0) return null;
        var observed = agree / (double)n;
        var expected = aYes / (double)n * (bYes / (double)n) + (1 - aYes / (double)n) * (1 - bYes / (double)n);
        return expected >= 1 ? null : (observed - expected) / (1 - expected);
    }
}

using System.Buffers.Binary;
using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Bench;

/// <summary>
/// The logged predictions and labels of <c>bench performance</c>, generated day by day from a seed (the same seed gives
/// the same rows), never held all at once. Scores are calibrated by construction: a row's log-odds are normal, and it is
/// fraud with exactly its probability, so CBPE's estimates should match the realized figures. Labels arrive as fraud
/// teams see them: reviews of flagged transactions within a week, chargebacks of missed fraud 3–120 days later (5 % of
/// fraud never reported), and a share of the other transactions confirmed legitimate at any time up to 120 days.
/// A label counts only if it has arrived by <see cref="Plan.Now"/>.
/// </summary>
public static class PerformanceData
{
    /// <summary>One exported row: day (int16), label (int8: −1 none yet, 0, 1), decision (uint8), probability (float64), amount (float64), little-endian, packed.</summary>
    public const int RecordBytes = 20;

    /// <summary>The same layout for <c>numpy.fromfile</c>.</summary>
    public const string NumpyDtype = "[('day', '<i2'), ('label', 'i1'), ('decision', 'u1'), ('probability', '<f8'), ('amount', '<f8')]";

    private const double LogitMean = -5.6, LogitSpread = 2.0;
    private const double FraudReported = 0.95, FlaggedReviewed = 0.9, ReviewDays = 7, MaxDelayDays = 120, ChargebackMinDays = 3;

    /// <param name="FirstDay">The first UTC day of predictions; the rows cover <paramref name="Days"/> days from it.</param>
    /// <param name="Now">Labels due after this have not arrived.</param>
    /// <param name="Threshold">The version's threshold: a prediction is flagged at or above it.</param>
    /// <param name="Labels">The labels wanted by <paramref name="Now"/>: the share of legitimate unflagged rows confirmed is chosen for it (met in expectation).</param>
    public sealed record Plan(long Predictions, long Labels, int Days, DateOnly FirstDay, DateTime Now, double Threshold, int Seed)
    {
        public long RowsOn(int day) => Predictions / Days + (day < Predictions % Days ? 1 : 0);
    }

    /// <summary>One generated prediction, whether it was fraud (the truth, known only here) and, when it has arrived by then, its label and the delay in days.</summary>
    public readonly record struct Row(int Day, DateTime At, double Probability, bool Decision, double Amount, bool Fraud, bool? Label, double DelayDays);

    /// <summary>What a day's rows add up to, as the log sink and the feedback sink count them.</summary>
    public sealed record DayCounts(DateOnly Day, PerformanceCounts Predictions, PerformanceCounts Labels);

    public sealed record Totals(long Predictions, long Labels, long FraudLabels, long Fraud, long Flagged, double ConfirmShare);

    /// <summary>
    /// Generates every day, counts it with <see cref="PerformanceCounts.AddPrediction"/> and <see cref="PerformanceCounts.AddLabel"/>,
    /// appends its rows to <paramref name="export"/> (when given) and hands the day's counts to <paramref name="write"/>.
    /// </summary>
    public static async Task<Totals> RunAsync(Plan plan, Stream? export, Func<DayCounts, Task> write)
    {
        var confirm = ConfirmShare(plan);
        long labels = 0, fraudLabels = 0, fraud = 0, flagged = 0, predictions = 0;
        var buffer = new byte[RecordBytes * 8192];
        var used = 0;
        for (var d = 0; d < plan.Days; d++)
        {
            var day = new DayCounts(plan.FirstDay.AddDays(d), new PerformanceCounts(), new PerformanceCounts());
            foreach (var row in Day(plan, d, confirm))
            {
                predictions++;
                if (row.Decision) flagged++;
                if (row.Fraud) fraud++;
                day.Predictions.AddPrediction(row.Probability, row.Decision, row.Amount);
                if (row.Label is { } isFraud)
                {
                    labels++;
                    if (isFraud) fraudLabels++;
                    day.Labels.AddLabel(row.Probability, row.Decision, row.Amount, isFraud, row.DelayDays, 1);
                }

                if (export is null) continue;
                Encode(buffer.AsSpan(used, RecordBytes), row);
                used += RecordBytes;
                if (used == buffer.Length)
                {
                    await export.WriteAsync(buffer.AsMemory(0, used));
                    used = 0;
                }
            }

            await write(day);
        }

        if (export is not null && used > 0) await export.WriteAsync(buffer.AsMemory(0, used));
        return new Totals(predictions, labels, fraudLabels, fraud, flagged, confirm);
    }

    public static void Encode(Span<byte> target, Row row)
    {
        BinaryPrimitives.WriteInt16LittleEndian(target, (short)row.Day);
        target[2] = row.Label switch { null => unchecked((byte)-1), true => 1, false => 0 };
        target[3] = row.Decision ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteDoubleLittleEndian(target[4..], row.Probability);
        BinaryPrimitives.WriteDoubleLittleEndian(target[12..], row.Amount);
    }

    /// <summary>
    /// The share of legitimate unflagged rows confirmed so that the labels in by <see cref="Plan.Now"/> are
    /// <see cref="Plan.Labels"/> in expectation: a first pass over the same rows counts the other labels in and how
    /// likely each candidate's confirmation is to be in (its age over 120 days).
    /// </summary>
    public static double ConfirmShare(Plan plan)
    {
        double others = 0, candidates = 0;
        for (var d = 0; d < plan.Days; d++)
        {
            foreach (var row in Day(plan, d, confirm: 0))
            {
                if (row.Label is not null) others++;
                else if (!row.Decision && !row.Fraud) candidates += Math.Clamp((plan.Now - row.At).TotalDays / MaxDelayDays, 0, 1);
            }
        }

        return candidates > 0 ? Math.Clamp((plan.Labels - others) / candidates, 0, 1) : 0;
    }

    /// <summary>
    /// Day <paramref name="d"/>'s rows. Every row draws the same seven numbers whatever the outcome, so both passes see
    /// the same rows.
    /// </summary>
    public static IEnumerable<Row> Day(Plan plan, int d, double confirm)
    {
        var random = new Random(unchecked(plan.Seed * 7919 + d));
        var start = plan.FirstDay.AddDays(d).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var rows = plan.RowsOn(d);
        for (long i = 0; i < rows; i++)
        {
            var at = start.AddTicks((long)(random.NextDouble() * TimeSpan.TicksPerDay));
            var logit = LogitMean + LogitSpread * Normal(random);
            var probability = 1 / (1 + Math.Exp(-logit));
            var isFraud = random.NextDouble() < probability;
            var amount = Math.Round(Math.Exp(3.6 + 1.1 * Normal(random)) * (isFraud ? 1.6 : 1), 2);
            var labelled = random.NextDouble();
            var delayDraw = random.NextDouble();
            var decision = probability >= plan.Threshold;
            double? delay = (isFraud, decision) switch
            {
                (true, true) => labelled < FraudReported ? ReviewDays * delayDraw : null,
                (true, false) => labelled < FraudReported ? ChargebackMinDays + (MaxDelayDays - ChargebackMinDays) * Math.Pow(delayDraw, 1.3) : null,
                (false, true) => labelled < FlaggedReviewed ? ReviewDays * delayDraw : null,
                (false, false) => labelled < confirm ? MaxDelayDays * delayDraw : null,
            };
            var arrived = delay is { } days && at.AddDays(days) <= plan.Now;
            yield return new Row(d, at, probability, decision, amount, isFraud, arrived ? isFraud : null, arrived ? delay!.Value : 0);
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

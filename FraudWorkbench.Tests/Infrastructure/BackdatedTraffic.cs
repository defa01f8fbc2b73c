using System.Globalization;
using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Infrastructure;

/// <summary>One transaction scored as traffic at a backdated time.</summary>
public sealed record BackdatedPrediction(Guid Id, DateTime CreatedAt, double Probability, bool Decision, bool Fraud, double Amount);

/// <summary>
/// Month B (or any rows of the sample schema) as production traffic of the past: each row scored as the scoring service
/// does (features from the entity histories, which each row then joins) and logged at its event time shifted so that
/// 1 February falls on <c>start</c>. The performance, monitoring and retraining scenarios start from it.
/// </summary>
public static class BackdatedTraffic
{
    public static readonly DateTime February = new(2026, 2, 1, 0, 0, 0, DateTimeKind.Utc);

    public static string MonthB => Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");

    public static async Task<List<BackdatedPrediction>> ScoreAsync(WorkbenchAppFactory app, DatasetSchema schema, string model, IReadOnlyList<string?[]> rows, DateTime start)
    {
        var serving = await app.Get<ModelServer>().ResolveAsync(model, null);
        var entities = app.Get<EntityStateStore>();
        var log = app.Get<PredictionLog>();
        int time = schema.IndexOf("event_time"), label = schema.IndexOf("is_fraud"), amount = schema.IndexOf("amount"), id = schema.IndexOf("transaction_id");
        var scored = new List<BackdatedPrediction>(rows.Count);
        var probability = new double[1];
        for (var chunk = 0; chunk < rows.Count; chunk += 1_000)
        {
            var count = Math.Min(1_000, rows.Count - chunk);
            Assert.True(log.TryReserve(count));
            for (var i = chunk; i < chunk + count; i++)
            {
                var input = JsonSerializer.SerializeToElement(ScoringFixture.Transaction(schema, rows[i]));
                var issues = new List<InputIssue>();
                var parsed = serving.Contract.Parse(input, "", issues) ?? throw new InvalidOperationException(string.Join("; ", issues));
                var features = await entities.ComputeAsync(serving.FeatureSetVersionId, serving.Featurizer, parsed, record: true);
                serving.Probabilities(features, 1, probability);
                var eventTime = DateTime.Parse(rows[i][time]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                var createdAt = start + (eventTime - February);
                var decision = probability[0] >= serving.Threshold;
                var predictionId = Guid.CreateVersion7(createdAt);
                log.Write(new PredictionRecord(predictionId, createdAt, serving.VersionId, "test", input.GetRawText(), features, probability[0], decision, 0.1f,
                    Row: parsed, TransactionId: parsed[id]));
                scored.Add(new BackdatedPrediction(predictionId, createdAt, probability[0], decision, rows[i][label] == "1",
                    double.Parse(rows[i][amount]!, CultureInfo.InvariantCulture)));
            }
        }

        await log.FlushAsync();
        return scored;
    }

    /// <summary>
    /// Labels as a fraud team gets them: each fraud's chargeback 1 to 13 days later (most within a week; dated, and only
    /// those whose date has come), and for the first two weeks a review's "legitimate" for most flagged legitimate ones. So
    /// the first two weeks are fully labelled and the last days hold only the quick chargebacks.
    /// </summary>
    public static List<FeedbackItem> Labels(IEnumerable<BackdatedPrediction> scored, DateTime start, DateTime now, int seed = 17)
    {
        var random = new Random(seed);
        var today = DateOnly.FromDateTime(now);
        var labels = new List<FeedbackItem>();
        var twoWeeks = start.AddDays(14);
        foreach (var s in scored)
        {
            if (s.Fraud)
            {
                var date = DateOnly.FromDateTime(s.CreatedAt.AddDays(Math.Min(13, 1 + (int)(-3 * Math.Log(1 - random.NextDouble())))));
                if (date <= today) labels.Add(new FeedbackItem(s.Id, true, date));
            }
            else if (s.Decision && s.CreatedAt < twoWeeks && random.NextDouble() < 0.8)
            {
                labels.Add(new FeedbackItem(s.Id, false, DateOnly.FromDateTime(s.CreatedAt.AddDays(1))));
            }
        }

        return labels;
    }
}

using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Performance;

/// <summary>Live traffic for the label tests: month A rows scored through the real scoring path and written by the log.</summary>
public static class LabelScenario
{
    /// <summary>Registers and promotes <paramref name="model"/> (the strong run) and scores the sample rows <paramref name="rows"/> (an index may repeat).</summary>
    public static async Task<IReadOnlyList<(Guid Id, string TransactionId)>> ScoreAsync(ScoringFixture fixture, string model, params int[] rows)
    {
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        return await ScoreMoreAsync(fixture, model, rows);
    }

    /// <summary>Scores more rows with the model's serving version.</summary>
    public static async Task<IReadOnlyList<(Guid Id, string TransactionId)>> ScoreMoreAsync(ScoringFixture fixture, string model, params int[] rows)
    {
        var serving = await fixture.App.Get<ModelServer>().ResolveAsync(model, null);
        var inputs = rows.Select(r => JsonSerializer.SerializeToElement(fixture.Transaction(r))).ToList();
        var parsed = inputs.Select(input =>
        {
            var issues = new List<InputIssue>();
            return serving.Contract.Parse(input, "", issues) ?? throw new InvalidOperationException(string.Join("; ", issues));
        }).ToList();
        var predictions = await fixture.App.Get<ScoringService>().PredictAsync(serving, parsed, inputs, "test", dryRun: false, default);
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var idColumn = fixture.Schema.IndexOf(fixture.Schema.TransactionId!.Name);
        return [.. predictions.Select((p, i) => (p.PredictionId!.Value, fixture.Rows[rows[i]][idColumn]!))];
    }

    /// <summary>Moves a stored label's arrival time, as if it had come then.</summary>
    public static async Task SetReceivedAsync(ScoringFixture fixture, Guid prediction, DateTime receivedAt)
    {
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteAsync("UPDATE prediction_feedback SET received_at = @receivedAt WHERE prediction_id = @prediction", new { prediction, receivedAt }));
    }
}

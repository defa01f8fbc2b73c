using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench scoring --shadow</c>: what shadow scoring costs the champion's responses. The app and the promoted model as
/// <c>bench scoring</c> prepares them, plus a challenger: the same recipes refitted as a feature set version of their
/// own (so the challenger keeps entity histories of its own, the costlier case) and trained, registered as version 2.
/// Then rounds of the same open-loop load with shadow off and on in ABBA order (off, on, on, off, …), so a drift of
/// the host over the run weighs on both sides alike. Shadow on is a workflow row in its shadow step naming the two
/// versions and the challenger's feature set version, its log position at the round's start, inserted with SQL as the
/// retraining engine would leave it, so the real tailer reads the log, records and scores. Nothing shadow-related runs
/// in the prediction log's writer any more: what shadow costs the champion is the tailer's CPU and database work beside it.
/// </summary>
public static class ShadowBenchmark
{
    /// <summary>One open-loop step of one round.</summary>
    public sealed record RoundResult(int Round, bool Shadow, LoadGenerator.LoadResult Load);

    public static async Task<int> RunAsync(int seconds, int[] rates, int pairs, TextWriter output, CancellationToken cancellationToken)
    {
        await using var host = await BenchHost.StartAsync("shadow", cancellationToken);
        var services = host.Services;
        var secret = await ScoringBenchmark.PrepareAsync(services, TrainingBenchmark.Recipes, output, cancellationToken);
        var champion = (await services.GetRequiredService<RegistryStore>().GetProductionAsync(ScoringBenchmark.Model, cancellationToken))!;
        var (challenger, challengerFeatures) = await ChallengerAsync(services, output, cancellationToken);
        var (bodies, refused) = await ScoringBenchmark.BodiesAsync(services, reasons: true, cancellationToken);
        var bodiesPath = Path.Combine(host.DataDirectory, "bodies.jsonl");
        await File.WriteAllLinesAsync(bodiesPath, bodies.Select(b => System.Text.Encoding.UTF8.GetString(b)), cancellationToken);
        await output.WriteLineAsync($"load: POST /api/v1/predict from a separate process, one month B transaction per request ({bodies.Count:N0} distinct, {refused:N0} refused), reasons on, open loop at {string.Join(", ", rates.Select(r => $"{r:N0}/s"))} for {seconds} s per step; {2 * pairs} rounds, shadow off/on in ABBA order; the first round warms up {LoadGenerator.DefaultWarmupSeconds} s, the others {RoundWarmupSeconds} s");

        var results = new List<RoundResult>();
        var comparisons = new List<(ShadowComparison Comparison, long Written)>();
        for (var round = 0; round < 2 * pairs; round++)
        {
            var shadow = IsShadowRound(round);
            Guid? workflow = shadow ? await StartShadowAsync(services, champion, challenger, challengerFeatures, cancellationToken) : null;
            var warmup = round == 0 ? LoadGenerator.DefaultWarmupSeconds : RoundWarmupSeconds;
            using (var generator = ScoringBenchmark.StartGenerator(host.Address, bodiesPath, seconds, warmup, rates, [0], secret))
            {
                await using var stop = cancellationToken.Register(() => generator.Kill(entireProcessTree: true));
                while (await generator.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (!line.StartsWith("result ", StringComparison.Ordinal)) continue;
                    var r = JsonSerializer.Deserialize<LoadGenerator.LoadResult>(line["result ".Length..], LoadGenerator.Json)!;
                    if (r.Step == "warm-up") continue;
                    results.Add(new RoundResult(round + 1, shadow, r));
                    await output.WriteLineAsync($"round {round + 1} shadow {(shadow ? "on " : "off")} {r.Step[5..],5}/s: sent {r.Count:N0}, failed {r.Errors}, p50 {r.P50:0.00} ms, p99 {r.P99:0.00} ms, max {r.Max:0.0} ms (in the app p50 {r.ServerP50:0.00} / p99 {r.ServerP99:0.00} ms; sent late p99 {r.LateP99:0.00} ms)");
                }

                await generator.WaitForExitAsync(cancellationToken);
                if (generator.ExitCode != 0) throw new InvalidOperationException($"The load generator exited with {generator.ExitCode}.");
            }

            if (workflow is { } id) comparisons.Add(await StopShadowAsync(services, id, output, cancellationToken));
        }

        await output.WriteLineAsync();
        await output.WriteLineAsync("Medians over the rounds of each side (response time from the scheduled send; in the app: the app's own latencyMs):");
        await output.WriteLineAsync("| rate | shadow off: p50 / p99 (in the app p99) | shadow on: p50 / p99 (in the app p99) | p99 on − off | p99 on / off | in-app p99 on − off | failed requests off / on |");
        await output.WriteLineAsync("|---|---|---|---|---|---|---|");
        foreach (var rate in rates)
        {
            var off = results.Where(r => !r.Shadow && r.Load.Step == $"open {rate}").Select(r => r.Load).ToList();
            var on = results.Where(r => r.Shadow && r.Load.Step == $"open {rate}").Select(r => r.Load).ToList();
            var (o, n) = (Summary.Of(off), Summary.Of(on));
            await output.WriteLineAsync($"| {rate:N0}/s | {o.P50:0.00} / {o.P99:0.00} ms ({o.ServerP99:0.00}) | {n.P50:0.00} / {n.P99:0.00} ms ({n.ServerP99:0.00}) | {n.P99 - o.P99:+0.00;-0.00} ms | {n.P99 / o.P99:0.00} | {n.ServerP99 - o.ServerP99:+0.00;-0.00} ms | {o.Errors} / {n.Errors} |");
        }

        var sent = results.Where(r => r.Shadow).Sum(r => (long)r.Load.Count);
        await output.WriteLineAsync($"shadow: {comparisons.Sum(c => c.Written):N0} shadow predictions written for {sent:N0} measured requests with shadow on (warm-ups included in the written), {comparisons.Sum(c => c.Comparison.Dropped):N0} dropped; challenger p99 {comparisons.Max(c => c.Comparison.ChallengerLatencyP99Ms):0.000} ms per transaction off the request path");
        return 0;
    }

    private const int RoundWarmupSeconds = 5;

    /// <summary>ABBA order: off, on, on, off, off, on, on, off, …</summary>
    public static bool IsShadowRound(int round) => (round % 4) is 1 or 2;

    /// <summary>Medians of one side's rounds at one rate, and its failed requests in all.</summary>
    public sealed record Summary(double P50, double P99, double ServerP99, int Errors)
    {
        public static Summary Of(IReadOnlyList<LoadGenerator.LoadResult> rounds) =>
            new(Median(rounds.Select(r => r.P50)), Median(rounds.Select(r => r.P99)), Median(rounds.Select(r => r.ServerP99)), rounds.Sum(r => r.Errors));

        public static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            if (sorted.Length == 0) return double.NaN;
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }

    /// <summary>The champion's recipes refitted as a feature set version of their own, trained and registered as a candidate (its gate waited for, so it does not run during the load).</summary>
    private static async Task<(ModelVersion Version, Guid FeatureSetVersionId)> ChallengerAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        var champion = (await services.GetRequiredService<RegistryStore>().GetProductionAsync(ScoringBenchmark.Model, cancellationToken))!;
        var run = (await services.GetRequiredService<TrainingRunStore>().GetAsync(champion.RunId, cancellationToken))!;
        var (featureSet, _) = await services.GetRequiredService<FeatureSetService>().CreateAsync(
            new NewFeatureSet("bench-features-challenger", run.DatasetId, run.DatasetVersion, TrainingBenchmark.Recipes), "bench", cancellationToken);
        var (runId, jobId) = await services.GetRequiredService<TrainingService>().StartAsync(
            new TrainingRunRequest(run.DatasetId, run.DatasetVersion, featureSet.Id, new TrainerSettings()), "bench", cancellationToken);
        await ScoringBenchmark.WaitAsync(services, jobId, cancellationToken);
        var version = await services.GetRequiredService<RegistryService>().RegisterAsync(ScoringBenchmark.Model, runId, ["bench", "challenger"], null, "bench", cancellationToken);
        await ScoringBenchmark.WaitAsync(services, version.GateJobId!.Value, cancellationToken);
        await output.WriteLineAsync($"challenger: version {version.Version}, the same recipes refitted as feature set version {featureSet.Id} (entity histories of its own), LightGBM 100 trees");
        return (version, featureSet.Id);
    }

    /// <summary>
    /// A workflow row in its shadow step, as the engine leaves it (its time and count limits out of reach), the tailer's
    /// position at its start: the tailer takes it up at its next pass.
    /// </summary>
    private static async Task<Guid> StartShadowAsync(IServiceProvider services, ModelVersion champion, ModelVersion challenger, Guid featureSetVersionId, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7();
        var now = LogPosition.Microseconds(DateTime.UtcNow);
        var policy = new RetrainingPolicy(ShadowHours: 24 * 60, ShadowTransactions: null).ToJson();
        const string sql = """
            INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_detail, policy, champion_version_id, status, step,
                feature_set_version_id, candidate_version_id, shadow_started_at, shadow_ends_at, histories_through, histories_through_id, created_by, created_at, updated_at)
            VALUES (@id, @modelId, @model, 'manual', 'bench scoring --shadow', @policy::jsonb, @championId, 'running', 'shadow',
                @featureSetVersionId, @challengerId, @now, @ends, @now, @nil, 'bench', @now, @now);
            INSERT INTO retraining_steps (workflow_id, step, ordinal, status, started_at)
            SELECT @id, s.step, s.ordinal - 1, CASE WHEN s.ordinal < 6 THEN 'succeeded' WHEN s.ordinal = 6 THEN 'waiting' ELSE 'pending' END, CASE WHEN s.ordinal <= 6 THEN @now END
            FROM unnest(@steps::text[]) WITH ORDINALITY AS s (step, ordinal);
            """;
        await using (var connection = await services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(sql, new
            {
                id, modelId = champion.RegisteredModelId, model = champion.ModelName, policy, championId = champion.Id, challengerId = challenger.Id,
                featureSetVersionId, now, ends = now.AddDays(60), nil = Guid.Empty, steps = RetrainingStep.All.ToArray(),
            }, cancellationToken: cancellationToken));
        }

        await services.GetRequiredService<EventHub>().PublishAsync(new RetrainingChanged(id, champion.RegisteredModelId, champion.ModelName, RetrainingStatus.Running, RetrainingStep.Shadow), cancellationToken);
        return id;
    }

    /// <summary>
    /// Ends the period now and lets the real end of shadow run: the tailer reads the log to the end (its lag behind now)
    /// and advances the workflow, whose comparison job then leaves it waiting for an approver; prints that comparison and
    /// ends the workflow (cancelled: nothing acts on it any more).
    /// </summary>
    private static async Task<(ShadowComparison, long)> StopShadowAsync(IServiceProvider services, Guid id, TextWriter output, CancellationToken cancellationToken)
    {
        await services.GetRequiredService<PredictionLog>().FlushAsync(cancellationToken);
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var ends = LogPosition.Microseconds(DateTime.UtcNow);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string sql = "UPDATE retraining_workflows SET shadow_ends_at = @ends, updated_at = @ends WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id, ends }, cancellationToken: cancellationToken));
        }

        var workflows = services.GetRequiredService<RetrainingStore>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        RetrainingWorkflow workflow;
        while ((workflow = (await workflows.GetAsync(id, cancellationToken))!).Status != RetrainingStatus.AwaitingApproval)
        {
            if (!workflow.IsActive || waited.Elapsed > TimeSpan.FromMinutes(5))
                throw new InvalidOperationException($"The shadow period was not compared within 5 minutes: the workflow is {workflow.Status} at {workflow.Step} ({workflow.Error}).");
            await Task.Delay(100, cancellationToken);
        }

        var comparison = (await workflows.StepsAsync(id, cancellationToken)).Single(s => s.Step == RetrainingStep.Shadow).Result<ShadowComparison>()!;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            const string sql = "UPDATE retraining_workflows SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE id = @id";
            await connection.ExecuteAsync(new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
        }

        await output.WriteLineAsync($"  shadow comparison: {comparison.Transactions:N0} transactions, {comparison.Dropped:N0} dropped, score correlation {comparison.ScoreCorrelation:0.000} (rank {comparison.RankCorrelation:0.000}), flag agreement {comparison.FlagAgreement:P2} (kappa {comparison.Kappa:0.000}), flag rate {comparison.ChampionFlagRate:P2} → {comparison.ChallengerFlagRate:P2}, challenger p99 {comparison.ChallengerLatencyP99Ms:0.000} ms; compared {waited.Elapsed.TotalSeconds:0.0} s after the period's end");
        return (comparison, comparison.Transactions);
    }
}

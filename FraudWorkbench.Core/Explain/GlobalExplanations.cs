using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Explain;

/// <summary>One holdout row's contribution from a column, with the value the row had (for beeswarm colour and dependence plots).</summary>
public sealed record ContributionPoint(double Contribution, string? Value);

/// <param name="MeanAbsolute">Mean |contribution| over the explained rows: the global importance.</param>
public sealed record ColumnSummary(string Column, double MeanAbsolute, IReadOnlyList<ContributionPoint> Points);

/// <param name="Drop">Mean fall in PR-AUC when the input's values are shuffled across rows (permutation importance).</param>
public sealed record PermutationImportance(string Input, double Drop, double StandardDeviation);

/// <param name="Permutation">Ours, by input column: a column's model inputs shuffled together (a one-hot group stays one-hot).</param>
/// <param name="MlNetPermutation">ML.NET's PFI, by model input, each shuffled on its own; null in results computed before it was added.</param>
public sealed record GlobalExplanation(int Rows, string Method, double BaseValue, IReadOnlyList<ColumnSummary> Columns, IReadOnlyList<PermutationImportance> Permutation, DateTime ComputedAt,
    IReadOnlyList<PermutationImportance>? MlNetPermutation = null);

[EventName("model.explanation-changed")]
public sealed record GlobalExplanationChanged(Guid ModelVersionId);

public sealed record GlobalExplanationPayload(Guid VersionId);

/// <summary>Global explanations of a version, cached per version.</summary>
public sealed class GlobalExplanationStore(NpgsqlDataSource dataSource, EventHub events, TimeProvider time)
{
    /// <summary>Queues the computation (202); the last result stays readable until the new one replaces it.</summary>
    public async Task<Job> StartAsync(ModelVersion version, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var job = await JobStore.InsertAsync(transaction, GlobalExplanationJobHandler.KindName, new GlobalExplanationPayload(version.Id), actor, 2, time, cancellationToken);
        const string sql = """
            INSERT INTO model_explanations (model_version_id, job_id) VALUES (@id, @jobId)
            ON CONFLICT (model_version_id) DO UPDATE SET job_id = excluded.job_id
            """;
        await connection.ExecuteAsync(new CommandDefinition(sql, new { id = version.Id, jobId = job.Id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return job;
    }

    public async Task<(Guid JobId, GlobalExplanation? Result)?> GetAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(Guid JobId, string? Result)?>(new CommandDefinition(
            "SELECT job_id, result::text FROM model_explanations WHERE model_version_id = @versionId", new { versionId }, cancellationToken: cancellationToken));
        return row is { } r ? (r.JobId, r.Result is null ? null : JsonSerializer.Deserialize<GlobalExplanation>(r.Result, DatasetSchema.Json)) : null;
    }

    public async Task SaveAsync(Guid versionId, GlobalExplanation result, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE model_explanations SET result = @json::jsonb, computed_at = @at WHERE model_version_id = @versionId",
            new { versionId, json = JsonSerializer.Serialize(result, DatasetSchema.Json), at = result.ComputedAt }, cancellationToken: cancellationToken));
        await events.PublishAsync(new GlobalExplanationChanged(versionId), CancellationToken.None);
    }
}

/// <summary>
/// Mean |contribution| per input column, the points of a beeswarm / dependence plot, and permutation
/// importance twice: ours by input column and ML.NET's PFI by model input (both as PR-AUC drop) — on up
/// to <see cref="MaxRows"/> rows of the version's holdout, through the serving path.
/// </summary>
public sealed class GlobalExplanationJobHandler(
    RegistryStore registry, HoldoutExplainer holdouts, ModelLoader loader, GlobalExplanationStore store, TimeProvider time) : IJobHandler
{
    public const string KindName = "explain.global";
    public const int MaxRows = 2_000;
    private const int PermutationRepeats = 3;

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<GlobalExplanationPayload>();
        var version = await registry.GetVersionAsync(payload.VersionId, cancellationToken) ?? throw new NonRetryableJobException($"Model version {payload.VersionId} does not exist.");
        await context.ReportAsync(5, "loading the model", cancellationToken);
        var loaded = await LoadAsync(version, cancellationToken);
        using var model = loaded.Model;

        var explainer = model.Explainer ?? throw new NonRetryableJobException("This version was trained before explanations were stored; train it again.");
        await context.ReportAsync(15, "rebuilding the holdout", cancellationToken);
        // Through the page's cache: the version page's "Explain a validation row" then finds it rebuilt already.
        HoldoutData holdout;
        try
        {
            holdout = await holdouts.DataAsync(version, model, cancellationToken);
        }
        catch (HoldoutUnavailableException ex) when (ex.InnerException is not IOException)
        {
            // A file that could not be read may be readable on the next attempt; a missing run or column will not be.
            throw new NonRetryableJobException(ex.Message);
        }

        var (features, labels, rows) = holdout;
        var width = model.Features.SlotCount;
        // Evenly spaced rows across the holdout (which is in time order for a time split).
        var step = Math.Max(1, labels.Length / (double)MaxRows);
        var picked = Enumerable.Range(0, Math.Min(MaxRows, labels.Length)).Select(i => (int)(i * step)).Distinct().ToArray();

        await context.ReportAsync(35, $"explaining {picked.Length:N0} holdout rows", cancellationToken);
        var schema = model.Features.Schema;
        var contributions = new Dictionary<string, List<ContributionPoint>>();
        foreach (var r in picked)
        {
            var raw = rows.Row(r);
            foreach (var column in model.Attribution.Columns(explainer.Explain(features.AsSpan(r * width, width))))
            {
                if (!contributions.TryGetValue(column.Name, out var list)) contributions[column.Name] = list = [];
                list.Add(new ContributionPoint(Math.Round(column.Value, 6), schema.IndexOf(column.Name) is var i and >= 0 ? raw[i] : null));
            }
        }

        await context.ReportAsync(70, "permutation importance", cancellationToken);
        var (sample, truth) = Sample(features, labels, picked, width);
        var permutation = Permutation(model, sample, truth, width);
        await context.ReportAsync(85, "ML.NET permutation feature importance", cancellationToken);
        var mlNet = MlNetPermutation(loaded.Trained, model, sample, truth);
        var result = new GlobalExplanation(picked.Length, explainer.IsTreeShap ? "treeshap" : "linear", explainer.BaseValue,
            [.. contributions.Select(kv => new ColumnSummary(kv.Key, kv.Value.Average(p => Math.Abs(p.Contribution)), kv.Value)).OrderByDescending(c => c.MeanAbsolute)],
            permutation, time.GetUtcNow().UtcDateTime, mlNet);
        await store.SaveAsync(version.Id, result, cancellationToken);
        return new { rows = picked.Length, columns = result.Columns.Count };
    }

    private async Task<(ServingModel Model, TrainedModel Trained)> LoadAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        try
        {
            return await loader.LoadWithTrainedModelAsync(version, cancellationToken);
        }
        catch (ModelLoadException ex)
        {
            throw new NonRetryableJobException(ex.Message);
        }
    }

    private static (float[] Sample, bool[] Truth) Sample(float[] features, bool[] labels, int[] picked, int width)
    {
        var sample = new float[picked.Length * width];
        for (var k = 0; k < picked.Length; k++) features.AsSpan(picked[k] * width, width).CopyTo(sample.AsSpan(k * width, width));
        return (sample, [.. picked.Select(i => labels[i])]);
    }

    /// <summary>
    /// ML.NET's PFI on the same rows, by model input. Its ranking metric is on the model's raw score, which the
    /// serving recalibration (monotone) does not change. Empty when the rows hold one class only.
    /// </summary>
    private static List<PermutationImportance> MlNetPermutation(TrainedModel trained, ServingModel model, float[] sample, bool[] truth)
    {
        if (!truth.Contains(true) || !truth.Contains(false)) return [];
        return [.. trained.PermutationFeatureImportance(sample, truth, model.Features.SlotNames, PermutationRepeats)
            .Select(p => new PermutationImportance(p.Input, -p.Change, p.StandardDeviation))
            .OrderByDescending(p => p.Drop)];
    }

    /// <summary>
    /// PR-AUC drop when one input column's values (all its model inputs together, so a one-hot group stays
    /// one-hot) are shuffled across the rows, averaged over a few shuffles with a fixed seed.
    /// </summary>
    private static List<PermutationImportance> Permutation(ServingModel model, float[] sample, bool[] truth, int width)
    {
        var rows = truth.Length;
        if (!truth.Contains(true) || !truth.Contains(false)) return [];
        var probabilities = new double[rows];
        model.Probabilities(sample, rows, probabilities);
        var baseline = ClassificationMetrics.AveragePrecision(probabilities, truth);
        var slotsByColumn = Enumerable.Range(0, width).GroupBy(model.Attribution.ColumnOf);
        var random = new Random(7);
        var result = new List<PermutationImportance>();
        foreach (var group in slotsByColumn)
        {
            var drops = new List<double>();
            for (var repeat = 0; repeat < PermutationRepeats; repeat++)
            {
                var order = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).ToArray();
                var shuffled = (float[])sample.Clone();
                foreach (var slot in group)
                    for (var k = 0; k < rows; k++) shuffled[k * width + slot] = sample[order[k] * width + slot];
                model.Probabilities(shuffled, rows, probabilities);
                drops.Add(baseline - ClassificationMetrics.AveragePrecision(probabilities, truth));
            }

            var mean = drops.Average();
            result.Add(new PermutationImportance(group.Key, mean, Math.Sqrt(drops.Sum(d => (d - mean) * (d - mean)) / drops.Count)));
        }

        return [.. result.OrderByDescending(p => p.Drop)];
    }
}

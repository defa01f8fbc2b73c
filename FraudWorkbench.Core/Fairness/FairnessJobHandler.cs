using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// A version's fairness on its validation holdout: the holdout rebuilt and scored through the serving path (the same
/// rows and probabilities the gate and the explanations see), grouped by every protected column and their crossings.
/// </summary>
public sealed class FairnessJobHandler(
    RegistryStore registry, HoldoutExplainer holdouts, ModelLoader loader, FairnessStore store, IOptions<FairnessOptions> options, TimeProvider time) : IJobHandler
{
    public const string KindName = "fairness.holdout";

    public string Kind => KindName;

    public async Task<object?> ExecuteAsync(JobContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload<FairnessPayload>();
        var version = await registry.GetVersionAsync(payload.VersionId, cancellationToken) ?? throw new NonRetryableJobException($"Model version {payload.VersionId} does not exist.");
        await context.ReportAsync(5, "loading the model", cancellationToken);
        ServingModel model;
        try
        {
            model = await loader.LoadAsync(version, cancellationToken);
        }
        catch (ModelLoadException ex)
        {
            throw new NonRetryableJobException(ex.Message);
        }

        using (model)
        {
            await context.ReportAsync(15, "rebuilding and scoring the holdout", cancellationToken);
            HoldoutData holdout;
            try
            {
                holdout = await holdouts.DataAsync(version, model, cancellationToken);
            }
            catch (HoldoutUnavailableException ex) when (ex.InnerException is not IOException)
            {
                throw new NonRetryableJobException(ex.Message);
            }

            var (features, labels, packed) = holdout;
            var probabilities = new double[labels.Length];
            model.Probabilities(features, labels.Length, probabilities);
            var rows = Enumerable.Range(0, packed.Count).Select(packed.Row).ToList();
            var schema = model.Features.Schema;
            var settings = options.Value.Settings;

            await context.ReportAsync(40, $"group metrics with {settings.Resamples:N0} bootstrap resamples", cancellationToken);
            var (groupings, whatIf) = FairnessAnalysis.Evaluate(schema, rows, labels, probabilities, model.Threshold, settings, options.Value.MaxParallelism);
            var report = new FairnessReport(version.Id, version.ModelName, version.Version, "holdout", labels.Length, labels.LongCount(l => l), model.Threshold,
                FairnessAnalysis.ProtectedColumns(schema), settings, groupings, time.GetUtcNow().UtcDateTime, whatIf);
            await store.SaveAsync(report, cancellationToken);
            return new { rows = labels.Length, groupings = groupings.Count };
        }
    }
}

public sealed class FairnessJobSubjects(RegistryStore registry)
    : VersionJobSubjects<FairnessPayload>(registry, FairnessJobHandler.KindName, "Fairness", "fairness", p => p.VersionId);

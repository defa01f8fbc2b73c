using System.Text.Json;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;

namespace FraudWorkbench.Core.Scoring;

/// <summary>A model version that cannot be served: its artifacts are missing, corrupt or inconsistent.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads a model version for scoring. Every artifact is read through the artifact store, which checks its
/// SHA-256; the files must also match the version's checksum.sha256 list. Anything wrong refuses the load.
/// </summary>
public sealed class ModelLoader(TrainingRunStore runs, DatasetStore datasets, ArtifactStore artifacts, IOptions<ScoringOptions> options, ILogger<ModelLoader>? logger = null)
{
    public async Task<ServingModel> LoadAsync(ModelVersion version, CancellationToken cancellationToken = default) =>
        (await LoadAsync(version, withTrained: false, cancellationToken)).Model;

    /// <summary>
    /// The serving model and the ML.NET model its run trained, from one read of the artifacts (for ML.NET's own
    /// analyses, such as permutation feature importance, beside the serving path).
    /// </summary>
    public async Task<(ServingModel Model, TrainedModel Trained)> LoadWithTrainedModelAsync(ModelVersion version, CancellationToken cancellationToken = default)
    {
        var (model, trained) = await LoadAsync(version, withTrained: true, cancellationToken);
        return (model, trained!);
    }

    private async Task<(ServingModel Model, TrainedModel? Trained)> LoadAsync(ModelVersion version, bool withTrained, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(version.RunId, cancellationToken) ?? throw new ModelLoadException($"Training run {version.RunId} no longer exists.");
        var result = run.Result ?? throw new ModelLoadException($"Training run {run.Id} has no result.");
        var files = result.Artifacts ?? throw new ModelLoadException($"Training run {run.Id} stored no model files.");
        if (files.Features is null) throw new ModelLoadException($"Training run {run.Id} predates stored feature fits (features.json); train it again to serve it.");
        try
        {
            var listed = System.Text.Encoding.UTF8.GetString(await artifacts.ReadAllBytesAsync(files.Checksums, cancellationToken))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  ", 2)).ToDictionary(p => p[1], p => p[0]);
            foreach (var (name, sha) in files.FileNames.Where(f => f.Key != ModelArtifacts.ChecksumsName))
            {
                if (!listed.TryGetValue(name, out var expected) || expected != sha) throw new ModelLoadException($"{name} does not match checksum.sha256.");
            }

            var fitted = JsonSerializer.Deserialize<FittedFeatureSet>(await artifacts.ReadAllBytesAsync(files.Features, cancellationToken), DatasetSchema.Json)
                ?? throw new ModelLoadException("features.json is empty.");
            // The ML.NET model is read once, for whichever of the engine, the explainer and the caller needs it.
            Task<(MLContext, ITransformer)>? zip = null;
            Task<(MLContext, ITransformer)> Zip() => zip ??= LoadZipAsync(files, cancellationToken);
            var trainer = run.Config.Trainer?.Trainer ?? TrainerKind.LightGbm;
            async Task<TrainedModel> Trained()
            {
                var (ml, model) = await Zip();
                return new TrainedModel(ml, model, fitted.SlotCount, trainer);
            }

            var engine = await EngineAsync(files, fitted.SlotCount, Zip, cancellationToken);
            var dataset = await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken);
            ModelExplainer? explainer = null;
            try
            {
                if (files.Explainer is not null) explainer = await ExplainerAsync(files, Trained, cancellationToken);
            }
            catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException)
            {
                // Scoring does not need explanations: the version serves, without reasons.
                logger?.LogWarning("{Model} version {Version} serves without explanations: {Problem}", version.ModelName, version.Version, ex.Message);
            }

            var serving = new ServingModel(version.Id, version.ModelName, version.Version, run.FeatureSetVersionId, fitted, engine,
                result.Threshold.Threshold, result.Recalibration, new TransactionContract(fitted, dataset?.Profile), explainer);
            return (serving, withTrained ? await Trained() : null);
        }
        catch (Exception ex) when (ex is ArtifactCorruptedException or NotSupportedException or FileNotFoundException or DirectoryNotFoundException or JsonException or InvalidOperationException or FormatException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new ModelLoadException($"The artifacts of {version.ModelName} version {version.Version} failed verification: {ex.Message}", ex);
        }
    }

    private async Task<ModelExplainer> ExplainerAsync(ModelArtifacts files, Func<Task<TrainedModel>> trained, CancellationToken cancellationToken)
    {
        var data = JsonSerializer.Deserialize<ExplainerData>(await artifacts.ReadAllBytesAsync(files.Explainer!, cancellationToken), DatasetSchema.Json)
            ?? throw new ModelLoadException("explainer.json is empty.");
        return ModelExplainer.Create(await trained(), data);
    }

    private async Task<(MLContext, ITransformer)> LoadZipAsync(ModelArtifacts files, CancellationToken cancellationToken)
    {
        var ml = new MLContext(seed: 1);
        await using var zip = await artifacts.OpenReadAsync(files.ModelZip, cancellationToken);
        using var buffer = new MemoryStream();
        await zip.CopyToAsync(buffer, cancellationToken);
        buffer.Position = 0;
        return (ml, ml.Model.Load(buffer, out _));
    }

    private async Task<IScoringEngine> EngineAsync(ModelArtifacts files, int width, Func<Task<(MLContext, ITransformer)>> zip, CancellationToken cancellationToken)
    {
        var engine = options.Value.Engine;
        if (engine == ScoringEngineKind.Onnx && files.Onnx is null) throw new ModelLoadException("Scoring is configured for ONNX Runtime, but this model has no ONNX export: " + files.OnnxProblem);
        if (engine != ScoringEngineKind.MlNet && files.Onnx is not null)
        {
            return new OnnxScoringEngine(await artifacts.ReadAllBytesAsync(files.Onnx, cancellationToken), width);
        }

        var (ml, model) = await zip();
        return new MlNetScoringEngine(ml, model, width);
    }
}

using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// The scoring fixture with a quick shadow tailer (a pass every 1/4 s, 3 s behind now: the log's batches commit well
/// within that even on a busy test machine), and on demand a challenger whose recipes were refitted as a feature set
/// version of their own, as after a retraining.
/// </summary>
public sealed class ShadowFixture : ScoringFixture
{
    public static readonly TimeSpan Lag = TimeSpan.FromSeconds(3);

    private Task<(Guid FeatureSetVersion, Guid Run)>? refit;

    protected override IReadOnlyDictionary<string, string?> Settings() => new Dictionary<string, string?>
    {
        ["FraudWorkbench:Retraining:ShadowTailInterval"] = "00:00:00.250",
        ["FraudWorkbench:Retraining:ShadowTailLag"] = Lag.ToString(),
    };

    /// <summary>The recipes refitted as their own feature set version and a 15-tree run on it (made once, shared by the tests).</summary>
    public Task<(Guid FeatureSetVersion, Guid Run)> RefitAsync() => refit ??= TrainRefitAsync();

    private async Task<(Guid, Guid)> TrainRefitAsync()
    {
        var run = (await App.Get<TrainingRunStore>().GetAsync(StrongRun))!;
        var (featureSet, _) = await App.Get<FeatureSetService>().CreateAsync(
            new NewFeatureSet("shadow-refit-recipes", run.DatasetId, run.DatasetVersion, Training.SampleMatrixFixture.Definition), "test");
        Assert.NotEqual(FeatureSetVersion, featureSet.Id);
        var (runId, jobId) = await App.Get<TrainingService>().StartAsync(new TrainingRunRequest(run.DatasetId, run.DatasetVersion, featureSet.Id, new TrainerSettings(Trees: 15)), "test");
        Assert.Equal(JobStatus.Succeeded, (await WaitForJobAsync(jobId)).Status);
        return (featureSet.Id, runId);
    }
}

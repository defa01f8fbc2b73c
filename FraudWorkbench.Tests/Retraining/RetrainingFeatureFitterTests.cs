using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The feature step: the production version's definition refitted on the workflow's new dataset version.</summary>
[Trait("Category", "Database")]
[Collection(RetrainingDataCollection.Name)]
public sealed class RetrainingFeatureFitterTests(ScoringFixture fixture)
{
    [Fact]
    public async Task FitAsync_NewDatasetVersion_NewVersionOfTheChampionsFeatureSetAndItsBackfill()
    {
        const string model = "rt-features";
        var (_, v2, _) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy with { DataMode = RetrainingDataMode.Append }, v2.Id, RetrainingDataScenario.Now);
        var dataset = await RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, new FakeTimeProvider(new DateTimeOffset(RetrainingDataScenario.Now)))
            .BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        workflow = await RetrainingDataScenario.SetAsync(fixture, workflow, dataset);

        var before = DateTime.UtcNow;
        var result = await fixture.App.Get<RetrainingFeatureFitter>().FitAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        var after = DateTime.UtcNow;

        var featureSets = fixture.App.Get<FeatureSetStore>();
        var champion = (await featureSets.GetVersionAsync(fixture.FeatureSetVersion))!;
        var fitted = (await featureSets.GetVersionAsync(result.FeatureSetVersionId))!;
        Assert.True(result.Created);
        Assert.Equal(("scoring-recipes", champion.FeatureSetId), (fitted.Name, fitted.FeatureSetId));
        Assert.Equal((fitted.Version, fitted.Hash), (result.FeatureSetVersion, result.DefinitionHash));
        Assert.True(fitted.Version > champion.Version);
        Assert.Equal((dataset.DatasetId, dataset.DatasetVersion), (fitted.DatasetId, fitted.DatasetVersion));
        Assert.Equal(JsonSerializer.Serialize(champion.Definition, DatasetSchema.Json), JsonSerializer.Serialize(fitted.Definition, DatasetSchema.Json));
        Assert.Equal(RetrainingTraffic.Actor, fitted.CreatedBy);
        // Fitted on the new rows: the original 40,000 and the 30 traffic rows, with the prediction_id column in its schema.
        Assert.Equal("prediction_id", fitted.Fitted.Schema.Columns[^1].Name);

        // The recipe has velocity and entity ratios: the step itself replays the original rows and the window's traffic into
        // the new version's entity histories (no job to wait for).
        await fixture.App.Get<EntityStateStore>().FlushAsync();
        await using (var connection = new Npgsql.NpgsqlConnection(fixture.App.ConnectionString))
        {
            var stored = await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, "SELECT count(*) FROM entity_state WHERE feature_set_version_id = @id", new { id = fitted.Id });
            Assert.True(stored > 0, "no entity history stored for the challenger's feature set version");
        }

        // The shadow tailer takes the histories on from the step's cut in the log: now less the tailer's lag, before any id.
        var lag = fixture.App.Get<Microsoft.Extensions.Options.IOptions<RetrainingOptions>>().Value.ShadowTailLag;
        var position = (await fixture.App.Get<ShadowStore>().PositionAsync(workflow.Id))!.Value;
        Assert.Equal(Guid.Empty, position.Id);
        Assert.InRange(position.CreatedAt, LogPosition.Microseconds(before - lag), after - lag);

        // Fitting again (a retried step) finds the same version instead of making another.
        var again = await fixture.App.Get<RetrainingFeatureFitter>().FitAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);
        Assert.Equal((fitted.Id, false), (again.FeatureSetVersionId, again.Created));
    }
}

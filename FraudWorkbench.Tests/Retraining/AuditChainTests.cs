using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

[Trait("Category", "Database")]
public sealed class AuditChainTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    [Fact]
    public async Task BuildAsync_PromotedVersion_LinksEveryChecksumAndItsHashIsTheDocumentsSha256()
    {
        var version = await fixture.RegisterAndPromoteAsync("audit-promoted", fixture.StrongRun);
        var run = (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.StrongRun))!;
        var dataset = (await fixture.App.Get<DatasetStore>().GetVersionAsync(run.DatasetId, run.DatasetVersion))!;
        var features = (await fixture.App.Get<FeatureSetStore>().GetVersionAsync(run.FeatureSetVersionId))!;

        var chain = (await fixture.App.Get<AuditChainBuilder>().BuildAsync("audit-promoted", version.Version))!;

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(chain.Json))), chain.Sha256);
        Assert.Equal(("audit-promoted", version.Version), (chain.ModelName, chain.Version));
        Assert.Contains("\n  \"model\"", chain.Json); // indented
        var root = JsonDocument.Parse(chain.Json).RootElement;
        Assert.Equal(ModelStage.Production, root.GetProperty("model").GetProperty("stage").GetString());
        Assert.Equal(version.Id, root.GetProperty("model").GetProperty("versionId").GetGuid());
        Assert.Equal(run.Id, root.GetProperty("trainingRun").GetProperty("id").GetGuid());
        Assert.Equal("test", root.GetProperty("trainingRun").GetProperty("createdBy").GetString());
        var datasetNode = root.GetProperty("datasetVersion");
        Assert.Equal(dataset.Checksum, datasetNode.GetProperty("checksum").GetString());
        Assert.Equal(dataset.RowCount, datasetNode.GetProperty("rows").GetInt64());
        Assert.Equal("scoring-sample", datasetNode.GetProperty("dataset").GetString());
        Assert.Equal(features.Hash, root.GetProperty("featureSetVersion").GetProperty("definitionHash").GetString());
        Assert.Equal(features.Id, root.GetProperty("featureSetVersion").GetProperty("id").GetGuid());
        var artifacts = root.GetProperty("artifacts").EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("sha256").GetString()!);
        Assert.Equal(run.Result!.Artifacts!.FileNames.OrderBy(f => f.Key), artifacts.OrderBy(f => f.Key));
        Assert.Contains(ModelArtifacts.ModelZipName, artifacts.Keys);
        Assert.All(artifacts.Values, sha => Assert.Matches("^[0-9a-f]{64}$", sha));
        Assert.Equal(GateStatus.Passed, root.GetProperty("gate").GetProperty("status").GetString());
        Assert.True(root.GetProperty("gate").GetProperty("result").GetProperty("passed").GetBoolean());
        var promotion = root.GetProperty("stageHistory").EnumerateArray().Last();
        Assert.Equal((ModelStage.Production, "test", "test"), (promotion.GetProperty("to").GetString(), promotion.GetProperty("actor").GetString(), promotion.GetProperty("reason").GetString()));
        var actions = root.GetProperty("auditLog").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("model-version.register", actions);
        Assert.Contains("model-version.stage", actions);
        Assert.Contains("training-run.create", actions);
        Assert.Contains("dataset.version.create", actions);
        Assert.Empty(root.GetProperty("retraining").EnumerateArray());
    }

    [Fact]
    public async Task BuildAsync_Unchanged_SameBytesAndHashTwice_AndAChangeChangesTheHash()
    {
        var version = await fixture.RegisterAsync("audit-stable", fixture.WeakRun, ScoringFixture.LenientGate);
        var builder = fixture.App.Get<AuditChainBuilder>();

        var first = (await builder.BuildAsync("audit-stable", version.Version))!;
        var second = (await builder.BuildAsync("AUDIT-STABLE", version.Version))!;

        Assert.Equal(first.Json, second.Json);
        Assert.Equal(first.Sha256, second.Sha256);
        await fixture.App.Get<RegistryService>().PromoteAsync(version, ModelStage.Staging, "for the auditors", "reviewer@example.com");
        var third = (await builder.BuildAsync("audit-stable", version.Version))!;
        Assert.NotEqual(first.Sha256, third.Sha256);
    }

    [Fact]
    public async Task BuildAsync_VersionFromAWorkflow_CarriesItsDecisionAndTheDatasetLineage()
    {
        var version = await fixture.RegisterAsync("audit-retrained", fixture.WeakRun, ScoringFixture.LenientGate);
        var run = (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.WeakRun))!;
        var dataset = (await fixture.App.Get<DatasetStore>().GetVersionAsync(run.DatasetId, run.DatasetVersion))!;
        var workflow = Guid.CreateVersion7();
        var at = new DateTime(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);
        // The rows the engine and the dataset step would have written (columns per 0026); the lineage names the run's own
        // dataset version as built from traffic, with itself as the base, which is enough to see both checksums linked.
        await using (var connection = new NpgsqlConnection(fixture.App.ConnectionString))
        {
            await connection.ExecuteAsync("""
                INSERT INTO retraining_workflows (id, registered_model_id, model_name, trigger_kind, trigger_detail, policy, status, step,
                    candidate_version_id, decision, decided_by, decided_at, decision_comment, created_by, created_at, updated_at)
                VALUES (@workflow, @modelId, 'audit-retrained', 'manual', 'Retrain now', '{}'::jsonb, 'rejected', 'approval',
                    @versionId, 'rejected', 'admin@example.com', @at, 'recall too low on the holdout', 'admin@example.com', @at, @at);
                INSERT INTO retraining_dataset_lineage (dataset_version_id, workflow_id, registered_model_id, source_version_ids, window_from, window_to,
                    mode, base_dataset_version_id, base_rows, predictions, fraud_labelled, legit_labelled, legit_by_window, left_out, prediction_ids_sha256, created_at)
                VALUES (@datasetVersionId, @workflow, @modelId, @sources, @at, @at, 'append', @datasetVersionId, 10, 20, 3, 12, 5, 4, @sha, @at);
                """, new
            {
                workflow, modelId = version.RegisteredModelId, versionId = version.Id, at, datasetVersionId = dataset.Id,
                sources = new[] { version.Id }, sha = new string('a', 64),
            });
        }

        var chain = (await fixture.App.Get<AuditChainBuilder>().BuildAsync("audit-retrained", version.Version))!;

        var root = JsonDocument.Parse(chain.Json).RootElement;
        var retraining = Assert.Single(root.GetProperty("retraining").EnumerateArray());
        Assert.Equal(workflow, retraining.GetProperty("id").GetGuid());
        Assert.Equal(("manual", "rejected", "admin@example.com", "recall too low on the holdout"), (retraining.GetProperty("trigger").GetProperty("kind").GetString(),
            retraining.GetProperty("decision").GetString(), retraining.GetProperty("decidedBy").GetString(), retraining.GetProperty("comment").GetString()));
        var lineage = root.GetProperty("datasetVersion").GetProperty("lineage");
        Assert.Equal(new string('a', 64), lineage.GetProperty("predictionIdsSha256").GetString());
        Assert.Equal(workflow, lineage.GetProperty("workflowId").GetGuid());
        Assert.Equal(dataset.Checksum, lineage.GetProperty("baseDatasetVersion").GetProperty("checksum").GetString());
        Assert.Equal(20, lineage.GetProperty("predictions").GetInt64());
    }

    [Fact]
    public async Task BuildAsync_UnknownModelOrVersion_Null()
    {
        var builder = fixture.App.Get<AuditChainBuilder>();

        Assert.Null(await builder.BuildAsync("no-such-model", 1));
        await fixture.RegisterAsync("audit-unknown", fixture.WeakRun, ScoringFixture.LenientGate);
        Assert.Null(await builder.BuildAsync("audit-unknown", 99));
    }
}

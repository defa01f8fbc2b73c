using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class RegistryApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private HttpClient Client(string? key = null) => fixture.Client(key);

    private static async Task<T> Read<T>(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<T>(DatasetSchema.Json))!;

    [Fact]
    public async Task RegisterVersion_Api_CandidateWithLineageThenGatePasses()
    {
        using var client = Client();
        await fixture.RegisterAsync("api-register", fixture.StrongRun, ScoringFixture.LenientGate); // version 1, sets the gate

        var response = await client.PostAsJsonAsync("/api/v1/models/api-register/versions", new RegisterVersionRequest(fixture.WeakRun, ["weekly"], "15 trees"), DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await Read<ModelVersionResponse>(response);
        Assert.Equal(2, created.Version);
        Assert.Equal(ModelStage.Candidate, created.Stage);
        Assert.Equal(GateStatus.Pending, created.GateStatus);
        Assert.Equal(fixture.WeakRun, created.Lineage!.RunId);
        Assert.Equal(64, created.Lineage.DatasetChecksum!.Length);
        Assert.Equal(fixture.FeatureSetVersion, created.Lineage.FeatureSetVersionId);
        var job = await fixture.WaitForJobAsync((await fixture.App.Get<RegistryStore>().GetVersionAsync(created.Id))!.GateJobId!.Value);
        Assert.Equal(JobStatus.Succeeded, job.Status);

        var model = await client.GetFromJsonAsync<ModelResponse>("/api/v1/models/api-register", DatasetSchema.Json);
        var v2 = model!.Versions.Single(v => v.Version == 2);
        Assert.Equal(GateStatus.Passed, v2.GateStatus);
        Assert.Equal(["weekly"], v2.Tags);
        // No production version yet: baselines only, on the 30 % time holdout with labels (12,000 rows).
        Assert.All(v2.Gate!.Checks, c => Assert.Equal("baseline", c.Kind));
        Assert.Equal(12_000, v2.Gate.HoldoutRows);
        // The gate re-scored the holdout through the serving path: the same PR-AUC the run measured.
        Assert.Equal(v2.Metrics!.AveragePrecision, v2.Gate.Candidate.AveragePrecision, 4);
        var list = await client.GetFromJsonAsync<List<RegisteredModelSummary>>("/api/v1/models", DatasetSchema.Json);
        Assert.Contains(list!, m => m.Name == "api-register" && m.Versions == 2 && m.LatestVersion == 2 && m.ProductionVersion is null);
    }

    [Fact]
    public async Task RegisterVersion_UnfinishedOrUnknownRunOrBadName_400NamingTheField()
    {
        using var client = Client();
        var unknown = await client.PostAsJsonAsync("/api/v1/models/bad-input/versions", new RegisterVersionRequest(Guid.NewGuid()), DatasetSchema.Json);
        var badName = await client.PostAsJsonAsync("/api/v1/models/bad%20name!/versions", new RegisterVersionRequest(fixture.StrongRun), DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("runId", (await Read<JsonElement>(unknown)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal("name", (await Read<JsonElement>(badName)).GetProperty("field").GetString());
        Assert.Null(await fixture.App.Get<RegistryStore>().GetModelAsync("bad-input"));
    }

    [Fact]
    public async Task Promote_FailedGate_409_AdminOverrideNeedsReason_ThenPromotesAndAudits()
    {
        var strict = new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.99)], [], 0.01, 0.05);
        var version = await fixture.RegisterAsync("strict-gate", fixture.StrongRun, strict);
        Assert.Equal(GateStatus.Failed, version.GateStatus);
        var check = Assert.Single(version.GateResult!.Checks);
        Assert.False(check.Passed);
        Assert.Equal(0.99, check.Reference);
        using var client = Client();

        var refused = await client.PostAsJsonAsync("/api/v1/models/strict-gate/versions/1/promote", new PromoteRequest(), DatasetSchema.Json);
        var noReason = await client.PostAsJsonAsync("/api/v1/models/strict-gate/versions/1/gate/override", new ReasonRequest(""), DatasetSchema.Json);
        var (_, writerSecret) = await fixture.App.Get<ApiKeyStore>().CreateAsync("writer-not-admin", [Scopes.Write, Scopes.Read], null, "test");
        using var writer = Client(writerSecret);
        var notAdmin = await writer.PostAsJsonAsync("/api/v1/models/strict-gate/versions/1/gate/override", new ReasonRequest("business accepts the risk for the launch"), DatasetSchema.Json);
        var overridden = await client.PostAsJsonAsync("/api/v1/models/strict-gate/versions/1/gate/override", new ReasonRequest("business accepts the risk for the launch"), DatasetSchema.Json);
        var promoted = await client.PostAsJsonAsync("/api/v1/models/strict-gate/versions/1/promote", new PromoteRequest(), DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("validation gate", (await Read<JsonElement>(refused)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, overridden.StatusCode);
        Assert.Equal(GateStatus.Overridden, (await Read<ModelVersionResponse>(overridden)).GateStatus);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.Equal(ModelStage.Production, (await Read<ModelVersionResponse>(promoted)).Stage);
        await using var connection = new NpgsqlConnection(fixture.App.ConnectionString);
        var audit = (await connection.QueryAsync<string>("SELECT summary::text FROM audit_log WHERE action = 'model-version.gate-override' AND object_id = @id", new { id = version.Id.ToString() })).Single();
        Assert.Contains("business accepts the risk", audit);
    }

    [Fact]
    public async Task Gate_ChallengerWorseThanProduction_FailsChampionCheck_BetterOnePasses()
    {
        // Champion margins only (no baselines): 15 trees against 40 on the same holdout.
        var gate = new GateSettings([], [GateMetric.RocAuc], MaxAbsoluteDrop: 0.0, MaxRelativeDrop: 0.0);
        var champion = await fixture.RegisterAsync("champion-test", fixture.StrongRun, gate);
        champion = await fixture.App.Get<RegistryService>().PromoteAsync(champion, ModelStage.Production, null, "test");

        var weaker = await fixture.RegisterAsync("champion-test", fixture.WeakRun);
        var same = await fixture.RegisterAsync("champion-test", fixture.StrongRun);

        var weakCheck = Assert.Single(weaker.GateResult!.Checks);
        Assert.Equal("champion", weakCheck.Kind);
        Assert.Equal(champion.Id, weaker.GateResult.ChampionVersionId);
        Assert.Equal(weaker.GateResult.Champion!.RocAuc, weakCheck.Reference!.Value, 12);
        Assert.Equal(weakCheck.Candidate < weakCheck.Reference, !weakCheck.Passed);
        // The same model scored on the same holdout ties its champion exactly, which a zero margin allows.
        var sameCheck = Assert.Single(same.GateResult!.Checks);
        Assert.Equal(sameCheck.Reference!.Value, sameCheck.Candidate!.Value, 12);
        Assert.True(sameCheck.Passed);
        Assert.Equal(GateStatus.Passed, same.GateStatus);
    }

    [Fact]
    public async Task PromoteAndRollback_SwitchServingAtOnce_HistoryRecordsBoth()
    {
        var v1 = await fixture.RegisterAndPromoteAsync("rollback-test", fixture.StrongRun);
        var v2 = await fixture.RegisterAsync("rollback-test", fixture.WeakRun);
        await fixture.App.Get<RegistryService>().PromoteAsync(v2, ModelStage.Production, "weekly refresh", "test");
        var server = fixture.App.Get<ModelServer>();
        Assert.Equal(2, server.Current("rollback-test")!.Version);
        using var client = Client();

        var response = await client.PostAsJsonAsync("/api/v1/models/rollback-test/rollback", new ReasonRequest("alert volume doubled"), DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await Read<ModelVersionResponse>(response)).Version);
        Assert.Equal(1, server.Current("rollback-test")!.Version);
        var model = await client.GetFromJsonAsync<ModelResponse>("/api/v1/models/rollback-test", DatasetSchema.Json);
        Assert.Equal(ModelStage.Archived, model!.Versions.Single(v => v.Version == 2).Stage);
        Assert.Equal(ModelStage.Production, model.Versions.Single(v => v.Version == 1).Stage);
        Assert.Contains(model.History, h => h.Version == 1 && h.ToStage == ModelStage.Production && h.Reason!.Contains("rollback from version 2: alert volume doubled"));
        Assert.Equal(v1.Id, model.Versions.Single(v => v.Version == 1).Id);
    }

    [Fact]
    public async Task Promote_CorruptArtifact_RefusedWithIncident_PreviousKeepsServing()
    {
        await fixture.RegisterAndPromoteAsync("corrupt-test", fixture.StrongRun);
        // A second version trained separately, whose model file is then damaged on disk.
        var (runId, jobId) = await fixture.App.Get<TrainingService>().StartAsync(new TrainingRunRequest(
            (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.StrongRun))!.DatasetId, 1, fixture.FeatureSetVersion, new TrainerSettings(Trees: 12, Seed: 7)), "test");
        Assert.Equal(JobStatus.Succeeded, (await fixture.WaitForJobAsync(jobId)).Status);
        var v2 = await fixture.RegisterAsync("corrupt-test", runId);
        var files = (await fixture.App.Get<TrainingRunStore>().GetAsync(runId))!.Result!.Artifacts!;
        var path = fixture.App.Get<ArtifactStore>().PathFor(files.Onnx ?? files.ModelZip);
        Assert.True(File.Exists(path), path);
        await File.AppendAllTextAsync(path, "tampered");
        using var client = Client();

        var response = await client.PostAsJsonAsync("/api/v1/models/corrupt-test/versions/2/promote", new PromoteRequest(), DatasetSchema.Json);
        var score = await client.PostAsJsonAsync("/api/v1/predict", new { model = "corrupt-test", transaction = fixture.Transaction(5) });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("keeps serving", (await Read<JsonElement>(response)).GetProperty("detail").GetString());
        var incidents = await fixture.App.Get<RegistryStore>().IncidentsAsync("model-version", v2.Id.ToString());
        Assert.Contains(incidents, i => i.Kind == "artifact-verification");
        Assert.Equal(ModelStage.Candidate, (await fixture.App.Get<RegistryStore>().GetVersionAsync(v2.Id))!.Stage);
        Assert.Equal(HttpStatusCode.OK, score.StatusCode);
        Assert.Equal(1, (await Read<PredictionResponse>(score)).Version);
    }

    [Fact]
    public async Task Promote_UnderConcurrentScoring_NoRequestFails()
    {
        await fixture.RegisterAndPromoteAsync("switch-test", fixture.StrongRun);
        var v2 = await fixture.RegisterAsync("switch-test", fixture.WeakRun);
        using var client = Client();
        using var stop = new CancellationTokenSource();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<(HttpStatusCode Status, int Version)>();
        var scorers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var response = await client.PostAsJsonAsync("/api/v1/predict", new { model = "switch-test", transaction = fixture.Transaction(100 * w + i % 100) });
                statuses.Add((response.StatusCode, response.IsSuccessStatusCode ? (await Read<PredictionResponse>(response)).Version : 0));
            }
        })).ToList();

        await Task.Delay(500);
        await fixture.App.Get<RegistryService>().PromoteAsync(v2, ModelStage.Production, "switch under load", "test");
        await Task.Delay(500);
        var rolledBack = await client.PostAsJsonAsync("/api/v1/models/switch-test/rollback", new ReasonRequest(), DatasetSchema.Json);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(scorers);

        Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        Assert.True(statuses.Count > 20, $"only {statuses.Count} requests");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s.Status));
        var versions = statuses.Select(s => s.Version).ToList();
        Assert.Contains(1, versions);
        Assert.Contains(2, versions);
    }

    [Fact]
    public async Task DescribeJobs_JobsOfTheWholeFlow_ReadableTitlesLinkingTheirSubjects()
    {
        var version = await fixture.RegisterAsync("subjects-check", fixture.StrongRun, ScoringFixture.LenientGate);
        var runs = fixture.App.Get<TrainingRunStore>();
        var run = (await runs.GetAsync(fixture.StrongRun))!;
        var featureSet = (await fixture.App.Get<FraudWorkbench.Core.Features.FeatureSetStore>().GetVersionAsync(fixture.FeatureSetVersion))!;
        var datasetId = Guid.NewGuid();
        Job Synthetic(string kind, object payload, object? result = null) => new(
            Guid.NewGuid(), kind, JsonSerializer.Serialize(payload, FraudWorkbench.Core.Events.EventHub.JsonOptions), JobStatus.Succeeded, 100, null, 1, 3, false, null, null, null,
            result is null ? null : JsonSerializer.Serialize(result, FraudWorkbench.Core.Events.EventHub.JsonOptions), "test", DateTime.UtcNow, null, null);
        var fit = Synthetic("features.fit", new FraudWorkbench.Core.Features.NewFeatureSet("velocity", run.DatasetId, 1, featureSet.Definition), new { featureSetId = featureSet.FeatureSetId });
        var backfill = Synthetic("features.backfill", new FraudWorkbench.Core.Features.FeatureBackfillRequest(featureSet.Id));
        var upload = Synthetic("dataset.ingest", new { name = "card-fraud" }, new DatasetIngestOutcome(datasetId, "card-fraud", 2, 10, false));
        var pendingUpload = Synthetic("dataset.ingest", new { name = "census" });
        var unknown = Synthetic("monitoring.drift_window", new { });
        var training = (await fixture.App.Get<JobStore>().GetAsync(run.JobId))!;
        var gate = (await fixture.App.Get<JobStore>().GetAsync(version.GateJobId!.Value))!;

        var subjects = await fixture.App.Get<JobSubjects>().DescribeAsync([training, gate, fit, backfill, upload, pendingUpload, unknown]);

        Assert.Equal(new JobSubject("Training run lightgbm · scoring-sample v1", $"training/{run.Id}"), subjects[training.Id]);
        Assert.Equal(new JobSubject("Validation gate · subjects-check v1", "models/subjects-check/versions/1?tab=gate"), subjects[gate.Id]);
        Assert.Equal(new JobSubject("Feature set velocity · fit on scoring-sample v1", $"features/{featureSet.FeatureSetId}"), subjects[fit.Id]);
        Assert.Equal(new JobSubject("Entity history backfill · scoring-recipes v1", $"features/{featureSet.FeatureSetId}"), subjects[backfill.Id]);
        Assert.Equal(new JobSubject("Upload card-fraud → v2", $"datasets/{datasetId}"), subjects[upload.Id]);
        Assert.Equal(new JobSubject("Upload census", null), subjects[pendingUpload.Id]);
        Assert.Equal(new JobSubject("Monitoring drift window", null), subjects[unknown.Id]);
    }
}

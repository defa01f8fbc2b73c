using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Tests.Scoring;

[Trait("Category", "Database")]
public sealed class ModelServerTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    [Fact]
    public async Task Start_CorruptProductionArtifact_RefusedOnceAndPreviousVerifiedVersionServes()
    {
        // fallback-test: version 1 (40 trees) was production, version 2 (15 trees) is. no-fallback: only version 1 (15 trees), ever.
        var v1 = await fixture.RegisterAndPromoteAsync("fallback-test", fixture.StrongRun);
        var v2 = await fixture.RegisterAsync("fallback-test", fixture.WeakRun);
        v2 = await fixture.App.Get<RegistryService>().PromoteAsync(v2, ModelStage.Production, "weekly refresh", "test");
        var lone = await fixture.RegisterAndPromoteAsync("no-fallback", fixture.WeakRun);
        // Both versions trained by the 15-tree run: its model file is damaged on disk before the next instance starts.
        var files = (await fixture.App.Get<TrainingRunStore>().GetAsync(fixture.WeakRun))!.Result!.Artifacts!;
        await File.AppendAllTextAsync(fixture.App.Get<ArtifactStore>().PathFor(files.ModelZip), "tampered");

        await using var second = new WorkbenchAppFactory(fixture.App.ConnectionString, new Dictionary<string, string?> { ["FraudWorkbench:DataDirectory"] = fixture.App.DataDirectory });
        second.StartServer();
        await second.Get<ModelServer>().Preloaded.WaitAsync(TimeSpan.FromSeconds(60));
        using var client = second.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        var served = new List<(HttpStatusCode Status, int Version)>();
        for (var i = 0; i < 20; i++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/predict", new { model = "fallback-test", transaction = fixture.Transaction(i) });
            served.Add((response.StatusCode, response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<PredictionResponse>(DatasetSchema.Json))!.Version : 0));
        }

        var unserved = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++) unserved.Add((await client.PostAsJsonAsync("/api/v1/predict", new { model = "no-fallback", transaction = fixture.Transaction(i) })).StatusCode);
        var readyWithNothingServing = await client.GetAsync("/readyz");
        var models = (await second.Get<HealthCheckService>().CheckHealthAsync(c => c.Name == "models")).Entries["models"];
        var page = await client.GetStringAsync("/models/fallback-test");

        Assert.All(served, s => Assert.Equal((HttpStatusCode.OK, 1), s));
        Assert.All(unserved, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        var registry = second.Get<RegistryStore>();
        Assert.Single(await registry.IncidentsAsync("model-version", v2.Id.ToString()));
        Assert.Single(await registry.IncidentsAsync("model-version", lone.Id.ToString()));
        Assert.Empty(await registry.IncidentsAsync("model-version", v1.Id.ToString()));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyWithNothingServing.StatusCode);
        Assert.Equal(HealthStatus.Unhealthy, models.Status);
        Assert.Contains("no-fallback: version 1 is production but its artifacts failed verification", models.Description);
        Assert.Contains("fallback-test: version 2 is production but its artifacts failed verification", models.Description);
        Assert.Contains("serving version 1", models.Description);
        Assert.Contains("data-testid=\"serving-fault\"", page);
        Assert.Contains("Version 2 is production but its artifacts failed verification", page);
        Assert.Contains("serving version 1, the previous production version that verifies", page);

        // With no-fallback out of production, every production model has a verified version serving: ready, degraded.
        await second.Get<RegistryService>().PromoteAsync(lone, ModelStage.Archived, "artifact lost", "test");
        await Wait.UntilAsync(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, what: "ready once no-fallback left production");
        models = (await second.Get<HealthCheckService>().CheckHealthAsync(c => c.Name == "models")).Entries["models"];
        Assert.Equal(HealthStatus.Degraded, models.Status);
        Assert.DoesNotContain("no-fallback", models.Description);
        Assert.Equal(1, second.Get<ModelServer>().Current("fallback-test")!.Version);
        Assert.Single(await registry.IncidentsAsync("model-version", v2.Id.ToString()));
    }
}

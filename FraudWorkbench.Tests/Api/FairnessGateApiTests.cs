using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Tests.Scoring;
using static FraudWorkbench.Core.Fairness.DisparityName;

namespace FraudWorkbench.Tests.Api;

/// <summary>The fairness part of the validation gate, end to end: limits set over the API, judged by the gate job on the sample holdout.</summary>
[Trait("Category", "Database")]
public sealed class FairnessGateApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    [Fact]
    public async Task Gate_LimitsAndNonRegression_JudgedOnIntervalsOfTheVersionsOwnReport()
    {
        const string model = "fair-gate";
        var production = await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        using var client = fixture.Client();
        // Between groups a difference is max − min ≥ 0, and a resampled one is almost never 0: "at most 0" must fail on its interval.
        // A ratio is always at least 0: that limit passes for every protected column. A grouping the data does not have cannot be judged.
        var gate = new FairnessGateSettings(
            [new(DemographicParity, Difference, 0, Grouping: "customer_gender"), new(DemographicParity, Ratio, 0), new(EqualizedOdds, Ratio, 0.8, Grouping: "customer_region")],
            NonRegression: true, MaxRegression: 0.02);
        var saved = await client.PutAsJsonAsync($"/api/v1/models/{model}/fairness/gate", gate, DatasetSchema.Json);
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);

        var candidate = await fixture.RegisterAsync(model, fixture.StrongRun);

        Assert.Equal(GateStatus.Failed, candidate.GateStatus); // a failure outweighs the inconclusive check
        var checks = candidate.GateResult!.Checks.Where(c => c.Kind.StartsWith("fairness", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            ["fairness customer_gender", "fairness customer_age", "fairness customer_gender", "fairness customer_region",
             "fairness-regression customer_gender", "fairness-regression customer_age", "fairness-regression customer_gender", "fairness-regression customer_region"],
            checks.Select(c => $"{c.Kind} {c.Subject}"));
        Assert.Equal([false, true, true, false, true, true, true, false], checks.Select(c => c.Passed));
        Assert.Equal([false, false, false, true, false, false, false, true], checks.Select(c => c.Inconclusive));

        // The numbers are the version's own report, computed with the gate on the same rows.
        var report = (await client.GetFromJsonAsync<FairnessResponse>($"/api/v1/models/{model}/versions/{candidate.Version}/fairness", DatasetSchema.Json))!.Report!;
        Assert.Equal(candidate.GateResult.HoldoutRows, report.Rows);
        var dp = report.Groupings.Single(g => g.Name == "customer_gender").Disparities
            .Single(d => d.Name == DemographicParity && d.Kind == Difference && d.Method == BetweenGroups && d.Aggregation is null).Value;
        Assert.Equal((dp.Value, dp.Lower, dp.Upper), (checks[0].Candidate, checks[0].Lower, checks[0].Upper));
        Assert.True(checks[0].Lower > 0, $"{checks[0].Lower}");
        // The production version is the same trained model, so on the same rows its disparities are the candidate's exactly.
        Assert.Equal(checks[4].Candidate, checks[4].Reference);
        Assert.Equal(production.Version, candidate.GateResult.ChampionVersion);
    }

    [Fact]
    public async Task Gate_OnlyAnInconclusiveCheck_BlocksPromotionUntilAnAdminOverrides()
    {
        const string model = "fair-gate-inconclusive";
        await fixture.RegisterAsync(model, fixture.StrongRun, ScoringFixture.LenientGate);
        using var client = fixture.Client();
        var gate = new FairnessGateSettings([new(DemographicParity, Ratio, 0.8, Grouping: "customer_gender × customer_region")]);
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/v1/models/{model}/fairness/gate", gate, DatasetSchema.Json)).StatusCode);

        var version = await fixture.RegisterAsync(model, fixture.StrongRun);
        var refused = await client.PostAsJsonAsync($"/api/v1/models/{model}/versions/{version.Version}/promote", new PromoteRequest(), DatasetSchema.Json);
        var overridden = await client.PostAsJsonAsync($"/api/v1/models/{model}/versions/{version.Version}/gate/override",
            new ReasonRequest("region is not collected yet; reviewed by the fairness board"), DatasetSchema.Json);
        var promoted = await client.PostAsJsonAsync($"/api/v1/models/{model}/versions/{version.Version}/promote", new PromoteRequest(), DatasetSchema.Json);

        Assert.Equal(GateStatus.Inconclusive, version.GateStatus);
        var check = Assert.Single(version.GateResult!.Checks, c => c.Inconclusive);
        Assert.Contains("no protected grouping \"customer_gender × customer_region\"", check.Rule, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("(inconclusive)", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, overridden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
    }

    [Fact]
    public async Task PutGate_BadLimitOrReadOnlyKeyOrUnknownModel_400NamingField403Or404_AuditedWhenSaved()
    {
        const string model = "fair-gate-input";
        var first = await fixture.RegisterAsync(model, fixture.StrongRun, ScoringFixture.LenientGate);
        using var client = fixture.Client();
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("fairness-gate-reader", [Scopes.Read], null, "test");
        using var readOnly = fixture.Client(reader);
        var url = $"/api/v1/models/{model}/fairness/gate";

        var bad = await client.PutAsJsonAsync(url, new { limits = new[] { new { disparity = DemographicParity, kind = "quotient", threshold = 0.8 } } });
        var refused = await readOnly.PutAsJsonAsync(url, FairnessGateSettings.None, DatasetSchema.Json);
        var unknown = await client.GetAsync("/api/v1/models/no-such-model/fairness/gate");
        var empty = await readOnly.GetFromJsonAsync<FairnessGateSettings>(url, DatasetSchema.Json);
        var saved = await client.PutAsJsonAsync(url, new FairnessGateSettings(FairnessGateSettings.Suggested, NonRegression: true), DatasetSchema.Json);

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("limits[0].kind", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(empty!.Limits);
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var read = await readOnly.GetFromJsonAsync<FairnessGateSettings>(url, DatasetSchema.Json);
        Assert.Equal([0.8, 0.1], read!.Limits.Select(l => l.Threshold));
        Assert.True(read.NonRegression);
        var (audit, _) = await fixture.App.Get<AuditLog>().PageAsync(0, 5, new AuditFilter(Action: "fairness.gate-update"));
        Assert.Contains(audit, a => a.ObjectId == first.RegisteredModelId.ToString() && a.Summary!.Contains("\"threshold\": 0.8", StringComparison.Ordinal) && !a.Summary.Contains("title", StringComparison.Ordinal));
    }
}

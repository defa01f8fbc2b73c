using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class FairnessApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private const string Model = "cnp-fairness";

    [Fact]
    public async Task ComputeThenGet_SampleHoldout_GroupsByGenderAgeAndBothWithRatesAsCountedByHand()
    {
        var version = await fixture.RegisterAsync(Model, fixture.StrongRun);
        using var client = fixture.Client();
        // Registration computed the report with the gate, on the gate's rows; asking again recomputes it by its own job.
        var atRegistration = await client.GetFromJsonAsync<JsonElement>($"/api/v1/models/{Model}/versions/{version.Version}/fairness");
        Assert.Equal(version.GateJobId, atRegistration.GetProperty("jobId").GetGuid());
        var gateRows = atRegistration.GetProperty("report").GetProperty("rows").GetInt32();
        Assert.Equal(version.GateResult!.HoldoutRows, gateRows);

        var started = await client.PostAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness", null);

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        Assert.Equal(Core.Jobs.JobStatus.Succeeded, (await fixture.WaitForJobAsync(jobId, 300)).Status);
        var response = await client.GetAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("report");
        var groupings = report.GetProperty("groupings").EnumerateArray().ToDictionary(g => g.GetProperty("name").GetString()!);
        Assert.Equal(["customer_age", "customer_gender", "customer_age × customer_gender"], groupings.Keys.Order(StringComparer.Ordinal).OrderBy(k => k.Length));

        // The same holdout, scored as the serving path scores it, counted here with plain LINQ.
        using var model = await fixture.App.Get<ModelLoader>().LoadAsync(version);
        var (features, labels, packed) = await fixture.App.Get<HoldoutExplainer>().DataAsync(version, model);
        var probabilities = new double[labels.Length];
        model.Probabilities(features, labels.Length, probabilities);
        var gender = model.Features.Schema.IndexOf("customer_gender");
        var rows = Enumerable.Range(0, labels.Length).Select(i => (Gender: packed.Row(i)[gender] ?? FairnessGroups.Missing, Fraud: labels[i], Flagged: probabilities[i] >= model.Threshold)).ToList();
        Assert.Equal(labels.Length, report.GetProperty("rows").GetInt32());

        var byGender = groupings["customer_gender"];
        var selection = new Dictionary<string, double>();
        foreach (var group in byGender.GetProperty("groups").EnumerateArray())
        {
            var name = group.GetProperty("group").GetString()!;
            var members = rows.Where(r => r.Gender == name).ToList();
            Assert.Equal(members.Count, group.GetProperty("count").GetInt64());
            var metrics = group.GetProperty("metrics");
            selection[name] = members.Count(m => m.Flagged) / (double)members.Count;
            Assert.Equal(selection[name], metrics.GetProperty("selectionRate").GetProperty("value").GetDouble(), 12);
            var fraud = members.Where(m => m.Fraud).ToList();
            Assert.Equal(fraud.Count(m => m.Flagged) / (double)fraud.Count, metrics.GetProperty("truePositiveRate").GetProperty("value").GetDouble(), 12);
            var lower = metrics.GetProperty("selectionRate").GetProperty("lower").GetDouble();
            var upper = metrics.GetProperty("selectionRate").GetProperty("upper").GetDouble();
            Assert.True(lower <= selection[name] && selection[name] <= upper && upper - lower > 0, $"{name}: {lower}–{upper}");
        }

        Assert.Equal(rows.Select(r => r.Gender).Distinct().Count(), selection.Count);
        var dp = byGender.GetProperty("disparities").EnumerateArray().Single(d => d.GetProperty("name").GetString() == DisparityName.DemographicParity
            && d.GetProperty("kind").GetString() == "difference" && d.GetProperty("method").GetString() == DisparityName.BetweenGroups);
        Assert.Equal(selection.Values.Max() - selection.Values.Min(), dp.GetProperty("value").GetProperty("value").GetDouble(), 12);
        // Every crossed group is one gender × one age band, and the crossed groups add up to the holdout.
        Assert.Equal(labels.Length, groupings["customer_age × customer_gender"].GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("count").GetInt64()));

        // The standalone report: every group's numbers, nothing fetched from elsewhere, its SHA-256 in the header and the audit log.
        var file = await client.GetAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness/report.html");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal("text/html", file.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"fairness-{Model}-v{version.Version}.html", file.Content.Headers.ContentDisposition!.FileNameStar ?? file.Content.Headers.ContentDisposition.FileName);
        var bytes = await file.Content.ReadAsByteArrayAsync();
        var html = System.Text.Encoding.UTF8.GetString(bytes);
        var digest = System.Security.Cryptography.SHA256.HashData(bytes);
        Assert.Equal($"sha-256=:{Convert.ToBase64String(digest)}:", file.Headers.GetValues("Repr-Digest").Single());
        foreach (var (name, rate) in selection)
        {
            Assert.Contains($"data-group=\"{System.Net.WebUtility.HtmlEncode(name)}\"", html);
            Assert.Contains(rate.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), html);
        }

        Assert.Contains("<svg", html);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        var (audit, _) = await fixture.App.Get<AuditLog>().PageAsync(0, 5, new AuditFilter(Action: "fairness.export"));
        Assert.Contains(audit, a => a.ObjectId == version.Id.ToString() && a.Summary!.Contains(Convert.ToHexStringLower(digest)));
    }

    [Fact]
    public async Task Compute_UnknownVersionOrReadOnlyKey_404NamingVersionOr403()
    {
        using var client = fixture.Client();
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("fairness-reader", [Scopes.Read], null, "test");
        using var readOnly = fixture.Client(reader);

        var missing = await client.PostAsync("/api/v1/models/no-such-model/versions/1/fairness", null);
        var unknown = await client.GetAsync("/api/v1/models/no-such-model/versions/1/fairness");
        var refused = await readOnly.PostAsync("/api/v1/models/no-such-model/versions/1/fairness", null);

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("version", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await readOnly.GetAsync("/api/v1/models/no-such-model/versions/1/fairness")).StatusCode); // reading is allowed
    }
}

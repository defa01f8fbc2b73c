using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
[Collection(PerformanceApiCollection.Name)]
public sealed class FairnessProductionApiTests(ScoringFixture fixture)
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task GetRange_SeededTraffic_GroupsAsObjectsUnderFairlearnsNamesCountedByHand_ReadKeyReadsScoringKeyRefused()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "api-fairness-production", days: 3, perDay: 60);
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("fairness-production-reader", [Scopes.Read], null, "test");
        var (_, partner) = await fixture.App.Get<ApiKeyStore>().CreateAsync("fairness-production-partner", [Scopes.Predict, Scopes.Feedback], null, "test");
        using var readOnly = fixture.Client(reader);
        using var scoringOnly = fixture.Client(partner);
        using var anonymous = fixture.Client("");
        var url = $"/api/v1/models/{traffic.Model}/fairness?from={Today.AddDays(-2):yyyy-MM-dd}&to={Today:yyyy-MM-dd}";

        var response = await readOnly.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var report = body.GetProperty("report");
        Assert.Equal(180, report.GetProperty("predictions").GetInt64());
        var grouping = report.GetProperty("groupings").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "customer_gender");
        var genders = traffic.Records.GroupBy(r => JsonDocument.Parse(r.InputJson).RootElement.GetProperty("customer_gender").GetString() ?? FairnessGroups.Missing)
            .ToDictionary(g => g.Key, g => g.ToList());
        foreach (var view in new[] { "realized", "estimated" })
        {
            var groups = grouping.GetProperty(view).GetProperty("groups").EnumerateArray().ToList();
            Assert.Equal(genders.Keys.Order(), groups.Select(g => g.GetProperty("group").GetString()!).Order());
            foreach (var group in groups)
            {
                var members = genders[group.GetProperty("group").GetString()!];
                Assert.Equal(members.Count, group.GetProperty("count").GetInt64());
                var metrics = group.GetProperty("metrics");
                Assert.Equal(members.Count(r => r.Decision) / (double)members.Count, metrics.GetProperty("selectionRate").GetProperty("value").GetDouble(), 12);
                foreach (var name in new[] { "truePositiveRate", "falsePositiveRate", "precision", "fraudRate", "meanScore" }) Assert.True(metrics.TryGetProperty(name, out _), name);
            }
        }

        Assert.Contains(grouping.GetProperty("realized").GetProperty("disparities").EnumerateArray(), d => d.GetProperty("name").GetString() == "demographicParity");
        Assert.Equal(HttpStatusCode.Forbidden, (await scoringOnly.GetAsync(url)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(url)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync($"/api/v1/models/{traffic.Model}/fairness/series")).StatusCode);
    }

    [Theory]
    [InlineData("from=2026-13-01", "from")]
    [InlineData("to=yesterday", "to")]
    [InlineData("from=2026-03-10&to=2026-03-01", "from")]
    [InlineData("from=2025-01-01&to=2026-01-01", "from")]
    [InlineData("to=2026-01-01", null)]
    [InlineData("version=abc", "version")]
    [InlineData("version=99", "version")]
    [InlineData("grouping=shoe_size", "grouping")]
    public async Task GetRange_BadQuery_400NamingTheField(string query, string? field)
    {
        await fixture.RegisterAndPromoteAsync("api-fairness-bad", fixture.StrongRun);
        using var client = fixture.Client();

        var response = await client.GetAsync($"/api/v1/models/api-fairness-bad/fairness?{query}");

        if (field is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // a week with no traffic is a report of nothing, not an error
            return;
        }

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task GetSeriesAndRange_UnknownModelOrBadDate_404Or400NamingTheField()
    {
        using var client = fixture.Client();

        var missing = await client.GetAsync("/api/v1/models/no-such-model/fairness");
        var missingSeries = await client.GetAsync("/api/v1/models/no-such-model/fairness/series");
        var bad = await client.GetAsync("/api/v1/models/no-such-model/fairness/series?from=01-02-2026");

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("name", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missingSeries.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("from", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task ExportRange_SeededTraffic_HtmlAndPdfWithRealizedAndEstimatedGroups_ChecksumAudited_NoTraffic404()
    {
        var traffic = await PerformanceTraffic.SeedAsync(fixture, "api-fairness-production-report", days: 2, perDay: 60);
        using var client = fixture.Client();
        var range = $"from={Today.AddDays(-1):yyyy-MM-dd}&to={Today:yyyy-MM-dd}";
        var report = (await client.GetFromJsonAsync<JsonElement>($"/api/v1/models/{traffic.Model}/fairness?{range}")).GetProperty("report");

        var html = await client.GetAsync($"/api/v1/models/{traffic.Model}/fairness/report.html?{range}");
        var pdf = await client.GetAsync($"/api/v1/models/{traffic.Model}/fairness/report.pdf?{range}");
        var quiet = await client.GetAsync($"/api/v1/models/{traffic.Model}/fairness/report.html?from=2026-01-01&to=2026-01-02");
        var bad = await client.GetAsync($"/api/v1/models/{traffic.Model}/fairness/report.pdf?to=yesterday");

        Assert.Equal(HttpStatusCode.OK, html.StatusCode);
        var bytes = await html.Content.ReadAsByteArrayAsync();
        var digest = System.Security.Cryptography.SHA256.HashData(bytes);
        Assert.Equal($"sha-256=:{Convert.ToBase64String(digest)}:", html.Headers.GetValues("Repr-Digest").Single());
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.Contains($"in production, {Today.AddDays(-1):yyyy-MM-dd} to {Today:yyyy-MM-dd}", System.Net.WebUtility.HtmlDecode(text));
        Assert.Contains("120 predictions", text);
        Assert.Contains("A production period is not signed off", text);
        // Every grouping twice, realized then estimated, each group's count as the range report has it.
        var gender = report.GetProperty("groupings").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "customer_gender");
        var decoded = System.Net.WebUtility.HtmlDecode(text);
        Assert.Contains("customer_gender" + ProductionFairnessReport.RealizedSuffix, decoded);
        Assert.Contains("customer_gender" + ProductionFairnessReport.EstimatedSuffix, decoded);
        foreach (var group in gender.GetProperty("realized").GetProperty("groups").EnumerateArray())
        {
            Assert.Contains($"data-group=\"{System.Net.WebUtility.HtmlEncode(group.GetProperty("group").GetString())}\"", text);
        }

        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);
        using var document = UglyToad.PdfPig.PdfDocument.Open(await pdf.Content.ReadAsByteArrayAsync());
        var pdfText = string.Join(" ", document.GetPages().SelectMany(p => p.GetWords()).Select(w => w.Text));
        Assert.Contains("estimated", pdfText);
        Assert.Contains("realized", pdfText);
        var (audit, _) = await fixture.App.Get<AuditLog>().PageAsync(0, 10, new AuditFilter(Action: "fairness.export"));
        Assert.Contains(audit, a => a.Summary!.Contains(Convert.ToHexStringLower(digest)) && a.Summary.Contains("production ", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, quiet.StatusCode);
        Assert.Equal("from", (await quiet.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("to", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class FairnessApiTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private const string Model = "cnp-fairness";
    private const string Reports = "cnp-fairness-reports";

    // The report both the PDF and the sign-off tests read, computed once for the class (a computation is a 1,000-resample job).
    private static readonly SemaphoreSlim ComputeOnce = new(1, 1);
    private static ModelVersion? computed;

    private async Task<ModelVersion> ComputedAsync()
    {
        await ComputeOnce.WaitAsync();
        try
        {
            if (computed is not null) return computed;
            var version = await fixture.RegisterAsync(Reports, fixture.StrongRun);
            var job = await fixture.App.Get<FairnessStore>().StartAsync(version, "test");
            Assert.Equal(Core.Jobs.JobStatus.Succeeded, (await fixture.WaitForJobAsync(job.Id, 300)).Status);
            return computed = version;
        }
        finally
        {
            ComputeOnce.Release();
        }
    }

    [Fact]
    public async Task ExportPdf_ComputedReport_PagesWithEveryGroupsCountAndRateAndTheChecksumInTheHeaderAndAudit()
    {
        var version = await ComputedAsync();
        var report = (await fixture.App.Get<FairnessStore>().GetAsync(version.Id))!.Value.Report!;
        using var client = fixture.Client();

        var file = await client.GetAsync($"/api/v1/models/{Reports}/versions/{version.Version}/fairness/report.pdf");

        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal("application/pdf", file.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"fairness-{Reports}-v{version.Version}.pdf", file.Content.Headers.ContentDisposition!.FileNameStar ?? file.Content.Headers.ContentDisposition.FileName);
        var bytes = await file.Content.ReadAsByteArrayAsync();
        var digest = System.Security.Cryptography.SHA256.HashData(bytes);
        Assert.Equal($"sha-256=:{Convert.ToBase64String(digest)}:", file.Headers.GetValues("Repr-Digest").Single());
        var (audit, _) = await fixture.App.Get<AuditLog>().PageAsync(0, 10, new AuditFilter(Action: "fairness.export"));
        var entry = Assert.Single(audit, a => a.ObjectId == version.Id.ToString() && a.Summary!.Contains(Convert.ToHexStringLower(digest)));
        Assert.Contains("\"format\": \"pdf\"", entry.Summary);

        // Read back with PdfPig: pages with text, and every group's size and selection rate as the report has them.
        using var pdf = UglyToad.PdfPig.PdfDocument.Open(bytes);
        Assert.True(pdf.NumberOfPages >= 2, $"{pdf.NumberOfPages} pages");
        var pages = pdf.GetPages().Select(p => string.Join(" ", p.GetWords().Select(w => w.Text))).ToList();
        Assert.All(pages, text => Assert.False(string.IsNullOrWhiteSpace(text)));
        var text = string.Join(" ", pages);
        Assert.Contains($"Fairness report · {Reports} version {version.Version}", text);
        // Signed off or not, depending on whether the sign-off test ran first on the same version.
        Assert.Contains("Reviewer's sign-off.", text);
        Assert.Contains("four-fifths rule", text);
        Assert.Equal(report.Groupings.Count, pdf.GetPages().Sum(p => p.GetImages().Count()));
        foreach (var grouping in report.Groupings)
        {
            Assert.Contains(grouping.Name, text);
            foreach (var group in grouping.Groups)
            {
                Assert.Contains(group.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), text);
                var rate = group.Metrics[FairnessMetric.SelectionRate];
                Assert.Contains(rate.Value!.Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), text);
                Assert.Contains($"[{rate.Lower!.Value.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)},", text);
            }
        }
    }

    [Fact]
    public async Task SignOff_ReviewerApprovesThenAdminRejects_HistoryLatestFirstAuditedAndInBothReports()
    {
        var version = await ComputedAsync();
        var report = (await fixture.App.Get<FairnessStore>().GetAsync(version.Id))!.Value.Report!;
        await fixture.App.Get<UserStore>().CreateAsync("signoff-lead@example.com", "Team Lead", Roles.Reviewer, "reviewer-password-1", "test");
        using var reviewer = await fixture.App.SignedInClientAsync("signoff-lead@example.com", "reviewer-password-1");
        using var admin = await fixture.App.SignedInClientAsync();
        var url = $"/api/v1/models/{Reports}/versions/{version.Version}/fairness/signoffs";

        var approved = await reviewer.PostAsJsonAsync(url, new { decision = "approve", comment = "  Rates within the intervals; the 65+ band is too small to judge.  ", reportComputedAt = report.ComputedAt });
        var rejected = await admin.PostAsJsonAsync(url, new { decision = "reject", comment = "Age 18–24 selection rate needs a second look." });

        Assert.Equal(HttpStatusCode.Created, approved.StatusCode);
        Assert.Equal(HttpStatusCode.Created, rejected.StatusCode);
        var first = await approved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("approve", "Rates within the intervals; the 65+ band is too small to judge.", "user:signoff-lead@example.com"),
            (first.GetProperty("decision").GetString(), first.GetProperty("comment").GetString(), first.GetProperty("reviewer").GetString()));
        using var reader = fixture.Client();
        var history = await reader.GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(["reject", "approve"], history.EnumerateArray().Take(2).Select(h => h.GetProperty("decision").GetString()));
        Assert.Equal("user:" + WorkbenchAppFactory.AdminEmail, history[0].GetProperty("reviewer").GetString());
        Assert.All(history.EnumerateArray(), h => Assert.True(Math.Abs((h.GetProperty("reportComputedAt").GetDateTime() - report.ComputedAt).TotalMilliseconds) < 1));
        var (audit, _) = await fixture.App.Get<AuditLog>().PageAsync(0, 10, new AuditFilter(Action: "fairness.signoff"));
        Assert.Contains(audit, a => a.ObjectId == version.Id.ToString() && a.Actor == "user:signoff-lead@example.com" && a.Summary!.Contains("\"decision\": \"approve\""));
        Assert.Contains(audit, a => a.ObjectId == version.Id.ToString() && a.Actor == "user:" + WorkbenchAppFactory.AdminEmail && a.Summary!.Contains("second look"));

        // Both report files carry the latest sign-off.
        var html = await reader.GetStringAsync($"/api/v1/models/{Reports}/versions/{version.Version}/fairness/report.html");
        Assert.Contains("data-signoff=\"reject\"", html);
        Assert.Contains($"Rejected by {WorkbenchAppFactory.AdminEmail}", html);
        using var pdf = UglyToad.PdfPig.PdfDocument.Open(await reader.GetByteArrayAsync($"/api/v1/models/{Reports}/versions/{version.Version}/fairness/report.pdf"));
        var text = string.Join(" ", pdf.GetPage(1).GetWords().Select(w => w.Text));
        Assert.Contains($"Rejected by {WorkbenchAppFactory.AdminEmail}", text);
        Assert.Contains("second look.", text);
    }

    [Fact]
    public async Task SignOff_BadDecisionBlankCommentNoReportOrWrongCaller_400Naming409Or403()
    {
        var version = await ComputedAsync();
        var uncomputed = await fixture.RegisterAsync("cnp-fairness-unsigned", fixture.StrongRun);
        // As a version registered before its gate computed the report: no report to sign off.
        await using (var connection = new Npgsql.NpgsqlConnection(fixture.App.ConnectionString))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "DELETE FROM model_fairness WHERE model_version_id = @id", new { id = uncomputed.Id });
        }
        await fixture.App.Get<UserStore>().CreateAsync("signoff-reviewer@example.com", "Reviewer", Roles.Reviewer, "reviewer-password-2", "test");
        await fixture.App.Get<UserStore>().CreateAsync("signoff-scientist@example.com", "Scientist", Roles.DataScientist, "scientist-password-1", "test");
        using var reviewer = await fixture.App.SignedInClientAsync("signoff-reviewer@example.com", "reviewer-password-2");
        using var scientist = await fixture.App.SignedInClientAsync("signoff-scientist@example.com", "scientist-password-1");
        using var adminKey = fixture.Client();
        var url = $"/api/v1/models/{Reports}/versions/{version.Version}/fairness/signoffs";
        var before = (await adminKey.GetFromJsonAsync<JsonElement>(url)).GetArrayLength();

        var badDecision = await reviewer.PostAsJsonAsync(url, new { decision = "maybe", comment = "Looks fine." });
        var noComment = await reviewer.PostAsJsonAsync(url, new { decision = "approve", comment = "   " });
        var nulComment = await reviewer.PostAsJsonAsync(url, new { decision = "approve", comment = "fine\u0000" });
        var longComment = await reviewer.PostAsJsonAsync(url, new { decision = "approve", comment = new string('x', FairnessSignOffStore.MaxCommentLength + 1) });
        var stale = await reviewer.PostAsJsonAsync(url, new { decision = "approve", comment = "Read an older one.", reportComputedAt = DateTime.UtcNow.AddDays(-1) });
        var noReport = await reviewer.PostAsJsonAsync($"/api/v1/models/cnp-fairness-unsigned/versions/{uncomputed.Version}/fairness/signoffs", new { decision = "approve", comment = "Nothing to read." });
        var noVersion = await reviewer.PostAsJsonAsync("/api/v1/models/no-such-model/versions/1/fairness/signoffs", new { decision = "approve", comment = "?" });
        var byScientist = await scientist.PostAsJsonAsync(url, new { decision = "approve", comment = "My own model is fair." });
        var byKey = await adminKey.PostAsJsonAsync(url, new { decision = "approve", comment = "A script approving." });

        foreach (var (response, status, field) in new[]
                 {
                     (badDecision, 400, "decision"), (noComment, 400, "comment"), (nulComment, 400, "comment"), (longComment, 400, "comment"),
                     (stale, 409, "reportComputedAt"), (noReport, 409, "version"), (noVersion, 404, "version"),
                 })
        {
            Assert.Equal((HttpStatusCode)status, response.StatusCode);
            Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }

        Assert.Equal(HttpStatusCode.Forbidden, byScientist.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byKey.StatusCode);
        Assert.Equal(before, (await adminKey.GetFromJsonAsync<JsonElement>(url)).GetArrayLength());
        Assert.Equal(0, (await adminKey.GetFromJsonAsync<JsonElement>($"/api/v1/models/cnp-fairness-unsigned/versions/{uncomputed.Version}/fairness/signoffs")).GetArrayLength());
    }

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

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class FeatureSetsApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private const string Csv = "event_time,customer_id,amount,ip_country,home_country,is_fraud\n" +
        "2026-01-01T10:00:00Z,c1,10,DE,DE,0\n2026-01-01T10:05:00Z,c1,250,NG,DE,1\n2026-01-01T11:00:00Z,c2,30,FR,FR,0\n2026-01-02T09:00:00Z,c1,12,DE,DE,0\n";

    private HttpClient Client()
    {
        var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);
        return client;
    }

    private async Task<DatasetVersionResponse> UploadAsync(HttpClient client, string name)
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Encoding.UTF8.GetBytes(Csv)), "file", "tx.csv" },
            { new StringContent(name), "name" },
        };
        return (await (await client.PostAsync("/api/v1/datasets", form)).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
    }

    private static async Task<JobResponse> WaitForJobAsync(HttpClient client, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JobResponse? state;
        do
        {
            await Task.Delay(100);
            state = await client.GetFromJsonAsync<JobResponse>($"/api/v1/jobs/{id}");
        }
        while (state!.Status is JobStatus.Queued or JobStatus.Running && DateTime.UtcNow < deadline);
        return state;
    }

    [Fact]
    public async Task Post_ValidDefinition_202FitJobThenDetailThenBackfillJobSucceeds()
    {
        using var client = Client();
        var dataset = await UploadAsync(client, "fs-api");
        var request = new
        {
            name = "api-recipes",
            datasetId = dataset.Id,
            datasetVersion = 1,
            features = new object[]
            {
                new { kind = "velocity", entity = "customer_id", column = "amount", windows = new[] { "1h", "24h" } },
                new { kind = "mismatch", column = "ip_country", other = "home_country" },
            },
        };

        var response = await client.PostAsJsonAsync("/api/v1/feature-sets", request);

        // The fit runs as a job: its result names the version.
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var fit = await WaitForJobAsync(client, (await response.Content.ReadFromJsonAsync<JobResponse>())!.Id);
        Assert.Equal((JobStatus.Succeeded, 100), (fit.Status, fit.Progress));
        var versionId = fit.Result!.Value.GetProperty("versionId").GetGuid();
        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/v1/feature-sets/versions/{versionId}");
        var version = detail.GetProperty("version").Deserialize<FeatureSetVersionResponse>(JsonSerializerOptions.Web)!;
        Assert.Equal(("api-recipes", 1, 64), (version.Name, version.Version, version.Hash.Length));
        Assert.Equal(["customer_id__count_1h", "customer_id__sum_amount_1h", "customer_id__count_24h", "customer_id__sum_amount_24h",
            "customer_id__seconds_since_previous", "ip_country__ne__home_country"], version.Slots);
        var preview = detail.GetProperty("reference").GetProperty("previewRows");
        Assert.Equal(4, preview.GetArrayLength());
        Assert.Equal(1, preview[1][0].GetDouble()); // c1's second event sees its first within the hour
        // The same definition on the same data again: the version at once, no second fit.
        var again = await client.PostAsJsonAsync("/api/v1/feature-sets", request);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(version.Id, (await again.Content.ReadFromJsonAsync<FeatureSetVersionResponse>())!.Id);

        var backfill = await client.PostAsync($"/api/v1/feature-sets/versions/{version.Id}/backfill", null);
        Assert.Equal(HttpStatusCode.Accepted, backfill.StatusCode);
        var job = (await backfill.Content.ReadFromJsonAsync<JobResponse>())!;
        Assert.Equal(JobStatus.Succeeded, (await WaitForJobAsync(client, job.Id)).Status);
    }

    [Fact]
    public async Task Post_InvalidDefinition_400ListingEveryFieldAndNothingSaved()
    {
        using var client = Client();
        var dataset = await UploadAsync(client, "fs-api-invalid");
        var request = new
        {
            name = "api-invalid",
            datasetId = dataset.Id,
            datasetVersion = 1,
            features = new object[]
            {
                new { kind = "date_parts", column = "amount" },
                new { kind = "numeric", column = "missing_column" },
                new { kind = "teleport" },
            },
        };

        var response = await client.PostAsJsonAsync("/api/v1/feature-sets", request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var fields = problem.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Equal(["features[0].column", "features[1].column", "features[2].kind"], fields);
        var list = await client.GetFromJsonAsync<JsonElement>("/api/v1/feature-sets");
        Assert.DoesNotContain(list.EnumerateArray(), f => f.GetProperty("name").GetString() == "api-invalid");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Api;

[Trait("Category", "Database")]
public sealed class DatasetsApiTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private const string Csv = "event_time,customer_id,amount,is_fraud\n2026-01-01T10:00:00Z,c1,10.5,0\n2026-01-01T10:05:00Z,c2,99.9,1\n2026-01-02T08:00:00Z,c1,12,0\n";

    private static MultipartFormDataContent Form(string? name, string? csv, string? schema = null)
    {
        var form = new MultipartFormDataContent();
        if (csv is not null) form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)) { Headers = { ContentType = new MediaTypeHeaderValue("text/csv") } }, "file", "tx.csv");
        if (name is not null) form.Add(new StringContent(name), "name");
        if (schema is not null) form.Add(new StringContent(schema), "schema");
        return form;
    }

    private HttpClient Client(string key)
    {
        var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task Post_CsvWithKey_201WithVersionColumnsAndChecksum_ThenListAndGet()
    {
        using var client = Client(AppFixture.BootstrapApiKey);

        var response = await client.PostAsync("/api/v1/datasets", Form("api-transactions", Csv));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        Assert.Equal(("api-transactions", 1, 3L), (body.Name, body.Version, body.RowCount));
        Assert.Equal(new DatasetColumnResponse("is_fraud", ColumnType.Boolean, ColumnRole.Label), body.Columns[3]);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Csv))).ToLowerInvariant(), body.Checksum);
        Assert.Equal($"/api/v1/datasets/{body.Id}/versions/1", response.Headers.Location!.OriginalString);

        var again = await client.PostAsync("/api/v1/datasets", Form("api-transactions", Csv));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode); // identical content: the existing version

        var list = await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets");
        Assert.Contains(list!, d => d.Id == body.Id && d.LatestVersion == 1 && d.RowCount == 3);
        var dataset = await client.GetFromJsonAsync<DatasetResponse>($"/api/v1/datasets/{body.Id}");
        Assert.Single(dataset!.Versions);
        var detail = await client.GetFromJsonAsync<DatasetVersionDetail>($"/api/v1/datasets/{body.Id}/versions/1", DatasetSchema.Json);
        Assert.Equal(1, detail!.Profile.Label!.PositiveCount);
        Assert.Equal(10.5, detail.Profile.Columns.Single(c => c.Name == "amount").Numeric!.Min);
    }

    [Fact]
    public async Task Post_SchemaOverrides_Applied()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        var schema = """{"columns": {"customer_id": {"role": "feature"}, "amount": {"type": "decimal"}}, "positiveLabel": "1"}""";

        var body = await (await client.PostAsync("/api/v1/datasets", Form("api-overrides", Csv, schema))).Content.ReadFromJsonAsync<DatasetVersionResponse>();

        Assert.Equal(new DatasetColumnResponse("customer_id", ColumnType.Categorical, ColumnRole.Feature), body!.Columns[1]);
        Assert.Equal(ColumnType.Decimal, body.Columns[2].Type);
    }

    [Fact]
    public async Task Post_RaggedFile_400ProblemDetailsListingRowsAndNothingStored()
    {
        using var client = Client(AppFixture.BootstrapApiKey);

        var response = await client.PostAsync("/api/v1/datasets", Form("api-ragged", "a,b\n1,2\n3\n"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("file", problem.RootElement.GetProperty("field").GetString());
        var error = problem.RootElement.GetProperty("errors")[0];
        Assert.Equal((2, 3), (error.GetProperty("row").GetInt32(), error.GetProperty("line").GetInt32()));
        var list = await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets");
        Assert.DoesNotContain(list!, d => d.Name == "api-ragged");
    }

    [Theory]
    [InlineData(null, Csv, null, "name")]
    [InlineData("api-nofile", null, null, "file")]
    [InlineData("api-badschema", Csv, "{not json", "schema")]
    [InlineData("api-badrole", Csv, """{"columns": {"amount": {"role": "boss"}}}""", "schema")]
    [InlineData("api-nullcolumn", Csv, """{"columns": {"amount": null}}""", "schema")]
    public async Task Post_BadRequest_ProblemNamesTheField(string? name, string? csv, string? schema, string field)
    {
        using var client = Client(AppFixture.BootstrapApiKey);

        var response = await client.PostAsync("/api/v1/datasets", Form(name, csv, schema));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, problem.RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Post_FileOverTheConfiguredLimit_413AndNothingStored()
    {
        await using var small = new WorkbenchAppFactory(await PostgresServer.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["FRAUDWB_BOOTSTRAP_API_KEY"] = AppFixture.BootstrapApiKey,
            ["FraudWorkbench:Data:MaxUploadBytes"] = "100",
        });
        using var client = small.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AppFixture.BootstrapApiKey);

        var response = await client.PostAsync("/api/v1/datasets", Form("api-too-big", Csv));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("larger than the limit of 0.1 KB", await response.Content.ReadAsStringAsync());
        Assert.Empty(await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets") ?? []);
    }

    [Fact]
    public async Task Post_ReadOnlyKey_403_Archive_RemovesFromList()
    {
        var (_, reader) = await fixture.App.Get<ApiKeyStore>().CreateAsync("dataset-reader", [Scopes.Read], null, "test");
        using var readOnly = Client(reader);
        using var admin = Client(AppFixture.BootstrapApiKey);

        var refused = await readOnly.PostAsync("/api/v1/datasets", Form("api-refused", Csv));
        var created = await (await admin.PostAsync("/api/v1/datasets", Form("api-archive", Csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>();
        var archived = await admin.DeleteAsync($"/api/v1/datasets/{created!.Id}");
        var twice = await admin.DeleteAsync($"/api/v1/datasets/{created.Id}");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, archived.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        var list = await readOnly.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets");
        Assert.DoesNotContain(list!, d => d.Id == created.Id);
        Assert.Equal(HttpStatusCode.NotFound, (await readOnly.GetAsync($"/api/v1/datasets/{Guid.NewGuid()}")).StatusCode);
    }
}

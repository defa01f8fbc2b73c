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

    [Fact]
    public async Task PostVersion_ToExistingDataset_Version2OfItWithTheSchemaDiff()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        var v1 = (await (await client.PostAsync("/api/v1/datasets", Form("api-versions", Csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        // customer_id removed, channel added, amount now whole numbers (decimal -> integer); the file name differs from the dataset's.
        const string next = "event_time,amount,is_fraud,channel\n2026-02-01T10:00:00Z,10,0,web\n2026-02-01T11:00:00Z,20,1,app\n2026-02-02T09:00:00Z,30,0,web\n";

        var response = await client.PostAsync($"/api/v1/datasets/{v1.Id}/versions", Form(null, next));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var v2 = (await response.Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        Assert.Equal((v1.Id, "api-versions", 2), (v2.Id, v2.Name, v2.Version));
        Assert.Equal($"/api/v1/datasets/{v1.Id}/versions/2", response.Headers.Location!.OriginalString);
        var diff = v2.Changes!;
        Assert.Equal(1, diff.FromVersion);
        Assert.Equal(["channel"], diff.Added);
        Assert.Equal(["customer_id"], diff.Removed);
        Assert.Equal([new ColumnChange("amount", "type", ColumnType.Decimal, ColumnType.Integer)], diff.Changed);
        Assert.Contains(diff.Warnings, w => w.Contains("entity key 'customer_id' is missing"));
        Assert.DoesNotContain(diff.Warnings, w => w.Contains("label", StringComparison.OrdinalIgnoreCase));
        var dataset = await client.GetFromJsonAsync<DatasetResponse>($"/api/v1/datasets/{v1.Id}");
        Assert.Equal([2, 1], dataset!.Versions.Select(v => v.Version));
        var detail = await client.GetFromJsonAsync<DatasetVersionDetail>($"/api/v1/datasets/{v1.Id}/versions/2", DatasetSchema.Json);
        Assert.Equal(["channel"], detail!.Changes!.Added);
        var all = await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets");
        Assert.Single(all!, d => d.Name.StartsWith("api-versions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostVersion_WithoutTheLabel_CreatedWithAWarningThatItCannotTrain()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        var v1 = (await (await client.PostAsync("/api/v1/datasets", Form("api-lost-label", Csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;

        var response = await client.PostAsync($"/api/v1/datasets/{v1.Id}/versions", Form(null, "event_time,customer_id,amount\n2026-01-01T10:00:00Z,c1,10.5\n"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var v2 = (await response.Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        Assert.Equal(["is_fraud"], v2.Changes!.Removed);
        Assert.Contains(v2.Changes.Warnings, w => w.Contains("label column 'is_fraud' is missing") && w.Contains("cannot train"));
    }

    [Fact]
    public async Task PostVersion_UnknownOrArchivedDataset_ProblemNotA500()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        var unknown = await client.PostAsync($"/api/v1/datasets/{Guid.NewGuid()}/versions", Form(null, Csv));
        var created = (await (await client.PostAsync("/api/v1/datasets", Form("api-archived-target", Csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        await client.DeleteAsync($"/api/v1/datasets/{created.Id}");
        var archived = await client.PostAsync($"/api/v1/datasets/{created.Id}/versions", Form(null, Csv));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, archived.StatusCode);
        Assert.Contains("archived", await archived.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReviseSchema_RoleEdit_NewVersionOnTheSameFileReprofiled_OldVersionUnchanged()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        const string csv = "event_time,customer_id,amount,is_fraud,channel\n2026-01-01T10:00:00Z,c1,10.5,0,web\n2026-01-01T10:05:00Z,c2,99.9,1,web\n2026-01-02T08:00:00Z,c1,12,0,app\n2026-01-02T09:00:00Z,c3,7,0,web\n";
        var v1 = (await (await client.PostAsync("/api/v1/datasets", Form("api-revise", csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;

        var response = await client.PostAsJsonAsync($"/api/v1/datasets/{v1.Id}/versions/1/schema", new
        {
            columns = new Dictionary<string, object> { ["is_fraud"] = new { role = "feature" }, ["channel"] = new { role = "label" } },
            positiveLabel = "app",
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var v2 = (await response.Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        Assert.Equal((2, 1, v1.Checksum, "app"), (v2.Version, v2.BasedOnVersion, v2.Checksum, v2.PositiveLabel));
        Assert.Equal([new ColumnChange("is_fraud", "role", ColumnRole.Label, ColumnRole.Feature), new ColumnChange("channel", "role", ColumnRole.Feature, ColumnRole.Label)], v2.Changes!.Changed);
        Assert.Empty(v2.Changes.Added);
        var after = await client.GetFromJsonAsync<DatasetVersionDetail>($"/api/v1/datasets/{v1.Id}/versions/2", DatasetSchema.Json);
        Assert.Equal(("channel", 1L, 3L), (after!.Profile.Label!.Column, after.Profile.Label.PositiveCount, after.Profile.Label.NegativeCount));
        var before = await client.GetFromJsonAsync<DatasetVersionDetail>($"/api/v1/datasets/{v1.Id}/versions/1", DatasetSchema.Json);
        Assert.Equal(("is_fraud", 1L, 3L), (before!.Profile.Label!.Column, before.Profile.Label.PositiveCount, before.Profile.Label.NegativeCount));
        Assert.Equal(ColumnRole.Label, before.Schema.Columns.Single(c => c.Name == "is_fraud").Role);
        var audit = await fixture.App.Get<Npgsql.NpgsqlDataSource>().CreateCommand($"SELECT count(*) FROM audit_log WHERE action = 'dataset.version.revise' AND object_id = '{v1.Id}'").ExecuteScalarAsync();
        Assert.Equal(1L, audit);
    }

    [Theory]
    [InlineData("""{"columns": {"nope": {"role": "label"}}}""", "nope")]
    [InlineData("""{"columns": {"channel": {"role": "event_time"}}}""", "channel")]
    [InlineData("""{"columns": {"channel": {"role": "label"}}}""", "channel")]
    public async Task ReviseSchema_BadColumn_400NamingTheColumn(string body, string column)
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        const string csv = "event_time,amount,is_fraud,channel\n2026-01-01T10:00:00Z,10.5,0,web\n2026-01-01T10:05:00Z,99.9,1,app\n";
        var v1 = (await (await client.PostAsync("/api/v1/datasets", Form($"api-revise-bad-{column}-{body.Length}", csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;

        var response = await client.PostAsync($"/api/v1/datasets/{v1.Id}/versions/1/schema", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(column, problem.RootElement.GetProperty("column").GetString());
        Assert.Contains($"'{column}'", problem.RootElement.GetProperty("detail").GetString());
        Assert.Single((await client.GetFromJsonAsync<DatasetResponse>($"/api/v1/datasets/{v1.Id}"))!.Versions);
    }

    [Fact]
    public async Task Restore_ArchivedDataset_BackInTheListAndAudited()
    {
        using var client = Client(AppFixture.BootstrapApiKey);
        var created = (await (await client.PostAsync("/api/v1/datasets", Form("api-restore", Csv))).Content.ReadFromJsonAsync<DatasetVersionResponse>())!;
        await client.DeleteAsync($"/api/v1/datasets/{created.Id}");
        var archivedList = await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets?includeArchived=true");

        var restored = await client.PostAsync($"/api/v1/datasets/{created.Id}/restore", null);
        var twice = await client.PostAsync($"/api/v1/datasets/{created.Id}/restore", null);

        Assert.Contains(archivedList!, d => d.Id == created.Id && d.ArchivedAt != null);
        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.Conflict), (restored.StatusCode, twice.StatusCode));
        Assert.Contains(await client.GetFromJsonAsync<List<DatasetSummary>>("/api/v1/datasets") ?? [], d => d.Id == created.Id && d.ArchivedAt == null);
        var audit = await fixture.App.Get<Npgsql.NpgsqlDataSource>().CreateCommand($"SELECT count(*) FROM audit_log WHERE action = 'dataset.restore' AND object_id = '{created.Id}'").ExecuteScalarAsync();
        Assert.Equal(1L, audit);
    }
}

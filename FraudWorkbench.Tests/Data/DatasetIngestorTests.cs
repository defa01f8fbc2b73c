using System.Text;
using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Data;

[Trait("Category", "Database")]
public sealed class DatasetIngestorTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IDisposable
{
    private const string Good = "event_time,customer_id,amount,is_fraud\n2026-01-01T10:00:00Z,c1,10.5,0\n2026-01-01T10:05:00Z,c2,99.9,1\n2026-01-02T08:00:00Z,c1,12,0\n";
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("fwb-ingest-").FullName;

    private ArtifactStore Artifacts => new(Path.Combine(dataDirectory, "artifacts"));

    private DatasetIngestor Ingestor(long maxBytes = 1 << 30) => new(
        new DatasetStore(db.DataSource, TimeProvider.System), Artifacts, Options.Create(new DataOptions { MaxUploadBytes = maxBytes }), NullLogger<DatasetIngestor>.Instance);

    private async Task<IngestResult> IngestAsync(string name, string text, SchemaOverrides? overrides = null, DatasetIngestor? ingestor = null)
    {
        ingestor ??= Ingestor();
        var staged = await ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), name + ".csv");
        return await ingestor.IngestAsync(staged, name, overrides ?? SchemaOverrides.None, "user:ds@example.com");
    }

    private string[] ArtifactFiles => Directory.Exists(Artifacts.RootDirectory)
        ? [.. Directory.GetFiles(Artifacts.RootDirectory, "*", SearchOption.AllDirectories)]
        : [];

    private string[] StagedFiles => Directory.Exists(Path.Combine(dataDirectory, "uploads")) ? Directory.GetFiles(Path.Combine(dataDirectory, "uploads")) : [];

    [Fact]
    public async Task IngestAsync_NewName_CreatesVersionOneWithSchemaProfileAndArtifact()
    {
        var result = await IngestAsync("ingest-new", Good);

        Assert.True(result.Created);
        Assert.Equal(("ingest-new", 1, 3L, 4), (result.Dataset.Name, result.Version.Version, result.Version.RowCount, result.Version.ColumnCount));
        Assert.Equal(ColumnRole.EventTime, result.Version.Schema.Columns[0].Role);
        Assert.Equal(ColumnRole.EntityKey, result.Version.Schema.Columns[1].Role);
        Assert.Equal(1, result.Version.Profile.Label!.PositiveCount);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Good)), Convert.FromHexString(result.Version.Checksum));
        Assert.True(Artifacts.Exists(result.Version.Checksum));
        Assert.Empty(StagedFiles);
    }

    [Fact]
    public async Task IngestAsync_SameFileAgain_RecognisedNotStoredTwice_ChangedFile_NewVersion()
    {
        var first = await IngestAsync("ingest-versions", Good);
        var again = await IngestAsync("INGEST-VERSIONS", Good);
        var changed = await IngestAsync("ingest-versions", Good + "2026-01-03T09:00:00Z,c3,5,0\n");
        var relabelled = await IngestAsync("ingest-versions", Good, new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["customer_id"] = new(Role: ColumnRole.Feature) }));

        Assert.False(again.Created);
        Assert.Equal(first.Version.Id, again.Version.Id);
        Assert.Equal((2, true), (changed.Version.Version, changed.Created));
        Assert.Equal((3, first.Version.Checksum), (relabelled.Version.Version, relabelled.Version.Checksum)); // same file, new roles: a version, one file
        Assert.Equal(2, ArtifactFiles.Count(f => !f.Contains("/artifacts/tmp/")));
        var versions = await new DatasetStore(db.DataSource, TimeProvider.System).ListVersionsAsync(first.Dataset.Id);
        Assert.Equal([3, 2, 1], versions.Select(v => v.Version));
    }

    [Fact]
    public async Task IngestAsync_BadValueOnTheLastRow_LeavesNoTraceInDatabaseOrArtifactStore()
    {
        var text = Good + string.Concat(Enumerable.Range(0, 5000).Select(i => $"2026-01-03T09:00:00Z,c{i},{i}.5,0\n")) + "2026-01-04T00:00:00Z,c9,lots,0\n";
        var amountIsDecimal = new SchemaOverrides(new Dictionary<string, ColumnOverride> { ["amount"] = new(Type: ColumnType.Decimal) });

        var error = await Assert.ThrowsAsync<DatasetValidationException>(() => IngestAsync("ingest-atomic", text, amountIsDecimal));

        Assert.Equal(new DataIssue(5004, 5005, "amount", "lots", "is not a number"), Assert.Single(error.Examples));
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM datasets WHERE name = 'ingest-atomic'"));
        Assert.DoesNotContain(ArtifactFiles, f => !f.Contains("/artifacts/tmp/"));
        Assert.Empty(StagedFiles);
    }

    [Fact]
    public async Task IngestAsync_DatabaseRefusesAfterTheFileMoved_ArtifactRemovedAgain()
    {
        var store = new DatasetStore(db.DataSource, TimeProvider.System);
        var archived = await IngestAsync("ingest-archived", "a,b\nx,1\n");
        await store.ArchiveAsync(archived.Dataset.Id, "test");
        var before = ArtifactFiles.Length;

        var error = await Assert.ThrowsAsync<DatasetValidationException>(() => IngestAsync("ingest-archived", "a,b\ny,2\n"));

        Assert.Equal("name", error.Field);
        Assert.Equal(before, ArtifactFiles.Length);
        Assert.Empty(StagedFiles);
    }

    [Fact]
    public async Task IngestAsync_TypeContradictedAfterTheInferenceSample_ReinfersOverTheWholeFile()
    {
        var text = new StringBuilder("flag,amount\n");
        for (var i = 0; i < SchemaInference.SampleRows + 1; i++) text.Append(i % 2).Append(",1\n");
        text.Append("2,1\n");

        var result = await IngestAsync("ingest-widen", text.ToString());

        Assert.Equal(ColumnType.Integer, result.Version.Schema.Columns[0].Type);
        Assert.Equal(SchemaInference.SampleRows + 2, result.Version.RowCount);
    }

    [Fact]
    public async Task StageAsync_OverTheSizeLimit_RefusedAndNothingKept()
    {
        var ingestor = Ingestor(maxBytes: 100);

        var error = await Assert.ThrowsAsync<DatasetValidationException>(() => ingestor.StageAsync(new MemoryStream(new byte[1000]), "big.csv"));

        Assert.Contains("larger than the limit", error.Message);
        Assert.Empty(StagedFiles);
    }

    [Fact]
    public async Task IngestAsync_EmptyName_RefusedNamingTheField()
    {
        var error = await Assert.ThrowsAsync<DatasetValidationException>(() => IngestAsync("  ", Good));
        Assert.Equal("name", error.Field);
        Assert.Empty(StagedFiles);
    }

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);
}

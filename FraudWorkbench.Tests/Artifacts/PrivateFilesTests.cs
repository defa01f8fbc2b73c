using System.Text;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Tests.Artifacts;

/// <summary>Uploads and artifacts are the app user's alone, whatever the process umask would have allowed.</summary>
[Trait("Category", "Database")]
public sealed class PrivateFilesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IDisposable
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly string dataDirectory = Directory.CreateTempSubdirectory("fwb-private-").FullName;

    [Fact]
    public async Task PutAsync_NewArtifact_FileAndItsDirectoriesHaveNoGroupOrOtherBits()
    {
        if (OperatingSystem.IsWindows()) return;
        var store = new ArtifactStore(Path.Combine(dataDirectory, "artifacts"));

        var stored = await store.PutAsync(Encoding.ASCII.GetBytes("model bytes"));

        var file = store.PathFor(stored.Sha256);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        AssertOwnerOnlyDirectories(Path.GetDirectoryName(file)!, store.RootDirectory, Path.Combine(store.RootDirectory, "tmp"));
    }

    [Fact]
    public async Task StageAsyncThenIngestAsync_Upload_StagedFileAndStoredVersionHaveNoGroupOrOtherBits()
    {
        if (OperatingSystem.IsWindows()) return;
        var artifacts = new ArtifactStore(Path.Combine(dataDirectory, "artifacts"));
        var ingestor = new DatasetIngestor(new DatasetStore(db.DataSource, TimeProvider.System), artifacts, Options.Create(new DataOptions()), NullLogger<DatasetIngestor>.Instance);
        var csv = "event_time,customer_id,amount,is_fraud\n2026-01-01T10:00:00Z,c1,10.5,0\n2026-01-01T10:05:00Z,c2,99.9,1\n";

        var staged = await ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "private.csv");

        var stagedPath = ingestor.StagedPath(staged.Id);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stagedPath));
        AssertOwnerOnlyDirectories(Path.GetDirectoryName(stagedPath)!);

        await ingestor.IngestAsync(staged, "private-" + Guid.NewGuid().ToString("N")[..8], SchemaOverrides.None, "user:ds@example.com");

        var files = Directory.GetFiles(artifacts.RootDirectory, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void AssertOwnerOnlyDirectories(params string[] directories)
    {
        foreach (var directory in directories)
        {
            Assert.True((File.GetUnixFileMode(directory) & GroupOrOther) == UnixFileMode.None, $"{directory}: {File.GetUnixFileMode(directory)}");
        }
    }

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);
}

using System.Security.Cryptography;
using System.Text;
using FraudWorkbench.Core.Artifacts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Core.Data;

/// <summary>An upload written to the staging folder, with its checksum; not yet a dataset version.</summary>
public sealed record StagedUpload(Guid Id, string FileName, string Sha256, long Length);

public sealed record SchemaProposal(DatasetSchema Schema, IReadOnlyDictionary<string, IReadOnlyList<string>> Examples);

public sealed record IngestResult(Dataset Dataset, DatasetVersion Version, bool Created, SchemaDiff Diff);

/// <summary>
/// Turns an uploaded file into a dataset version: stage (stream to disk, hash, size limit), infer the
/// schema, apply the user's overrides, validate and profile every row, move the file into the artifact
/// store and record the version. Any failure leaves no version row and no new artifact behind.
/// </summary>
public sealed class DatasetIngestor(
    DatasetStore store,
    ArtifactStore artifacts,
    IOptions<DataOptions> options,
    ILogger<DatasetIngestor> logger)
{
    public const int MaxNameLength = 200;

    private string StagingDirectory => PrivateFiles.CreateDirectory(Path.Combine(Path.GetDirectoryName(artifacts.RootDirectory)!, "uploads"));

    public string StagedPath(Guid id) => Path.Combine(StagingDirectory, id.ToString("N") + ".upload");

    /// <summary>Streams the content to the staging folder, hashing as it goes; refuses content over the size limit.</summary>
    public async Task<StagedUpload> StageAsync(Stream content, string fileName, Action<long>? bytesWritten = null, CancellationToken cancellationToken = default)
    {
        // The name is kept with the version; refused before a byte is written.
        if (StoredText.Problem(fileName, 1000) is { } problem) throw new DatasetValidationException("The file name: " + problem, field: "file");
        var id = Guid.NewGuid();
        var path = StagedPath(id);
        var limit = options.Value.MaxUploadBytes;
        try
        {
            await using var file = PrivateFiles.CreateNew(path);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            long total = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    throw new DatasetValidationException($"The file is larger than the limit of {FormatBytes(limit)}.", tooLarge: true);
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                bytesWritten?.Invoke(total);
            }

            return new StagedUpload(id, SafeFileName(fileName), Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), total);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>The schema the file suggests (types and role guesses) and each column's frequent values, for the user to review.</summary>
    /// <param name="previous">For a new version of an existing dataset: its latest schema, whose roles carry over.</param>
    public SchemaProposal Inspect(StagedUpload staged, DatasetSchema? previous = null) => Guard(StagedPath(staged.Id), path =>
    {
        var schema = SchemaInference.Infer(path, CsvFile.Inspect(path), out var examples);
        return new SchemaProposal(SchemaInference.CarryOver(schema, previous), examples);
    });

    /// <summary>The latest version's schema of a dataset that can take a new version; refuses an unknown or archived dataset.</summary>
    public async Task<(Dataset Dataset, DatasetSchema? Latest)> TargetAsync(Guid datasetId, CancellationToken cancellationToken = default)
    {
        var dataset = await store.GetAsync(datasetId, cancellationToken) ?? throw new DatasetValidationException($"No dataset has the id {datasetId}.", field: "id");
        if (dataset.ArchivedAt is not null) throw new DatasetValidationException($"The dataset '{dataset.Name}' is archived; restore it before adding a version.", field: "id");
        var latest = (await store.ListVersionsAsync(datasetId, cancellationToken)).FirstOrDefault();
        return (dataset, latest?.Schema);
    }

    public Task<IngestResult> IngestAsync(StagedUpload staged, string name, SchemaOverrides overrides, string actor,
        Action<double>? progress = null, CancellationToken cancellationToken = default) =>
        IngestAsync(staged, name, null, overrides, actor, progress, cancellationToken);

    /// <summary>Makes the upload the next version of the dataset <paramref name="datasetId"/> (whatever its name).</summary>
    public Task<IngestResult> AddVersionAsync(Guid datasetId, StagedUpload staged, SchemaOverrides overrides, string actor,
        Action<double>? progress = null, CancellationToken cancellationToken = default) =>
        IngestAsync(staged, "", datasetId, overrides, actor, progress, cancellationToken);

    private async Task<IngestResult> IngestAsync(StagedUpload staged, string name, Guid? datasetId, SchemaOverrides overrides, string actor,
        Action<double>? progress, CancellationToken cancellationToken)
    {
        var path = StagedPath(staged.Id);
        try
        {
            DatasetSchema? previous = null;
            if (datasetId is Guid id) (_, previous) = await TargetAsync(id, cancellationToken);
            else name = ValidateName(name);
            var (schema, profile) = Guard(path, p => Analyse(p, previous, overrides, progress, cancellationToken));

            var added = false;
            try
            {
                var (version, created) = await store.CreateVersionAsync(
                    new NewDatasetVersion(name, staged.Sha256, staged.FileName, staged.Length, schema, profile, datasetId), actor,
                    () => added = artifacts.Import(path, staged.Sha256), cancellationToken);
                var dataset = (await store.GetAsync(version.DatasetId, CancellationToken.None))!;
                logger.LogInformation("Dataset {Dataset} version {Version}: {Rows} rows, {Columns} columns{Existing}",
                    dataset.Name, version.Version, version.RowCount, version.ColumnCount, created ? "" : " (identical to an existing version)");
                return new IngestResult(dataset, version, created, await store.DiffAsync(version, CancellationToken.None));
            }
            catch when (added)
            {
                // The version was not recorded: the file goes back to staging (a retry may still use it),
                // unless another upload of the same content has meanwhile referenced it.
                await store.UndoUnreferencedFileAsync(staged.Sha256, () => artifacts.Withdraw(staged.Sha256, path), CancellationToken.None);
                throw;
            }
        }
        catch (DatasetValidationException)
        {
            File.Delete(path); // no retry can fix the file
            throw;
        }
    }

    /// <summary>
    /// Settles the schema and profiles the file. Types guessed from the first rows can be contradicted
    /// later in a big file; then the guess is redone over the whole file once before the file is refused.
    /// </summary>
    private static (DatasetSchema Schema, DatasetProfile Profile) Analyse(string path, DatasetSchema? previous, SchemaOverrides overrides, Action<double>? progress, CancellationToken cancellationToken)
    {
        var delimiter = CsvFile.Inspect(path);
        var inferred = SchemaInference.CarryOver(SchemaInference.Infer(path, delimiter), previous);
        var settled = SchemaInference.Apply(inferred, overrides);
        try
        {
            return (settled, DatasetProfiler.Run(path, settled, progress, cancellationToken));
        }
        catch (DatasetValidationException ex) when (ex.Examples.Any(e => e.Column is { } c && overrides.Columns?.ContainsKey(c) != true))
        {
            var full = SchemaInference.Apply(SchemaInference.CarryOver(SchemaInference.Infer(path, delimiter, int.MaxValue), previous), overrides);
            if (full.Columns.SequenceEqual(settled.Columns)) throw;
            return (full, DatasetProfiler.Run(path, full, progress, cancellationToken));
        }
    }

    /// <summary>
    /// Corrects a version's roles, types or positive label without a new upload: the next version of the
    /// dataset reuses the version's stored file (no copy) under the corrected schema, profiled afresh.
    /// </summary>
    public async Task<IngestResult> ReviseAsync(Guid datasetId, int fromVersion, SchemaOverrides overrides, string actor,
        Action<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var (dataset, _) = await TargetAsync(datasetId, cancellationToken);
        var source = await store.GetVersionAsync(datasetId, fromVersion, cancellationToken)
            ?? throw new DatasetValidationException($"Dataset '{dataset.Name}' has no version {fromVersion}.", field: "version");
        var schema = SchemaInference.Apply(source.Schema, overrides);
        // Verifies the stored file's checksum before profiling it in place.
        await (await artifacts.OpenReadAsync(source.Checksum, cancellationToken)).DisposeAsync();
        var profile = Guard(artifacts.PathFor(source.Checksum), p => DatasetProfiler.Run(p, schema, progress, cancellationToken));
        var (version, created) = await store.CreateVersionAsync(
            new NewDatasetVersion(dataset.Name, source.Checksum, source.FileName, source.SizeBytes, schema, profile, datasetId, fromVersion), actor,
            () => { }, cancellationToken);
        logger.LogInformation("Dataset {Dataset} version {Version}: roles corrected from version {From}", dataset.Name, version.Version, fromVersion);
        return new IngestResult(dataset, version, created, await store.DiffAsync(version, CancellationToken.None));
    }

    /// <summary>Removes a staged upload the user abandoned.</summary>
    public void Discard(StagedUpload staged) => File.Delete(StagedPath(staged.Id));

    public static string ValidateName(string? name)
    {
        name = name?.Trim() ?? "";
        if (name.Length == 0) throw new DatasetValidationException("Give the dataset a name.", field: "name");
        if (StoredText.Problem(name, MaxNameLength) is { } problem) throw new DatasetValidationException("The dataset name: " + problem, field: "name");
        return name;
    }

    /// <summary>The parser reports bad bytes without a line; the file is scanned again to name it.</summary>
    private static T Guard<T>(string path, Func<string, T> read)
    {
        try
        {
            return read(path);
        }
        catch (DecoderFallbackException)
        {
            throw CsvFile.NotUtf8(path);
        }
    }

    private static string SafeFileName(string fileName)
    {
        var name = Path.GetFileName(fileName ?? "").Trim();
        return name.Length == 0 ? "upload.csv" : name.Length > 255 ? name[..255] : name;
    }

    public static string FormatBytes(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GB" : bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.#} MB" : $"{bytes / 1024.0:0.#} KB";
}

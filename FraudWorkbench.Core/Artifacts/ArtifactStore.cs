using System.Security.Cryptography;

namespace FraudWorkbench.Core.Artifacts;

/// <summary>The file's bytes no longer hash to the name it was stored under.</summary>
public sealed class ArtifactCorruptedException(string sha256, string actual)
    : Exception($"Artifact {sha256} is corrupt: its content hashes to {actual}. It will not be used.")
{
    public string Sha256 { get; } = sha256;
}

public sealed record StoredArtifact(string Sha256, long Length);

/// <summary>
/// Content-addressed files under <c>{data}/artifacts/ab/abcdef…</c>. Writes go to a temporary file in
/// the same directory tree and are renamed into place, so a reader never sees a partial file; every
/// read verifies the SHA-256 before the caller can use the content.
/// </summary>
public sealed class ArtifactStore(string rootDirectory)
{
    private readonly string root = Path.GetFullPath(rootDirectory);

    public string RootDirectory => root;

    public async Task<StoredArtifact> PutAsync(Stream content, CancellationToken cancellationToken = default)
    {
        var temporary = Path.Combine(EnsureDirectory(Path.Combine(root, "tmp")), Guid.NewGuid().ToString("N"));
        try
        {
            string sha256;
            long length;
            await using (var file = PrivateFiles.CreateNew(temporary))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
                length = file.Length;
                sha256 = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            }

            var final = PathFor(sha256);
            EnsureDirectory(Path.GetDirectoryName(final)!);
            if (File.Exists(final))
            {
                // Same content is already stored; keep the existing file.
                File.Delete(temporary);
            }
            else
            {
                File.Move(temporary, final, overwrite: true);
            }

            return new StoredArtifact(sha256, length);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public Task<StoredArtifact> PutAsync(byte[] content, CancellationToken cancellationToken = default) =>
        PutAsync(new MemoryStream(content, writable: false), cancellationToken);

    /// <summary>
    /// Moves a file whose SHA-256 the caller computed while writing it (an upload being staged) into the
    /// store, without copying it again. It must be on the same file system (under the data directory).
    /// Returns false when the store already had that content; the file is then deleted.
    /// </summary>
    public bool Import(string path, string sha256)
    {
        var final = PathFor(sha256);
        if (File.Exists(final))
        {
            File.Delete(path);
            return false;
        }

        EnsureDirectory(Path.GetDirectoryName(final)!);
        File.Move(path, final, overwrite: true);
        return true;
    }

    /// <summary>Moves a stored file back out (undoing <see cref="Import"/> when what was to reference it failed).</summary>
    public void Withdraw(string sha256, string destinationPath) => File.Move(PathFor(sha256), destinationPath, overwrite: true);

    public bool Exists(string sha256) => File.Exists(PathFor(sha256));

    /// <summary>Reads the whole artifact after verifying its checksum.</summary>
    public async Task<byte[]> ReadAllBytesAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var bytes = await File.ReadAllBytesAsync(PathFor(sha256), cancellationToken);
        var actual = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        return actual == sha256 ? bytes : throw new ArtifactCorruptedException(sha256, actual);
    }

    /// <summary>Verifies the checksum in one streaming pass, then opens the file for reading.</summary>
    public async Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var path = PathFor(sha256);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        try
        {
            var actual = Convert.ToHexString(await SHA256.HashDataAsync(stream, cancellationToken)).ToLowerInvariant();
            if (actual != sha256) throw new ArtifactCorruptedException(sha256, actual);
            stream.Position = 0;
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    public bool Delete(string sha256)
    {
        var path = PathFor(sha256);
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }

    internal string PathFor(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit) || sha256.Any(char.IsUpper))
        {
            throw new ArgumentException("An artifact is named by a lower-case hex SHA-256 (64 characters).", nameof(sha256));
        }

        return Path.Combine(root, sha256[..2], sha256);
    }

    private string EnsureDirectory(string path)
    {
        PrivateFiles.CreateDirectory(root);
        PrivateFiles.CreateDirectory(path);
        return path;
    }
}

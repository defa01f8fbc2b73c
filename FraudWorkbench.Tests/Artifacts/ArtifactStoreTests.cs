using System.Text;
using FraudWorkbench.Core.Artifacts;

namespace FraudWorkbench.Tests.Artifacts;

public sealed class ArtifactStoreTests : IDisposable
{
    // SHA-256("abc") from FIPS 180-2, appendix B.1.
    private const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private readonly string root = Path.Combine(Path.GetTempPath(), "fwb-artifacts-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task PutAsync_Content_IsNamedByItsSha256AndReadsBack()
    {
        var store = new ArtifactStore(root);

        var stored = await store.PutAsync(Encoding.ASCII.GetBytes("abc"));

        Assert.Equal(AbcSha256, stored.Sha256);
        Assert.Equal(3, stored.Length);
        Assert.True(File.Exists(Path.Combine(root, "ba", AbcSha256)));
        Assert.Equal("abc", Encoding.ASCII.GetString(await store.ReadAllBytesAsync(AbcSha256)));
        await using var stream = await store.OpenReadAsync(AbcSha256);
        Assert.Equal("abc", await new StreamReader(stream).ReadToEndAsync());
    }

    [Fact]
    public async Task PutAsync_SameContentTwice_StoresOneFileAndLeavesNoTemporaryFiles()
    {
        var store = new ArtifactStore(root);
        var content = new byte[300_000];
        new Random(7).NextBytes(content);

        var a = await store.PutAsync(content);
        var b = await store.PutAsync(new MemoryStream(content));

        Assert.Equal(a, b);
        Assert.Single(Directory.GetFiles(root, "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "tmp")));
    }

    [Fact]
    public async Task ReadAllBytesAsync_FileChangedOnDisk_ThrowsCorrupted()
    {
        var store = new ArtifactStore(root);
        var stored = await store.PutAsync(Encoding.ASCII.GetBytes("abc"));
        await File.WriteAllTextAsync(store.PathFor(stored.Sha256), "abd");

        var read = await Assert.ThrowsAsync<ArtifactCorruptedException>(() => store.ReadAllBytesAsync(stored.Sha256));
        await Assert.ThrowsAsync<ArtifactCorruptedException>(() => store.OpenReadAsync(stored.Sha256));
        Assert.Equal(AbcSha256, read.Sha256);
        Assert.Contains("a52d159f262b2c6d", read.Message); // SHA-256("abd")
    }

    [Fact]
    public async Task PutAsync_StreamFailsHalfway_LeavesNothingBehind()
    {
        var store = new ArtifactStore(root);

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync(new FailingStream()));

        Assert.Empty(Directory.GetFiles(root, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")]
    [InlineData("abc")]
    public async Task ReadAllBytesAsync_NameIsNotALowerCaseSha256_Throws(string name)
    {
        var store = new ArtifactStore(root);
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReadAllBytesAsync(name));
    }

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    private sealed class FailingStream : Stream
    {
        private int reads;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) =>
            ++reads < 3 ? count : throw new IOException("connection reset");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

namespace FraudWorkbench.Core.Artifacts;

/// <summary>
/// Uploads and artifacts hold customer data and models: on Unix they are created readable by the app's
/// user only (files 0600, directories 0700) from the first byte, not narrowed afterwards. Windows keeps
/// the folder's inherited ACL.
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode FilePermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryPermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates the directory owner-only; returns its full path. Missing parents get the usual mode (the data
    /// directory must stay reachable for the private cluster's postgres user), so create each private level.
    /// </summary>
    public static string CreateDirectory(string path) =>
        (OperatingSystem.IsWindows() ? Directory.CreateDirectory(path) : Directory.CreateDirectory(path, DirectoryPermissions)).FullName;

    /// <summary>A new file (it must not exist) open for asynchronous writing, owner-only.</summary>
    public static FileStream CreateNew(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 1 << 16,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FilePermissions;
        return new FileStream(path, options);
    }
}

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

    /// <summary>Creates the directory and its missing parents owner-only; returns its full path.</summary>
    public static string CreateDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows()) return Directory.CreateDirectory(full).FullName;
        if (!Directory.Exists(full))
        {
            // One at a time: the mode argument applies only to the last directory, parents would get the umask's.
            if (Path.GetDirectoryName(full) is { } parent) CreateDirectory(parent);
            Directory.CreateDirectory(full, DirectoryPermissions);
        }

        return full;
    }

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

namespace Dedup.Fuse;

/// <summary>
/// A read-only file system that <see cref="FuseMount"/> serves to the kernel. Paths are absolute inside the file system
/// ("/", "/a/b"). Methods may complete asynchronously: the binding blocks a FUSE worker thread (never a thread-pool
/// thread) until they do. "Not found" is a null result; any other failure is a <see cref="FuseErrorException"/> with
/// its errno, and any other exception becomes EIO and is reported to <see cref="FuseMountOptions.OnError"/>.
/// Implementations must be thread-safe: several FUSE threads call at once.
/// </summary>
public interface IReadOnlyFileSystem
{
    ValueTask<FileStat?> GetAttributesAsync(string path, CancellationToken ct);

    /// <summary>The entries of a directory, without "." and "..", in the order to list them.</summary>
    ValueTask<IReadOnlyList<DirectoryEntry>?> ReadDirectoryAsync(string path, CancellationToken ct);

    /// <summary>The target of a symbolic link, as stored.</summary>
    ValueTask<string?> ReadLinkAsync(string path, CancellationToken ct);

    /// <summary>Opens a regular file for reading; the binding disposes the result when the kernel releases it.</summary>
    ValueTask<IReadableFile?> OpenAsync(string path, CancellationToken ct);

    /// <summary>What statfs reports (df): sizes and counts, as far as the file system knows them.</summary>
    FileSystemStats GetStats();
}

/// <summary>An open file. Reads may come from several threads at once, at any offsets.</summary>
public interface IReadableFile : IDisposable
{
    /// <summary>
    /// Reads at <paramref name="offset"/> into <paramref name="buffer"/>; returns the bytes read, fewer than asked only
    /// at the end of the file (the kernel takes a short read as the end).
    /// </summary>
    ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);
}

public enum FileKind : byte
{
    Regular,
    Directory,
    Symlink,
    BlockDevice,
    CharDevice,
    Fifo,
    Socket,
}

/// <summary>What stat shows of an entry. Times are nanoseconds since the Unix epoch.</summary>
/// <param name="Permissions">The low 12 bits of st_mode: permission, set-id and sticky bits.</param>
/// <param name="DeviceNumber">st_rdev of a device node.</param>
public readonly record struct FileStat(
    FileKind Kind, uint Permissions, long Size, uint Uid, uint Gid, long MTimeNs, long CTimeNs,
    ulong DeviceNumber = 0, uint LinkCount = 1)
{
    public static FileStat Directory(uint permissions, long mtimeNs, uint uid = 0, uint gid = 0) =>
        new(FileKind.Directory, permissions, 0, uid, gid, mtimeNs, mtimeNs);

    public static FileStat Symlink(string target, long mtimeNs, uint uid = 0, uint gid = 0) =>
        new(FileKind.Symlink, 0x1FF, System.Text.Encoding.UTF8.GetByteCount(target), uid, gid, mtimeNs, mtimeNs);
}

public readonly record struct DirectoryEntry(string Name, FileStat Stat);

public readonly record struct FileSystemStats(long TotalBytes, long FileCount);

/// <summary>A failure with a specific errno (ENOTDIR, EACCES, ...), answered to the kernel as it is and not reported as an error.</summary>
public sealed class FuseErrorException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;
}

/// <summary>Linux errno values the binding answers with.</summary>
public static class Errno
{
    public const int ENOENT = 2, EIO = 5, EBADF = 9, EACCES = 13, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EROFS = 30,
        ERANGE = 34, ENODATA = 61, ECANCELED = 125;
}

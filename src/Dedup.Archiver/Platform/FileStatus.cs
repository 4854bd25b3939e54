using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dedup.Format;

namespace Dedup.Archiver.Platform;

/// <summary>
/// What lstat tells about a path: everything a tree entry records and change detection needs. <see cref="Links"/> is
/// st_nlink; <see cref="Blocks"/> counts 512-byte units allocated (what shows a file is sparse).
/// </summary>
public readonly record struct FileStatus(
    NodeType Type, uint Mode, uint Uid, uint Gid, long Size, ulong Inode, ulong Device, ulong Rdev, long MTimeNs, long CTimeNs, long ATimeNs,
    uint Links = 0, long Blocks = 0);

/// <summary>
/// lstat through Linux statx(2). .NET's FileSystemInfo has no inode, ctime, owner or device, which change
/// detection and restore need. statx's struct has one layout on every architecture, so it is read from a
/// byte buffer at fixed offsets: no unsafe code and no per-architecture struct definitions.
/// </summary>
public static class PosixFile
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7FF;

    [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);

    [ThreadStatic] private static byte[]? t_buffer; // the call is synchronous, so one buffer per thread serves every call

    /// <summary>Stats a path without following a final symlink. Throws IOException (with errno text) when it cannot.</summary>
    public static FileStatus LStat(string path) =>
        TryLStat(path, out var st) ? st : throw PosixErrors.ToException(PosixErrors.ENOENT, path);

    /// <summary>Like <see cref="LStat"/>, but false when nothing is at the path (one call answers "exists?" and "what is it?").</summary>
    public static bool TryLStat(string path, out FileStatus status)
    {
        var buf = t_buffer ??= new byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buf) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == PosixErrors.ENOENT) { status = default; return false; }
            throw PosixErrors.ToException(errno, path);
        }
        status = Parse(buf);
        return true;
    }

    private static FileStatus Parse(ReadOnlySpan<byte> s)
    {
        uint mode = BinaryPrimitives.ReadUInt16LittleEndian(s[28..]);
        return new FileStatus(
            TypeOf(mode),
            mode & 0xFFF,
            BinaryPrimitives.ReadUInt32LittleEndian(s[20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[40..]),
            BinaryPrimitives.ReadUInt64LittleEndian(s[32..]),
            MakeDev(BinaryPrimitives.ReadUInt32LittleEndian(s[136..]), BinaryPrimitives.ReadUInt32LittleEndian(s[140..])),
            MakeDev(BinaryPrimitives.ReadUInt32LittleEndian(s[128..]), BinaryPrimitives.ReadUInt32LittleEndian(s[132..])),
            Time(s[112..]),
            Time(s[96..]),
            Time(s[64..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[48..]));
    }

    private static long Time(ReadOnlySpan<byte> ts) =>
        BinaryPrimitives.ReadInt64LittleEndian(ts) * 1_000_000_000 + BinaryPrimitives.ReadUInt32LittleEndian(ts[8..]);

    /// <summary>The glibc encoding of a device number from its major and minor parts.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    private static NodeType TypeOf(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => NodeType.File,
        0x4000 => NodeType.Directory,
        0xA000 => NodeType.Symlink,
        0x6000 => NodeType.BlockDevice,
        0x2000 => NodeType.CharDevice,
        0x1000 => NodeType.Fifo,
        0xC000 => NodeType.Socket,
        _ => NodeType.File,
    };
}

using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Dedup.Archiver.Platform;

/// <summary>The POSIX calls restore and backup need that .NET does not offer: owners, nanosecond times, special files, user names.</summary>
public static class PosixCalls
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    [DllImport("libc", SetLastError = true, EntryPoint = "lchown")]
    private static extern int LChown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint uid, uint gid);

    [DllImport("libc", SetLastError = true, EntryPoint = "utimensat")]
    private static extern int UtimeNsAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, long[] times, int flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "mkfifo")]
    private static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true, EntryPoint = "mknod")]
    private static extern int MkNod([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode, ulong dev);

    [DllImport("libc", SetLastError = true, EntryPoint = "getpwuid")]
    private static extern IntPtr GetPwUid(uint uid);

    [DllImport("libc", SetLastError = true, EntryPoint = "getgrgid")]
    private static extern IntPtr GetGrGid(uint gid);

    [DllImport("libc", SetLastError = true, EntryPoint = "rename")]
    private static extern int Rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);

    [DllImport("libc", SetLastError = true, EntryPoint = "link")]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);

    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint GetEUid();

    public static void SetOwner(string path, uint uid, uint gid) => Check(LChown(path, uid, gid), path);

    /// <summary>Sets atime and mtime with nanosecond precision, on the link itself for symlinks.</summary>
    public static void SetTimes(string path, long atimeNs, long mtimeNs)
    {
        long[] t = [Math.DivRem(atimeNs, 1_000_000_000, out long an), an, Math.DivRem(mtimeNs, 1_000_000_000, out long mn), mn];
        // Normalise negative remainders (times before 1970) into [0, 1e9).
        if (t[1] < 0) { t[0]--; t[1] += 1_000_000_000; }
        if (t[3] < 0) { t[2]--; t[3] += 1_000_000_000; }
        Check(UtimeNsAt(AtFdCwd, path, t, AtSymlinkNoFollow), path);
    }

    /// <summary>
    /// Renames a file; without <paramref name="replace"/> an entry that appeared at the destination meanwhile is kept
    /// (<see cref="Dedup.Storage.ExclusiveRename"/>). One system call, where File.Move adds two stats.
    /// </summary>
    public static void Rename(string from, string to, bool replace)
    {
        if (!replace)
        {
            if (!Dedup.Storage.ExclusiveRename.TryMove(from, to)) throw new IOException($"{to} already exists");
            return;
        }
        if (Rename(from, to) != 0) throw PosixErrors.ToException(Marshal.GetLastPInvokeError(), to);
    }

    /// <summary>Makes <paramref name="newPath"/> a hard link to <paramref name="existing"/> (link(2) never follows a symlink); fails if the new name exists.</summary>
    public static void CreateHardLink(string existing, string newPath) => Check(Link(existing, newPath), newPath);

    public static void MakeFifo(string path, uint mode) => Check(MkFifo(path, mode), path);

    public static void MakeDevice(string path, bool block, uint mode, ulong rdev) =>
        Check(MkNod(path, (block ? 0x6000u : 0x2000u) | mode, rdev), path);

    private static void Check(int rc, string path)
    {
        if (rc != 0) throw PosixErrors.ToException(Marshal.GetLastPInvokeError(), path);
    }

    private static readonly ConcurrentDictionary<uint, string> Users = new(), Groups = new();
    private static readonly Lock NameLock = new();

    /// <summary>The user name of a uid, or "" when unknown. getpwuid is not thread-safe, hence the lock; results are cached.</summary>
    public static string UserName(uint uid) => Users.GetOrAdd(uid, u => LookUp(() => GetPwUid(u)));
    public static string GroupName(uint gid) => Groups.GetOrAdd(gid, g => LookUp(() => GetGrGid(g)));

    private static string LookUp(Func<IntPtr> call)
    {
        lock (NameLock)
        {
            var entry = call();
            // Both struct passwd and struct group begin with a char* name.
            return entry == IntPtr.Zero ? "" : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry)) ?? "";
        }
    }
}

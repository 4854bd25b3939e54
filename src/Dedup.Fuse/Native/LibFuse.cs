using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace Dedup.Fuse.Native;

/// <summary>
/// The libfuse 3 entry points the binding calls (libfuse3.so.3, API 3.12+ as in Debian 12's 3.14). Versioned names
/// (fuse_new_31, fuse_loop_mt_312) are bound explicitly: the library exports several fuse_new and fuse_loop_mt
/// versions, and the plain names would leave the choice to the dynamic linker.
/// </summary>
internal static unsafe partial class LibFuse
{
    private const string Library = "libfuse3.so.3";

    [LibraryImport(Library, EntryPoint = "fuse_new_31")]
    public static partial nint New(FuseArgs* args, FuseOperations* operations, nuint operationsSize, nint userData);

    [LibraryImport(Library, EntryPoint = "fuse_mount")]
    public static partial int Mount(nint fuse, byte* mountPoint);

    [LibraryImport(Library, EntryPoint = "fuse_unmount")]
    public static partial void Unmount(nint fuse);

    [LibraryImport(Library, EntryPoint = "fuse_destroy")]
    public static partial void Destroy(nint fuse);

    [LibraryImport(Library, EntryPoint = "fuse_loop_mt_312")]
    public static partial int LoopMultiThreaded(nint fuse, nint loopConfig);

    [LibraryImport(Library, EntryPoint = "fuse_exit")]
    public static partial void Exit(nint fuse);

    [LibraryImport(Library, EntryPoint = "fuse_get_context")]
    public static partial FuseContext* GetContext();

    [LibraryImport(Library, EntryPoint = "fuse_opt_free_args")]
    public static partial void FreeArgs(FuseArgs* args);

    [LibraryImport(Library, EntryPoint = "fuse_loop_cfg_create")]
    public static partial nint LoopConfigCreate();

    [LibraryImport(Library, EntryPoint = "fuse_loop_cfg_destroy")]
    public static partial void LoopConfigDestroy(nint config);

    [LibraryImport(Library, EntryPoint = "fuse_loop_cfg_set_max_threads")]
    public static partial void LoopConfigSetMaxThreads(nint config, uint value);

    [LibraryImport(Library, EntryPoint = "fuse_loop_cfg_set_idle_threads")]
    public static partial void LoopConfigSetIdleThreads(nint config, uint value);

    [LibraryImport(Library, EntryPoint = "fuse_set_log_func")]
    public static partial void SetLogFunction(delegate* unmanaged<int, byte*, nint, void> function);

    [LibraryImport(Library, EntryPoint = "fuse_version")]
    public static partial int Version();
}

/// <summary>The libc calls the binding needs: unmounting, and formatting libfuse's log messages.</summary>
internal static unsafe partial class LibC
{
    public const int MntDetach = 2;

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true)]
    public static partial int Umount2(byte* target, int flags);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEUid();

    /// <summary>va_list is passed as a pointer on x86-64 (an array type) and on arm64 (a large struct).</summary>
    [LibraryImport("libc", EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, byte* format, nint args);
}

/// <summary>struct fuse_args (fuse_opt.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseArgs
{
    public int Argc;
    public byte** Argv;
    public int Allocated;
}

/// <summary>struct fuse_context (fuse.h); 40 bytes on x86-64.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseContext
{
    public nint Fuse;
    public uint Uid;
    public uint Gid;
    public int Pid;
    public nint PrivateData;
    public uint Umask;
}

/// <summary>
/// struct fuse_file_info (fuse_common.h, 3.14): int flags, 32 bits of bit fields (writepage, direct_io, keep_cache,
/// flush, nonseekable, flock_release, cache_readdir, noflush), 32 bits of padding, then fh at offset 16. 40 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FuseFileInfo
{
    public const uint KeepCacheBit = 1u << 2;

    [FieldOffset(0)] public int Flags;
    [FieldOffset(4)] public uint BitFields;
    [FieldOffset(16)] public ulong FileHandle;
}

/// <summary>struct stat on Linux x86-64 (glibc), 144 bytes; offsets checked with offsetof against the system headers.</summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct Stat
{
    [FieldOffset(0)] public ulong Dev;
    [FieldOffset(8)] public ulong Ino;
    [FieldOffset(16)] public ulong NLink;
    [FieldOffset(24)] public uint Mode;
    [FieldOffset(28)] public uint Uid;
    [FieldOffset(32)] public uint Gid;
    [FieldOffset(40)] public ulong RDev;
    [FieldOffset(48)] public long Size;
    [FieldOffset(56)] public long BlkSize;
    [FieldOffset(64)] public long Blocks;
    [FieldOffset(72)] public long ATimeSec;
    [FieldOffset(80)] public long ATimeNsec;
    [FieldOffset(88)] public long MTimeSec;
    [FieldOffset(96)] public long MTimeNsec;
    [FieldOffset(104)] public long CTimeSec;
    [FieldOffset(112)] public long CTimeNsec;
}

/// <summary>struct statvfs on Linux x86-64 (glibc), 112 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 112)]
internal struct StatVfs
{
    [FieldOffset(0)] public ulong BlockSize;
    [FieldOffset(8)] public ulong FragmentSize;
    [FieldOffset(16)] public ulong Blocks;
    [FieldOffset(24)] public ulong BlocksFree;
    [FieldOffset(32)] public ulong BlocksAvailable;
    [FieldOffset(40)] public ulong Files;
    [FieldOffset(48)] public ulong FilesFree;
    [FieldOffset(56)] public ulong FilesAvailable;
    [FieldOffset(64)] public ulong FsId;
    [FieldOffset(72)] public ulong Flag;
    [FieldOffset(80)] public ulong NameMax;
}

/// <summary>struct fuse_config (fuse.h, 3.14), 128 bytes: only the fields the binding sets.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct FuseConfig
{
    [FieldOffset(24)] public double EntryTimeout;
    [FieldOffset(32)] public double NegativeTimeout;
    [FieldOffset(40)] public double AttrTimeout;
    [FieldOffset(64)] public int UseIno;
    [FieldOffset(76)] public int KernelCache;
    [FieldOffset(104)] public int NullPathOk;
}

/// <summary>
/// struct fuse_operations (fuse.h, 3.14): 42 function pointers, in this order. Unused ones stay null; libfuse then
/// answers ENOSYS (and the read-only mount answers EROFS to writes before they reach it).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseOperations
{
    public delegate* unmanaged<byte*, Stat*, FuseFileInfo*, int> GetAttr;
    public delegate* unmanaged<byte*, byte*, nuint, int> ReadLink;
    public nint MkNod, MkDir, Unlink, RmDir, Symlink, Rename, Link, ChMod, ChOwn, Truncate;
    public delegate* unmanaged<byte*, FuseFileInfo*, int> Open;
    public delegate* unmanaged<byte*, byte*, nuint, long, FuseFileInfo*, int> Read;
    public nint Write;
    public delegate* unmanaged<byte*, StatVfs*, int> StatFs;
    public nint Flush;
    public delegate* unmanaged<byte*, FuseFileInfo*, int> Release;
    public nint FSync, SetXAttr;
    public delegate* unmanaged<byte*, byte*, byte*, nuint, int> GetXAttr;
    public delegate* unmanaged<byte*, byte*, nuint, int> ListXAttr;
    public nint RemoveXAttr;
    public delegate* unmanaged<byte*, FuseFileInfo*, int> OpenDir;
    public delegate* unmanaged<byte*, void*, delegate* unmanaged<void*, byte*, Stat*, long, int, int>, long, FuseFileInfo*, int, int> ReadDir;
    public delegate* unmanaged<byte*, FuseFileInfo*, int> ReleaseDir;
    public nint FSyncDir;
    public delegate* unmanaged<nint, FuseConfig*, nint> Init;
    public nint Destroy;
    public delegate* unmanaged<byte*, int, int> Access;
    public nint Create, Lock, UTimeNs, BMap, IoCtl, Poll, WriteBuf, ReadBuf, FLock, FAllocate, CopyFileRange, LSeek;
}

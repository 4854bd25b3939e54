using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Dedup.Fuse.Native;

namespace Dedup.Fuse;

/// <summary>
/// The functions libfuse calls, one per operation. Each runs on a FUSE worker thread, finds its mount through the
/// request context (so one process can hold several mounts), blocks on the file system's task, and returns 0, a byte
/// count or a negative errno. Every exception is caught here: none may unwind into native code.
/// </summary>
public sealed unsafe partial class FuseMount
{
    private const int ReadDirPlus = 1, FillDirPlus = 2;
    private const uint S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFSOCK = 0xC000;
    private const int O_ACCMODE = 3;
    private const ulong ST_RDONLY = 1;

    private static void FillOperations(FuseOperations* ops)
    {
        ops->GetAttr = &OnGetAttr;
        ops->ReadLink = &OnReadLink;
        ops->Open = &OnOpen;
        ops->Read = &OnRead;
        ops->StatFs = &OnStatFs;
        ops->Release = &OnRelease;
        ops->GetXAttr = &OnGetXAttr;
        ops->ListXAttr = &OnListXAttr;
        ops->OpenDir = &OnOpenDir;
        ops->ReadDir = &OnReadDir;
        ops->ReleaseDir = &OnRelease;
        ops->Init = &OnInit;
    }

    private static FuseMount Current =>
        GCHandle.FromIntPtr(LibFuse.GetContext()->PrivateData).Target as FuseMount
        ?? throw new InvalidOperationException("a FUSE request arrived for a mount that is gone");

    private static string PathOf(byte* path) =>
        path == null ? "" : Marshal.PtrToStringUTF8((nint)path) ?? "";

    /// <summary>Waits for the file system's answer on this FUSE thread. No synchronization context exists here, so
    /// continuations run on the thread pool and cannot wait for this thread.</summary>
    private static T Wait<T>(ValueTask<T> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static int Failed(FuseMount? mount, string operation, byte* path, Exception e)
    {
        try
        {
            if (e is FuseErrorException f) return -f.Errno;
            if (e is OperationCanceledException && mount is { _stopping.IsCancellationRequested: true }) return -Errno.EIO;
            mount?._options.OnError?.Invoke($"{operation} {PathOf(path)}", e);
        }
        catch
        {
            // A failing error sink must not unwind into libfuse either.
        }
        return -Errno.EIO;
    }

    [UnmanagedCallersOnly]
    private static nint OnInit(nint connection, FuseConfig* config)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            double timeout = mount._options.AttributeTimeout.TotalSeconds;
            config->EntryTimeout = timeout;
            config->AttrTimeout = timeout;
            config->NegativeTimeout = 0;
            // Contents never change: the kernel may keep cached pages across opens.
            config->KernelCache = 1;
            config->UseIno = 0;
            mount._initialized.TrySetResult();
        }
        catch (Exception e)
        {
            Failed(mount, "init", null, e);
        }
        return LibFuse.GetContext()->PrivateData;
    }

    [UnmanagedCallersOnly]
    private static int OnGetAttr(byte* path, Stat* stat, FuseFileInfo* info)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            var found = Wait(mount._fs.GetAttributesAsync(PathOf(path), mount._stopping.Token));
            if (found is not { } s) return -Errno.ENOENT;
            Fill(stat, s);
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "getattr", path, e);
        }
    }

    private static void Fill(Stat* st, in FileStat s)
    {
        *st = default;
        st->Mode = TypeBits(s.Kind) | (s.Permissions & 0xFFF);
        st->NLink = s.LinkCount;
        st->Uid = s.Uid;
        st->Gid = s.Gid;
        st->Size = s.Size;
        st->RDev = s.DeviceNumber;
        st->BlkSize = 128 * 1024;
        st->Blocks = (s.Size + 511) / 512;
        (st->MTimeSec, st->MTimeNsec) = Split(s.MTimeNs);
        (st->ATimeSec, st->ATimeNsec) = (st->MTimeSec, st->MTimeNsec);
        (st->CTimeSec, st->CTimeNsec) = Split(s.CTimeNs);
    }

    private static (long Seconds, long Nanoseconds) Split(long ns)
    {
        long seconds = Math.DivRem(ns, 1_000_000_000, out long rest);
        return rest < 0 ? (seconds - 1, rest + 1_000_000_000) : (seconds, rest);
    }

    private static uint TypeBits(FileKind kind) => kind switch
    {
        FileKind.Directory => S_IFDIR,
        FileKind.Symlink => S_IFLNK,
        FileKind.BlockDevice => S_IFBLK,
        FileKind.CharDevice => S_IFCHR,
        FileKind.Fifo => S_IFIFO,
        FileKind.Socket => S_IFSOCK,
        _ => S_IFREG,
    };

    [UnmanagedCallersOnly]
    private static int OnReadLink(byte* path, byte* buffer, nuint size)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            var target = Wait(mount._fs.ReadLinkAsync(PathOf(path), mount._stopping.Token));
            if (target is null) return -Errno.ENOENT;
            if (size == 0) return -Errno.EINVAL;
            // The buffer holds size bytes including the terminating NUL; a longer target is cut, as readlink(2) does.
            var bytes = Encoding.UTF8.GetBytes(target);
            int n = (int)Math.Min((ulong)bytes.Length, size - 1);
            bytes.AsSpan(0, n).CopyTo(new Span<byte>(buffer, n));
            buffer[n] = 0;
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "readlink", path, e);
        }
    }

    private ulong AddHandle(object handle)
    {
        ulong id = (ulong)Interlocked.Increment(ref _lastHandle);
        _handles[id] = handle;
        return id;
    }

    [UnmanagedCallersOnly]
    private static int OnOpen(byte* path, FuseFileInfo* info)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            if ((info->Flags & O_ACCMODE) != 0) return -Errno.EROFS;
            var file = Wait(mount._fs.OpenAsync(PathOf(path), mount._stopping.Token));
            if (file is null) return -Errno.ENOENT;
            info->FileHandle = mount.AddHandle(file);
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "open", path, e);
        }
    }

    [UnmanagedCallersOnly]
    private static int OnRead(byte* path, byte* buffer, nuint size, long offset, FuseFileInfo* info)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            if (!mount._handles.TryGetValue(info->FileHandle, out var handle) || handle is not IReadableFile file) return -Errno.EBADF;
            if (offset < 0) return -Errno.EINVAL;
            // The kernel asks for at most max_read bytes (128 KiB .. 1 MiB); the buffer lives until this returns, and
            // the read has completed by then.
            using var native = new KernelBuffer((nint)buffer, (int)Math.Min(size, int.MaxValue));
            return Wait(file.ReadAsync(offset, native.Memory, mount._stopping.Token));
        }
        catch (Exception e)
        {
            return Failed(mount, "read", path, e);
        }
    }

    [UnmanagedCallersOnly]
    private static int OnRelease(byte* path, FuseFileInfo* info)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            if (mount._handles.TryRemove(info->FileHandle, out var handle)) (handle as IDisposable)?.Dispose();
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "release", path, e);
        }
    }

    [UnmanagedCallersOnly]
    private static int OnStatFs(byte* path, StatVfs* stat)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            var s = mount._fs.GetStats();
            const ulong block = 4096;
            *stat = new StatVfs
            {
                BlockSize = block,
                FragmentSize = block,
                Blocks = (ulong)Math.Max(0, s.TotalBytes) / block + 1,
                Files = (ulong)Math.Max(0, s.FileCount),
                Flag = ST_RDONLY,
                NameMax = 255,
            };
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "statfs", path, e);
        }
    }

    /// <summary>No extended attributes (yet): ENODATA for each, so ls, cp -a and getfattr carry on without them.</summary>
    [UnmanagedCallersOnly]
    private static int OnGetXAttr(byte* path, byte* name, byte* value, nuint size) => -Errno.ENODATA;

    [UnmanagedCallersOnly]
    private static int OnListXAttr(byte* path, byte* list, nuint size) => 0;

    [UnmanagedCallersOnly]
    private static int OnOpenDir(byte* path, FuseFileInfo* info)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            var entries = Wait(mount._fs.ReadDirectoryAsync(PathOf(path), mount._stopping.Token));
            if (entries is null) return -Errno.ENOENT;
            info->FileHandle = mount.AddHandle(new DirectoryListing(entries));
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "opendir", path, e);
        }
    }

    private sealed record DirectoryListing(IReadOnlyList<DirectoryEntry> Entries);

    /// <summary>
    /// Offset mode: entry i (0 and 1 are "." and "..") is given the offset i + 1, and listing stops when libfuse's
    /// buffer is full; the kernel asks again from the last offset it took. The listing was read once, at opendir.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int OnReadDir(byte* path, void* buffer, delegate* unmanaged<void*, byte*, Stat*, long, int, int> filler, long offset, FuseFileInfo* info, int flags)
    {
        FuseMount? mount = null;
        try
        {
            mount = Current;
            if (!mount._handles.TryGetValue(info->FileHandle, out var handle) || handle is not DirectoryListing listing) return -Errno.EBADF;
            bool plus = (flags & ReadDirPlus) != 0;
            var entries = listing.Entries;
            Span<byte> small = stackalloc byte[512];
            for (long i = Math.Max(0, offset); i < entries.Count + 2L; i++)
            {
                Stat st = default;
                string name;
                int fillFlags = 0;
                if (i < 2)
                {
                    name = i == 0 ? "." : "..";
                    st.Mode = S_IFDIR;
                }
                else
                {
                    var entry = entries[(int)(i - 2)];
                    name = entry.Name;
                    if (plus)
                    {
                        Fill(&st, entry.Stat);
                        fillFlags = FillDirPlus;
                    }
                    else st.Mode = TypeBits(entry.Stat.Kind);
                }
                int length = Encoding.UTF8.GetByteCount(name);
                byte[]? rented = length + 1 > small.Length ? ArrayPool<byte>.Shared.Rent(length + 1) : null;
                try
                {
                    var bytes = rented ?? small;
                    Encoding.UTF8.GetBytes(name, bytes);
                    bytes[length] = 0;
                    fixed (byte* p = bytes)
                    {
                        if (filler(buffer, p, &st, i + 1, fillFlags) != 0) break;
                    }
                }
                finally
                {
                    if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
                }
            }
            return 0;
        }
        catch (Exception e)
        {
            return Failed(mount, "readdir", path, e);
        }
    }

    /// <summary>A <see cref="Memory{T}"/> over the kernel's read buffer, valid only during the callback.</summary>
    private sealed class KernelBuffer(nint pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new((void*)pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Dedup.Fuse.Native;

namespace Dedup.Fuse;

/// <summary>
/// A read-only file system mounted through libfuse 3's high-level API. <see cref="Mount"/> returns once the kernel has
/// the mount; a dedicated thread runs libfuse's multi-threaded loop, whose workers call back into
/// <see cref="IReadOnlyFileSystem"/>. The loop ends when the mount goes away: by <see cref="RequestUnmount"/> or
/// <see cref="Dispose"/>, or by `fusermount3 -u` from outside; <see cref="Completion"/> then completes.
/// libfuse's own signal handlers are not installed: the process's SIGINT/SIGTERM handling decides when to unmount.
/// </summary>
public sealed unsafe partial class FuseMount : IDisposable
{
    private const int EBUSY = 16, EINVAL = 22, ENOENT = 2;

    private readonly IReadOnlyFileSystem _fs;
    private readonly FuseMountOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    // Open files and directory listings by the handle the kernel passes back (fuse_file_info.fh).
    private readonly ConcurrentDictionary<ulong, object> _handles = new();
    private readonly TaskCompletionSource _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _unmountLock = new();
    private long _lastHandle;
    private GCHandle _self;
    private FuseOperations* _operations;
    private nint _fuse;
    private nint _loopConfig;
    private Thread? _loop;
    private int _disposed;

    private FuseMount(string mountPoint, IReadOnlyFileSystem fs, FuseMountOptions options)
    {
        MountPoint = mountPoint;
        _fs = fs;
        _options = options;
    }

    /// <summary>The absolute path of the mount point.</summary>
    public string MountPoint { get; }

    /// <summary>Completes when the kernel's INIT request has been answered: the file system is serving requests.</summary>
    public Task Initialized => _initialized.Task;

    /// <summary>Completes with libfuse's loop result (0 for a clean end) once the mount is gone.</summary>
    public Task<int> Completion => _completion.Task;

    /// <summary>Mounts <paramref name="fs"/> read-only at <paramref name="mountPoint"/>, an existing directory.</summary>
    /// <exception cref="FuseUnavailableException">libfuse3 or /dev/fuse is missing.</exception>
    /// <exception cref="IOException">The mount failed; the message holds libfuse's reason.</exception>
    public static FuseMount Mount(string mountPoint, IReadOnlyFileSystem fs, FuseMountOptions? options = null)
    {
        EnsureAvailable();
        var full = Path.GetFullPath(mountPoint);
        CheckMountPoint(full);
        var mount = new FuseMount(full, fs, options ?? new FuseMountOptions());
        try
        {
            mount.Start();
            return mount;
        }
        catch
        {
            mount.Release();
            throw;
        }
    }

    private static void CheckMountPoint(string path)
    {
        const int ENOTCONN = 107;
        try
        {
            if ((File.GetAttributes(path) & FileAttributes.Directory) != 0) return;
        }
        catch (IOException e) when (e.HResult == ENOTCONN)
        {
            throw new IOException($"{path} is a FUSE mount whose process has ended; unmount it with 'fusermount3 -u {path}' and try again", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Said below, as for a file.
        }
        throw new DirectoryNotFoundException($"the mount point {path} is not a directory; create it first (mkdir)");
    }

    /// <summary>Throws <see cref="FuseUnavailableException"/> with what to install when FUSE cannot work here.</summary>
    public static void EnsureAvailable()
    {
        // The struct layouts in Native/LibFuse.cs are those of glibc on x86-64; arm64's struct stat differs.
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            throw new FuseUnavailableException($"FUSE mounts are supported on x86-64 Linux only so far, not on {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}");
        try
        {
            LibFuse.Version();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new FuseUnavailableException("FUSE is not available: libfuse3 (libfuse3.so.3) is not installed; on Debian or Ubuntu: apt-get install fuse3", e);
        }
        if (!File.Exists("/dev/fuse"))
            throw new FuseUnavailableException("FUSE is not available: /dev/fuse is missing (load the module with 'modprobe fuse'; in a container, pass the device in)");
        NativeLog.Install();
    }

    private void Start()
    {
        _self = GCHandle.Alloc(this);
        _operations = (FuseOperations*)NativeMemory.AllocZeroed((nuint)sizeof(FuseOperations));
        FillOperations(_operations);
        var mountOptions = "ro,default_permissions,fsname=" + EscapeOption(_options.FileSystemName) + ",subtype=dedup"
                           + (_options.AllowOther ? ",allow_other" : "")
                           + (_options.AutoUnmount && FusermountInstalled() ? ",auto_unmount" : "");
        using (var log = NativeLog.Capture())
        {
            _fuse = CreateFuse(["dedup", "-o", mountOptions]);
            if (_fuse == 0) throw new IOException($"FUSE refused the mount options: {log.Text("fuse_new failed")}");
            var path = Encoding.UTF8.GetBytes(MountPoint + "\0");
            fixed (byte* p = path)
            {
                if (LibFuse.Mount(_fuse, p) != 0)
                    throw new IOException($"could not mount on {MountPoint}: {log.Text("fuse_mount failed")}");
            }
        }
        _loopConfig = LibFuse.LoopConfigCreate();
        LibFuse.LoopConfigSetMaxThreads(_loopConfig, (uint)Math.Clamp(_options.MaxThreads, 1, 256));
        LibFuse.LoopConfigSetIdleThreads(_loopConfig, (uint)Math.Clamp(_options.MaxThreads / 2, 1, 256));
        _loop = new Thread(RunLoop) { IsBackground = true, Name = "fuse " + MountPoint };
        _loop.Start();
    }

    /// <summary>fuse_new with a fresh argument vector; libfuse parses it and keeps nothing of it.</summary>
    private nint CreateFuse(string[] argv)
    {
        var strings = argv.Select(a => Marshal.StringToCoTaskMemUTF8(a)).ToArray();
        var vector = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Length + 1), (nuint)sizeof(nint));
        try
        {
            for (int i = 0; i < strings.Length; i++) vector[i] = (byte*)strings[i];
            var args = new FuseArgs { Argc = strings.Length, Argv = vector, Allocated = 0 };
            var fuse = LibFuse.New(&args, _operations, (nuint)sizeof(FuseOperations), GCHandle.ToIntPtr(_self));
            // Option parsing may have replaced the vector with one libfuse allocated; this frees only that.
            LibFuse.FreeArgs(&args);
            return fuse;
        }
        finally
        {
            NativeMemory.Free(vector);
            foreach (var s in strings) Marshal.FreeCoTaskMem(s);
        }
    }

    private static bool FusermountInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Any(dir => File.Exists(Path.Join(dir, "fusermount3")));

    private static string EscapeOption(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,");

    private void RunLoop()
    {
        int rc = -1;
        try
        {
            rc = LibFuse.LoopMultiThreaded(_fuse, _loopConfig);
        }
        finally
        {
            _initialized.TrySetCanceled();
            _completion.TrySetResult(rc);
        }
    }

    /// <summary>
    /// Asks the kernel to end the mount. When programs still use it, the mount is detached instead (lazy unmount):
    /// it disappears from the directory tree at once and ends when they close their files.
    /// </summary>
    public UnmountOutcome RequestUnmount()
    {
        lock (_unmountLock)
        {
            if (_completion.Task.IsCompleted || _loop is null) return UnmountOutcome.AlreadyGone;
            return LibC.GetEUid() == 0 ? UnmountAsRoot() : UnmountWithFusermount();
        }
    }

    private UnmountOutcome UnmountAsRoot()
    {
        var path = Encoding.UTF8.GetBytes(MountPoint + "\0");
        fixed (byte* p = path)
        {
            if (LibC.Umount2(p, 0) == 0) return UnmountOutcome.Unmounted;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is EINVAL or ENOENT) return UnmountOutcome.AlreadyGone;
            if (errno == EBUSY && LibC.Umount2(p, LibC.MntDetach) == 0) return UnmountOutcome.DetachedWhileBusy;
            throw new IOException($"could not unmount {MountPoint}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Unprivileged: fusermount3 (set-uid root) unmounts what this user mounted.</summary>
    private UnmountOutcome UnmountWithFusermount()
    {
        if (RunFusermount("-u", "-q") == 0) return UnmountOutcome.Unmounted;
        if (_completion.Task.IsCompleted) return UnmountOutcome.AlreadyGone;
        if (RunFusermount("-u", "-q", "-z") == 0) return UnmountOutcome.DetachedWhileBusy;
        throw new IOException($"could not unmount {MountPoint}: fusermount3 -u failed; unmount it with 'fusermount3 -uz {MountPoint}'");
    }

    private int RunFusermount(params string[] flags)
    {
        var psi = new ProcessStartInfo("fusermount3") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var f in flags) psi.ArgumentList.Add(f);
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(MountPoint);
        using var p = Process.Start(psi) ?? throw new IOException("could not start fusermount3");
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>
    /// Unmounts (detaching if busy), waits until the kernel lets go of the mount, then frees libfuse's state.
    /// Blocks while programs keep files open in a detached mount.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try
        {
            RequestUnmount();
        }
        finally
        {
            // Reads still running (a detached mount's last users) fail fast instead of finishing slow fetches.
            _stopping.Cancel();
            _loop?.Join();
            Release();
        }
    }

    private void Release()
    {
        _stopping.Cancel();
        if (_fuse != 0)
        {
            // Closes the device; the kernel mount is already gone, or this unmounts it (lazily) when the loop failed.
            LibFuse.Unmount(_fuse);
            LibFuse.Destroy(_fuse);
            _fuse = 0;
        }
        if (_loopConfig != 0) LibFuse.LoopConfigDestroy(_loopConfig);
        _loopConfig = 0;
        if (_operations != null) NativeMemory.Free(_operations);
        _operations = null;
        if (_self.IsAllocated) _self.Free();
        foreach (var key in _handles.Keys)
            if (_handles.TryRemove(key, out var handle)) (handle as IDisposable)?.Dispose();
        _completion.TrySetResult(-1);
        _stopping.Dispose();
    }
}

namespace Dedup.Fuse;

public sealed record FuseMountOptions
{
    /// <summary>The source column of the mount table ("dedup" shows as "dedup on /mnt type fuse.dedup").</summary>
    public string FileSystemName { get; init; } = "dedup";

    /// <summary>
    /// Let other users than the one who mounted in (mount option allow_other). The kernel still checks each file's
    /// mode and owner (default_permissions is always on). A user other than root needs user_allow_other in
    /// /etc/fuse.conf for this.
    /// </summary>
    public bool AllowOther { get; init; }

    /// <summary>
    /// If this process dies without unmounting (SIGKILL, a crash), fusermount3 unmounts for it, instead of leaving a
    /// mount that answers "Transport endpoint is not connected" (mount option auto_unmount). libfuse then mounts through
    /// fusermount3 (package fuse3), even as root; without fusermount3 on PATH this is left off.
    /// </summary>
    public bool AutoUnmount { get; init; } = true;

    /// <summary>FUSE worker threads at most: each blocks while a read is served, so this bounds requests in flight.</summary>
    public int MaxThreads { get; init; } = 8;

    /// <summary>How long the kernel may keep names and attributes without asking again.</summary>
    public TimeSpan AttributeTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Called when serving a request failed unexpectedly (the request is answered with EIO), with the operation and
    /// path ("read /a/b"). Called on FUSE threads, possibly at once; it must not block for long.
    /// </summary>
    public Action<string, Exception>? OnError { get; init; }
}

/// <summary>FUSE cannot be used here: libfuse3 is missing, or the kernel offers no /dev/fuse.</summary>
public sealed class FuseUnavailableException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>What an unmount request did.</summary>
public enum UnmountOutcome
{
    /// <summary>The mount is gone.</summary>
    Unmounted,

    /// <summary>Programs still had files open: the mount left the directory tree, and ends when they close them.</summary>
    DetachedWhileBusy,

    /// <summary>The mount had already ended (unmounted from outside).</summary>
    AlreadyGone,
}

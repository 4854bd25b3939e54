using Dedup.Format;

namespace Dedup.Archiver.Backup;

public sealed record BackupOptions
{
    /// <summary>Files or directories to back up; made absolute before use.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];
    public string Host { get; init; } = Environment.MachineName;
    public string Username { get; init; } = Environment.UserName;
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Exclude patterns (see <see cref="Filtering.PathFilter"/>).</summary>
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public bool OneFileSystem { get; init; }
    /// <summary>An explicit parent; when null the latest snapshot of the same host and paths is used.</summary>
    public ObjectId? Parent { get; init; }
    /// <summary>Back up a stream (e.g. stdin) as one file of this name instead of <see cref="Paths"/>.</summary>
    public Stream? Stdin { get; init; }
    public string StdinFileName { get; init; } = "stdin";
    /// <summary>Threads for chunking, hashing, compressing and sealing. Default: the core count.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>Packs uploaded at once. Two keep a local disk busy; more help on a high-latency S3 link.</summary>
    public int UploadConcurrency { get; init; } = 2;
    /// <summary>Where to keep the local tree cache (see <see cref="Cache.TreeCache"/>); null disables it.</summary>
    public string? CacheDirectory { get; init; }
}

/// <summary>A path that could not be backed up, and why. The snapshot is still written, marked incomplete.</summary>
public sealed record BackupFailure(string Path, string Reason);

public sealed record BackupResult(ObjectId SnapshotId, SnapshotInfo Snapshot, IReadOnlyList<BackupFailure> Failures)
{
    public bool Incomplete => Failures.Count > 0;
}

/// <summary>Live counters for progress display; read from another thread.</summary>
public sealed class BackupProgress
{
    internal long _files, _dirs, _bytesRead, _bytesScanned, _bytesAdded, _errors;
    public long Files => Interlocked.Read(ref _files);
    public long Directories => Interlocked.Read(ref _dirs);
    /// <summary>Bytes of files whose content was read (changed or new).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    /// <summary>Bytes of all files seen, read or skipped as unchanged.</summary>
    public long BytesProcessed => Interlocked.Read(ref _bytesScanned);
    public long BytesAdded => Interlocked.Read(ref _bytesAdded);
    public long Errors => Interlocked.Read(ref _errors);
    public string? CurrentPath { get; internal set; }
}

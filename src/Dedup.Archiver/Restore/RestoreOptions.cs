namespace Dedup.Archiver.Restore;

public sealed record RestoreOptions
{
    public required string Target { get; init; }
    /// <summary>Only paths matching one of these (and their parents and children) are restored; empty means all.</summary>
    public IReadOnlyList<string> Includes { get; init; } = [];
    public IReadOnlyList<string> Excludes { get; init; } = [];
    /// <summary>Replace existing files. Without it, an existing file is left alone and reported.</summary>
    public bool Overwrite { get; init; }
    /// <summary>Restore uid/gid. Defaults to true when running as root.</summary>
    public bool RestoreOwners { get; init; } = Environment.UserName == "root";
    /// <summary>
    /// Restore extended attributes (POSIX ACLs among them). trusted.* and security.* need root; what cannot be set is
    /// reported per file and the restore goes on.
    /// </summary>
    public bool RestoreExtendedAttributes { get; init; } = true;
    /// <summary>
    /// Leave all-zero blocks of files as holes instead of writing them (restic's --sparse, here on by default): a sparse
    /// file comes back sparse, and zero-filled regions of other files take no space.
    /// </summary>
    public bool Sparse { get; init; } = true;
    public int Workers { get; init; } = Math.Max(2, Environment.ProcessorCount);
    /// <summary>
    /// Ranged reads of pack data at once (each holds at most 4 MiB); 0 means two per worker, which keeps a local disk
    /// busy. A remote store wants one per connection, to hide its latency.
    /// </summary>
    public int ReadsInFlight { get; init; }
}

public sealed record RestoreFailure(string Path, string Reason);

/// <summary>A blob no copy of which could be read and verified, and every file (by its path in the snapshot) that needed it.</summary>
public sealed record RestoreDamage(Dedup.Format.ObjectId Blob, string Reason, IReadOnlyList<string> Files);

public sealed record RestoreResult(long Files, long Directories, long Bytes, long Skipped, IReadOnlyList<RestoreFailure> Failures)
{
    /// <summary>The existing entries left alone (at most the first thousand), by their path in the snapshot.</summary>
    public IReadOnlyList<string> SkippedPaths { get; init; } = [];
    /// <summary>Damaged or missing blobs, each once, with the files that needed them (those files are also in <see cref="Failures"/>).</summary>
    public IReadOnlyList<RestoreDamage> Damaged { get; init; } = [];
    /// <summary>What the read path did: requests, bytes, peak buffers in flight.</summary>
    public Dedup.Repository.PackStreamerStats? Reads { get; init; }
    /// <summary>Files written again blob by blob because a blob's verified length differed from its best claim's (a false claim).</summary>
    public long FilesReadInOrder { get; init; }
}

public sealed class RestoreProgress
{
    internal long _files, _bytes, _totalFiles, _totalBytes;
    public long Files => Interlocked.Read(ref _files);
    public long Bytes => Interlocked.Read(ref _bytes);
    /// <summary>Known after the tree walk; 0 until then.</summary>
    public long TotalFiles => Interlocked.Read(ref _totalFiles);
    public long TotalBytes => Interlocked.Read(ref _totalBytes);
}

using Dedup.Format;

namespace Dedup.Archiver.Backup;

/// <summary>
/// What to back up and how. Each command-line flag of <c>dedup backup</c> is one property; the comments name restic's
/// flag where it has one, with the same meaning.
/// </summary>
public sealed record BackupOptions
{
    /// <summary>Files or directories to back up; made absolute before use.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];
    /// <summary>Files listing paths or glob patterns to back up, one per line: white space trimmed, blank lines and '#' comments
    /// skipped, patterns expanded against the file system (--files-from). "-" reads standard input.</summary>
    public IReadOnlyList<string> FilesFrom { get; init; } = [];
    /// <summary>Files listing paths to back up, one per line, taken as they are: no trimming, comments or patterns; blank lines
    /// skipped (--files-from-verbatim). "-" reads standard input.</summary>
    public IReadOnlyList<string> FilesFromVerbatim { get; init; } = [];
    /// <summary>Files listing paths each ended by a NUL byte, as find -print0 writes them (--files-from-raw). "-" reads standard input.</summary>
    public IReadOnlyList<string> FilesFromRaw { get; init; } = [];
    public string Host { get; init; } = Environment.MachineName;
    public string Username { get; init; } = Environment.UserName;
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Exclude patterns (see <see cref="Filtering.PathFilter"/>), taken as given (--exclude).</summary>
    public IReadOnlyList<string> Excludes { get; init; } = [];
    /// <summary>Files of exclude patterns (<see cref="Filtering.PathFilter.ReadFile"/>: trimmed, '#' comments, $VARIABLES) (--exclude-file).</summary>
    public IReadOnlyList<string> ExcludeFiles { get; init; } = [];
    /// <summary>Exclude patterns compared without regard to case (--iexclude).</summary>
    public IReadOnlyList<string> InsensitiveExcludes { get; init; } = [];
    /// <summary>Files of case-insensitive exclude patterns (--iexclude-file).</summary>
    public IReadOnlyList<string> InsensitiveExcludeFiles { get; init; } = [];
    /// <summary>Leave out the contents of directories holding a CACHEDIR.TAG with the standard signature, except the tag itself (--exclude-caches).</summary>
    public bool ExcludeCaches { get; init; }
    /// <summary>"FILE" or "FILE:HEADER": leave out the contents of directories holding FILE (whose first bytes are HEADER, if
    /// given), except FILE itself (--exclude-if-present).</summary>
    public IReadOnlyList<string> ExcludeIfPresent { get; init; } = [];
    /// <summary>Leave out files larger than this many bytes; null for no limit (--exclude-larger-than; <see cref="ByteSize.Parse"/> reads "1M").</summary>
    public long? ExcludeLargerThan { get; init; }
    /// <summary>Do not cross mount points: directories on another file system than the backed-up path they are under are
    /// kept, empty (-x, --one-file-system). A backed-up path that is itself on another file system is still backed up.</summary>
    public bool OneFileSystem { get; init; }
    /// <summary>Walk, read and chunk everything as usual and count what would be added, but write nothing: no backup marker,
    /// pack, index file, snapshot or cache entry (-n, --dry-run).</summary>
    public bool DryRun { get; init; }
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
    /// <summary>
    /// Where a put-only host (a repository opened from its enrolment) keeps what it deduplicates against (see
    /// <see cref="Dedup.Repository.PutOnly.LocalState"/>); null: it keeps nothing, and every run uploads all content.
    /// </summary>
    public string? StateDirectory { get; init; }
    /// <summary>
    /// A put-only host whose credentials may read its own index files: when its local state for the path set is missing,
    /// deduplicate against those files (marks applied) instead of uploading everything (--state-from-index). Off by
    /// default, so that a host granted nothing but PutObject sends no read its credentials would refuse.
    /// </summary>
    public bool StateFromIndex { get; init; }
}

/// <summary>A path that could not be backed up, and why. The snapshot is still written, marked incomplete.</summary>
public sealed record BackupFailure(string Path, string Reason);

/// <param name="SnapshotId">The snapshot written; <see cref="ObjectId.Empty"/> after a dry run, which writes none.</param>
/// <param name="Snapshot">The snapshot written, or after a dry run the one that would have been (with its summary).</param>
public sealed record BackupResult(ObjectId SnapshotId, SnapshotInfo Snapshot, IReadOnlyList<BackupFailure> Failures)
{
    public bool Incomplete => Failures.Count > 0;
    public bool DryRun { get; init; }
    /// <summary>Things worth telling that did not make the snapshot incomplete: a --files-from pattern that matched
    /// nothing, an extended attribute that could not be read or stored.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>A put-only host's run with --state-from-index that found no local state: true when it deduplicated
    /// against its own index files, false when the store refused to let it read them (everything was uploaded); else null.</summary>
    public bool? StateRebuiltFromIndex { get; init; }
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

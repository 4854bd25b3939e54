using Dedup.Format;

namespace Dedup.Archiver.Restore;

/// <summary>What to do with an entry that already exists in the target where the snapshot has one (restic 0.17's --overwrite).</summary>
public enum OverwriteMode
{
    /// <summary>Leave it alone (it is counted in <see cref="RestoreResult.Skipped"/> unless it already is as the snapshot has it).</summary>
    Never,
    /// <summary>Replace it, whatever it holds.</summary>
    Always,
    /// <summary>
    /// Replace it only when it differs: same size, mtime and mode count as equal; otherwise a regular file of the same
    /// size is read and its pieces hashed against the snapshot's blob IDs, and only a file whose content differs is
    /// written again (one whose content matches gets the snapshot's metadata in place).
    /// </summary>
    IfChanged,
    /// <summary>Replace it only when the snapshot's mtime is newer than the existing entry's.</summary>
    IfNewer,
}

/// <summary>What a restore did (or, with <see cref="RestoreOptions.DryRun"/>, would do) to one path, for a verbose listing.</summary>
public enum RestoreAction
{
    /// <summary>Written where nothing was.</summary>
    Restore,
    /// <summary>Written in place of an existing entry.</summary>
    Overwrite,
    /// <summary>Existing, differs, and left alone.</summary>
    Keep,
    /// <summary>Existing and already as the snapshot has it (content equal; metadata applied).</summary>
    Unchanged,
    /// <summary>In the target, within the restored scope, not in the snapshot: removed (--delete).</summary>
    Delete,
}

/// <summary>Whether a file is written in this wave of a restore that runs as its packs thaw (<see cref="RestoreWave"/>).</summary>
public enum ContentAvailability
{
    /// <summary>All its packs are readable: written now, as in any restore.</summary>
    Ready,
    /// <summary>A pack of it is still being retrieved: not written, counted in <see cref="RestoreResult.Deferred"/>.</summary>
    Later,
    /// <summary>An earlier wave of this restore wrote it: untouched and not counted again.</summary>
    Done,
}

/// <summary>
/// One wave of a restore as packs thaw (<see cref="ThawedRestore"/>): which files to write now, and whether this is the
/// last wave, the only one that applies directory metadata (times, modes: a read-only mode would block later waves)
/// and --delete.
/// </summary>
public sealed record RestoreWave(Func<TreeNode, ContentAvailability> Availability, bool Last);

public sealed record RestoreOptions
{
    public required string Target { get; init; }
    /// <summary>Only paths matching one of these (and their parents and children) are restored; empty means all.</summary>
    public IReadOnlyList<string> Includes { get; init; } = [];
    public IReadOnlyList<string> Excludes { get; init; } = [];
    /// <summary>What to do with existing entries; by default they are left alone and reported.</summary>
    public OverwriteMode Overwrite { get; init; } = OverwriteMode.Never;
    /// <summary>Walk the trees and decide everything, but write, create and delete nothing and read no file contents from the repository.</summary>
    public bool DryRun { get; init; }
    /// <summary>
    /// Afterwards, remove what is in the target within the restored scope (selected by the includes, not excluded)
    /// but not in the snapshot, so the target matches it. Only directories the restore walks are looked at.
    /// </summary>
    public bool Delete { get; init; }
    /// <summary>Re-read every file this run wrote and check each piece against the snapshot's blob IDs.</summary>
    public bool Verify { get; init; }
    /// <summary>Called for every path acted on (and every deletion), with the snapshot-relative path and its size; any thread.</summary>
    public Action<RestoreAction, string, long>? OnAction { get; init; }
    /// <summary>Tests only: called on a file's real name after it is written and before it is verified.</summary>
    internal Action<string>? BeforeVerify { get; init; }
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
    /// <summary>Null for a whole restore; else the wave of a restore as packs thaw. Called on the walker thread only.</summary>
    public RestoreWave? Wave { get; init; }
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
    /// <summary>Existing entries this run replaced (included in Files).</summary>
    public long Overwritten { get; init; }
    /// <summary>Existing entries already as the snapshot has them (included in Files).</summary>
    public long Unchanged { get; init; }
    /// <summary>Entries removed by --delete (files, links and directories), and the bytes of the files among them.</summary>
    public long Deleted { get; init; }
    public long DeletedBytes { get; init; }
    /// <summary>Files re-read and checked by --verify, and those whose content did not match the snapshot.</summary>
    public long Verified { get; init; }
    public IReadOnlyList<RestoreFailure> VerifyFailures { get; init; } = [];
    /// <summary>True when nothing was changed: the counts say what a real run would do.</summary>
    public bool DryRun { get; init; }
    /// <summary>Files written again blob by blob because a blob's verified length differed from its best claim's (a false claim).</summary>
    public long FilesReadInOrder { get; init; }
    /// <summary>Files not written in this wave because a pack of theirs is still being retrieved (<see cref="RestoreOptions.Wave"/>).</summary>
    public long Deferred { get; init; }
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

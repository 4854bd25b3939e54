using System.Collections.Concurrent;
using Dedup.Archiver.Filtering;
using Dedup.Archiver.Platform;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>
/// Restores a snapshot (or part of it) into a target directory. Files are written under a temporary name and
/// renamed when complete, so a killed restore never leaves a truncated file under its real name, and a re-run
/// finishes what is missing. Every blob is verified as it is read. Entry names were validated when the tree was
/// decoded (one component, no "..", no "/"), and existing symlinks in the target are never followed, so nothing is
/// written outside the target.
/// </summary>
public sealed partial class Restorer
{
    private const string TempSuffix = ".dedup-partial";
    private readonly Repo _repo;
    private readonly RestoreOptions _options;
    private readonly RestoreProgress _progress;
    private readonly PathFilter _includes, _excludes;
    private readonly ConcurrentQueue<RestoreFailure> _failures = new();
    private readonly List<(string Path, TreeNode Node)> _directories = [];
    private readonly CancellationToken _ct;
    // Cancelled by the first error that is not about one file (the store is unreachable, say): the walk and the other
    // file writes stop at once instead of each waiting out its retries.
    private readonly CancellationTokenSource _abort;
    private Exception? _fatal;
    private readonly string _target;
    private long _files, _dirs, _bytes, _skipped, _deferred;
    private readonly ConcurrentQueue<string> _skippedPaths = new();
    // Directories entered but not yet created (nothing inside them restored so far), outermost first.
    private readonly List<(string Path, TreeNode Node)> _pending = [];
    // Directories this run created, on the walk's current path only (removed when their walk ends). Nothing can be
    // at a name inside them but what this run writes, so their files skip the "exists / already restored" lstat;
    // O_EXCL and RENAME_NOREPLACE still refuse a name something else created meanwhile. Walker thread only.
    private readonly HashSet<string> _created = new(StringComparer.Ordinal);
    private readonly HardLinkTable _hardLinks = new();
    private readonly MetadataWriter _metadata;
    // The blob ID of a maximum-size chunk of zeros: a long run of zeros is cut into such chunks, so a file listing it
    // has holes (or zeros) worth writing sparse, and is not preallocated.
    private readonly ObjectId _zeroChunk;

    private readonly DomainId _domain;
    private readonly Dedup.Repository.Keys.DomainKeys _domainKeys;

    private Restorer(Repo repo, DomainId domain, RestoreOptions options, RestoreProgress progress, CancellationToken ct)
    {
        _repo = repo;
        _domain = domain;
        _options = options;
        _progress = progress;
        _includes = new PathFilter(options.Includes);
        _excludes = new PathFilter(options.Excludes);
        _streamer = repo.Streamer(new PackStreamerOptions { RangesInFlight = options.ReadsInFlight > 0 ? options.ReadsInFlight : Math.Max(1, options.Workers * 2) });
        _abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _ct = _abort.Token;
        _target = Path.GetFullPath(options.Target);
        _metadata = new MetadataWriter(options.RestoreOwners, options.RestoreExtendedAttributes, Fail);
        _domainKeys = repo.Keys.For(domain);
        _zeroChunk = options.Sparse ? _domainKeys.BlobId(new byte[repo.Config.ChunkerMax]) : default;
    }

    public static async Task<RestoreResult> RunAsync(Repo repo, LoadedSnapshot snapshot, RestoreOptions options, RestoreProgress progress, CancellationToken ct = default)
    {
        repo.Keys.RequireReadKey("restore files");
        var r = new Restorer(repo, snapshot.Domain, options, progress, ct);
        using var abort = r._abort;
        if (CreateTarget(r._target, options.DryRun)) r._created.Add(r._target);
        try
        {
            await r.RestoreDirectoryAsync(SnapshotWalker.RootTree(snapshot.Info), "", r._target, 0).ConfigureAwait(false);
            await r.SubmitBatchAsync().ConfigureAwait(false);
        }
        catch (Exception) when (r._fatal is not null && !ct.IsCancellationRequested)
        {
            // The walk stopped because a batch of file writes failed fatally; that error is the one to report.
        }
        finally
        {
            // Even when the walk fails (a hostile tree), no file write may outlive the restore.
            try { await r._inFlight.ConfigureAwait(false); } catch { /* each batch reports its own failure */ }
        }
        if (r._fatal is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(r._fatal);
        await r._inFlight.ConfigureAwait(false);
        // Later names of hard-linked files, now that the first names are complete; before directory times, which links change.
        foreach (var link in r._hardLinks.Links) await r.RestoreLinkAsync(link).ConfigureAwait(false);
        r.VerifyWritten();
        // Directory times and modes last, deepest first: writing files inside would change the mtime, and a
        // read-only mode would block writing them (so also not before the last wave of a restore as packs thaw).
        if (!options.DryRun && r.LastWave)
            for (int i = r._directories.Count - 1; i >= 0; i--) r.ApplyMetadata(r._directories[i].Path, r._directories[i].Node);
        return new RestoreResult(r._files, r._dirs, r._bytes, r._skipped, r._failures.ToArray())
        {
            Overwritten = r._overwritten,
            Unchanged = r._unchanged,
            Deleted = r._deleted,
            DeletedBytes = r._deletedBytes,
            Verified = r._verified,
            VerifyFailures = r._verifyFailures.ToArray(),
            DryRun = options.DryRun,
            SkippedPaths = r._skippedPaths.ToArray(),
            Damaged = r._damaged.ToArray(),
            Reads = r._streamer.Stats,
            FilesReadInOrder = r._filesReadInOrder,
            Deferred = r._deferred,
        };
    }

    /// <summary>
    /// Creates the target unless it is a directory (or a symlink to one); true when this run created it (or, in a dry
    /// run, would). Anything else at that name is refused with what to do: the runtime's own error would say only
    /// "already exists".
    /// </summary>
    private static bool CreateTarget(string target, bool dryRun)
    {
        if (Directory.Exists(target)) return false;
        if (PosixFile.TryLStat(target, out _))
            throw new Dedup.Repository.RepositoryException($"The restore target '{target}' exists and is not a directory. Give a directory with --target (it is created if missing).");
        if (!dryRun) Directory.CreateDirectory(target);
        return true;
    }

    /// <summary>Directory metadata and --delete wait for the last wave: nothing may be written into a directory after them.</summary>
    private bool LastWave => _options.Wave?.Last ?? true;

    private bool Selected(string snapPath) => !_excludes.Matches(snapPath) && (_includes.IsEmpty || _includes.Matches(snapPath));

    private async Task RestoreDirectoryAsync(IReadOnlyList<ObjectId> tree, string snapDir, string fsDir, int depth)
    {
        if (depth > Limits.MaxTreeDepth) throw new CorruptObjectException(snapDir, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
        List<TreeNode> entries;
        try
        {
            entries = await SnapshotWalker.LoadDirectoryAsync(_repo, _domain, tree, _ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CorruptObjectException or BlobMissingException)
        {
            Fail(snapDir.Length == 0 ? "/" : snapDir, e);
            return;
        }
        foreach (var node in entries)
        {
            _ct.ThrowIfCancellationRequested();
            var snapPath = snapDir + "/" + node.Name;
            var fsPath = Path.Join(fsDir, node.Name);
            if (_excludes.Matches(snapPath)) continue;
            bool selected = _includes.IsEmpty || _includes.Matches(snapPath);
            if (node.Type == NodeType.Directory)
            {
                if (!selected && !_includes.CouldMatchBelow(snapPath)) continue;
                // A directory that is only on the way to possible matches is created when something inside it is
                // restored, so a selective restore does not leave a trail of empty directories.
                _pending.Add((fsPath, node));
                if (selected && !MaterializePending()) continue; // could not create it (reported); skip what is inside
                await RestoreDirectoryAsync(node.Content, snapPath, fsPath, depth + 1).ConfigureAwait(false);
                if (_pending.Count > 0 && _pending[^1].Path == fsPath) _pending.RemoveAt(_pending.Count - 1);
                _created.Remove(fsPath);
                continue;
            }
            if (!selected || !MaterializePending()) continue;
            if (node.Type == NodeType.File)
            {
                // A wave of a restore that runs as packs thaw: before the hard-link check, since every name of a file
                // has the same content and so the same answer (a deferred file's later names are linked in its wave).
                switch (_options.Wave?.Availability(node) ?? ContentAvailability.Ready)
                {
                    case ContentAvailability.Done:
                        continue;
                    case ContentAvailability.Later:
                        Interlocked.Increment(ref _deferred);
                        continue;
                }
                Interlocked.Increment(ref _progress._totalFiles);
                if (_hardLinks.IsLaterName(fsPath, snapPath, node)) continue; // linked at the end
                Interlocked.Add(ref _progress._totalBytes, node.Size);
                // A dry run decides here, and reads no file contents from the repository.
                if (_options.DryRun) NeedsWriting(fsPath, snapPath, node, _created.Contains(fsDir));
                else await QueueFileAsync(new FileJob(fsPath, snapPath, node, _created.Contains(fsDir))).ConfigureAwait(false);
            }
            else
            {
                RestoreSpecial(fsPath, snapPath, node);
            }
        }
        if (_options.Delete && LastWave) DeleteExtras(entries, snapDir, fsDir);
    }

    /// <summary>Creates the directories on the way to the entry about to be restored, outermost first.</summary>
    private bool MaterializePending()
    {
        foreach (var (path, node) in _pending)
        {
            if (!EnsureDirectory(path, node))
            {
                _pending.Clear();
                return false;
            }
            _directories.Add((path, node));
            Interlocked.Increment(ref _dirs);
        }
        _pending.Clear();
        return true;
    }

    /// <summary>
    /// Creates a directory, refusing to go through an existing symlink (which could point outside the target). Something
    /// else at its name is replaced as the overwrite mode says (--overwrite never: refused; if-newer: when the snapshot's
    /// directory is newer).
    /// </summary>
    private bool EnsureDirectory(string path, TreeNode node)
    {
        try
        {
            bool exists = PosixFile.TryLStat(path, out var existing);
            if (exists && existing.Type != NodeType.Directory)
            {
                // A symlink counts as "not a directory" even when it points to one: it could lead outside the target.
                if (_options.Overwrite == OverwriteMode.Never || (_options.Overwrite == OverwriteMode.IfNewer && node.MTimeNs <= existing.MTimeNs))
                    throw new IOException($"{path} exists and is not a directory (use --overwrite to replace it)");
                Interlocked.Increment(ref _overwritten);
                Record(RestoreAction.Overwrite, path[_target.Length..], 0);
                if (!_options.DryRun) File.Delete(path); // removes a symlink itself, never its target
                exists = false;
            }
            if (_options.DryRun)
            {
                if (!exists) _created.Add(path); // nothing inside it exists: what would be restored there is new
                return true;
            }
            Directory.CreateDirectory(path);
            if (!exists) _created.Add(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(path, e);
            return false;
        }
    }

    /// <summary>
    /// Whether a file is to be written: false when an earlier, interrupted restore finished it (metadata is applied
    /// before the rename, so a re-run completes the restore without writing it again) or it exists and is left alone.
    /// </summary>
    private bool NeedsWriting(string fsPath, string snapPath, TreeNode node, bool inCreatedDirectory)
    {
        FileStatus existing = default;
        bool existed = !inCreatedDirectory && PosixFile.TryLStat(fsPath, out existing);
        if (existed && Settled(Decide(fsPath, existing, node), fsPath, snapPath, node)) return false;
        // An existing file is replaced by the rename of the complete new one (which replaces a symlink itself, never
        // its target): if the write fails, the old file is still there.
        return !Planned(existed, snapPath, node.Size);
    }

    /// <summary>
    /// Writes one file blob by blob in file order through <see cref="BlobReader"/>: for the later name of a hard link
    /// whose first name failed, and for a file whose blobs turned out longer or shorter than the index's best claim said
    /// (a false claim; the offsets planned from it were wrong).
    /// </summary>
    private async Task RestoreFileInOrderAsync(string fsPath, string snapPath, TreeNode node, bool inCreatedDirectory)
    {
        var temp = fsPath + TempSuffix;
        try
        {
            if (!NeedsWriting(fsPath, snapPath, node, inCreatedDirectory)) return;
            var lengths = new int[node.Content.Count];
            using (var output = CreateTemporary(temp, ReserveFor(node)))
            {
                var writer = new SparseFileWriter(output, _options.Sparse);
                long offset = 0;
                for (int i = 0; i < lengths.Length; i++)
                {
                    using var blob = await _repo.Blobs.ReadAsync(node.Content[i], _domain, _ct).ConfigureAwait(false);
                    lengths[i] = blob.Length;
                    writer.WriteAt(blob.Span, offset);
                    offset += blob.Length;
                    Interlocked.Add(ref _bytes, blob.Length);
                    Interlocked.Add(ref _progress._bytes, blob.Length);
                }
                writer.Finish(offset);
            }
            Publish(temp, fsPath, snapPath, node, lengths);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CorruptObjectException or BlobMissingException)
        {
            TryDelete(temp);
            Fail(snapPath, e);
        }
    }

    /// <summary>Space is not reserved for a file with runs of zeros: that would allocate its holes.</summary>
    private long ReserveFor(TreeNode node) => _options.Sparse && node.Content.Contains(_zeroChunk) ? 0 : node.Size;

    /// <summary>Metadata on the complete temporary file, then the rename into place: the file appears whole or not at all.</summary>
    private void Publish(string temp, string fsPath, string snapPath, TreeNode node, int[] lengths)
    {
        ApplyMetadata(temp, node);
        PosixCalls.Rename(temp, fsPath, replace: _options.Overwrite != OverwriteMode.Never);
        ToVerify(fsPath, snapPath, node, lengths);
        _hardLinks.Written(fsPath, node);
        Interlocked.Increment(ref _files);
        Interlocked.Increment(ref _progress._files);
    }

    /// <summary>
    /// Creates the temporary file; one left by a killed restore (or anything else at that name, a symlink included:
    /// O_EXCL never follows one) is removed and the creation tried once more. Space is reserved for large files only,
    /// where it limits fragmentation; for small ones it is one more system call per file.
    /// </summary>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle CreateTemporary(string temp, long size)
    {
        const long PreallocateFrom = 1 << 20;
        long reserve = size >= PreallocateFrom ? size : 0;
        try
        {
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, reserve);
        }
        catch (IOException) when (PosixFile.TryLStat(temp, out _))
        {
            File.Delete(temp);
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, reserve);
        }
    }

    /// <summary>
    /// True when the path is a regular file with the node's size, mode and mtime to the nanosecond: what this restorer
    /// leaves under the real name, since it sets mode and times on the temporary file before renaming it.
    /// </summary>
    private static bool AlreadyRestored(in FileStatus st, TreeNode node) =>
        st.Type == NodeType.File && st.Size == node.Size && st.MTimeNs == node.MTimeNs && (st.Mode & 0xFFF) == (node.Mode & 0xFFF);

    /// <summary>A symlink with the same target, or a fifo or device node of the same kind, mode and device number.</summary>
    private static bool SpecialAlreadyRestored(string path, TreeNode node)
    {
        if (node.Type == NodeType.Symlink) return new FileInfo(path).LinkTarget == node.LinkTarget;
        var st = PosixFile.LStat(path);
        return st.Type == node.Type && (st.Mode & 0xFFF) == (node.Mode & 0xFFF) && (node.Type == NodeType.Fifo || st.Rdev == node.Rdev);
    }

    /// <summary>An existing entry left alone; the first thousand are named in the result.</summary>
    private void Skip(string snapPath)
    {
        if (Interlocked.Increment(ref _skipped) <= 1000) _skippedPaths.Enqueue(snapPath);
    }

    private void RestoreSpecial(string fsPath, string snapPath, TreeNode node)
    {
        try
        {
            bool existed = PosixFile.TryLStat(fsPath, out var existing);
            if (existed && Settled(Decide(fsPath, existing, node), fsPath, snapPath, node)) return;
            if (Planned(existed, snapPath, 0)) return;
            if (existed) File.Delete(fsPath); // a symlink itself, never its target
            switch (node.Type)
            {
                case NodeType.Symlink:
                    File.CreateSymbolicLink(fsPath, node.LinkTarget);
                    break;
                case NodeType.Fifo:
                    PosixCalls.MakeFifo(fsPath, node.Mode);
                    break;
                case NodeType.BlockDevice or NodeType.CharDevice:
                    PosixCalls.MakeDevice(fsPath, node.Type == NodeType.BlockDevice, node.Mode, node.Rdev);
                    break;
                default:
                    return; // sockets are recreated by the programs that own them
            }
            ApplyMetadata(fsPath, node);
            Interlocked.Increment(ref _files);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(snapPath, e);
        }
    }

    private void ApplyMetadata(string path, TreeNode node) => _metadata.Apply(path, node);

    /// <summary>
    /// A later name of a hard-linked file: a link to the first name when that holds the restored content, else (the
    /// first name failed, or existed and was left alone) the file is written under this name on its own.
    /// </summary>
    private async Task RestoreLinkAsync(HardLinkTable.Link link)
    {
        if (_options.DryRun)
        {
            NeedsWriting(link.Path, link.SnapPath, link.Node, inCreatedDirectory: false);
            return;
        }
        if (_hardLinks.TargetFor(link.First) is not { } target)
        {
            Interlocked.Add(ref _progress._totalBytes, link.Node.Size);
            await RestoreFileInOrderAsync(link.Path, link.SnapPath, link.Node, inCreatedDirectory: false).ConfigureAwait(false);
            _hardLinks.Replace(link.First, link.Path);
            return;
        }
        try
        {
            if (PosixFile.TryLStat(link.Path, out var existing))
            {
                var first = PosixFile.LStat(target);
                if (existing.Inode == first.Inode && existing.Device == first.Device)
                {
                    Interlocked.Increment(ref _files); // linked by an earlier, interrupted restore
                    return;
                }
                if (Settled(Decide(link.Path, existing, link.Node), link.Path, link.SnapPath, link.Node)) return;
                Record(RestoreAction.Overwrite, link.SnapPath, link.Node.Size);
                Interlocked.Increment(ref _overwritten);
                File.Delete(link.Path); // removes a symlink itself, never its target
            }
            else
            {
                Record(RestoreAction.Restore, link.SnapPath, link.Node.Size);
            }
            PosixCalls.CreateHardLink(target, link.Path);
            Interlocked.Increment(ref _files);
            Interlocked.Increment(ref _progress._files);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(link.SnapPath, e);
        }
    }

    private void Fail(string path, Exception e) => _failures.Enqueue(new RestoreFailure(path, e.Message));

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}

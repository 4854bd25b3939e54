using System.Collections.Concurrent;
using System.IO.Enumeration;
using Dedup.Archiver.Cache;
using Dedup.Archiver.Platform;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Backup;

/// <summary>
/// One backup run's walk. Directories are visited depth-first in name order, so memory holds one listing per
/// level (per walker: a few subdirectories are walked in parallel), never the whole tree. Within a directory, files are read in parallel (bounded); a file whose size,
/// mtime, ctime and inode match the parent snapshot, and whose blobs are all indexed, is not read again.
/// </summary>
internal sealed class BackupSession
{
    private const int MaxWarnings = 1000;
    private readonly Repo _repo;
    private readonly IBlobSink _writer;
    private readonly FileSaver _saver;
    private readonly BackupOptions _options;
    private readonly BackupProgress _progress;
    private readonly BackupExclusions _exclusions;
    // Every path given to back up, nested ones included: with --one-file-system a nested path on another file system
    // is still backed up, and the mount points on the way to it are kept.
    private readonly HashSet<string> _targets;
    private readonly SemaphoreSlim _fileSlots, _dirSlots;
    private readonly CancellationToken _ct;
    private readonly ConcurrentQueue<BackupFailure> _failures = new();
    private readonly ConcurrentQueue<string> _warnings = new();
    private long _filesNew, _filesChanged, _filesUnmodified, _dirsNew, _dirsChanged, _dirsUnmodified, _bytesTotal, _warningCount;

    private readonly TreeCache? _cache;
    private readonly ConcurrentDictionary<ObjectId, byte> _referenced = new();

    /// <summary>Whether to collect <see cref="ReferencedBlobs"/> (a put-only host's local state needs them).</summary>
    public bool RecordsBlobs { get; init; }

    /// <summary>Every blob the snapshot refers to: its trees and its files' content.</summary>
    public IReadOnlyCollection<ObjectId> ReferencedBlobs => (IReadOnlyCollection<ObjectId>)_referenced.Keys;

    public BackupSession(Repo repo, IBlobSink writer, FileSaver saver, BackupOptions options, BackupExclusions exclusions,
        IEnumerable<string> targets, BackupProgress progress, TreeCache? cache, CancellationToken ct)
    {
        _cache = cache;
        _repo = repo;
        _writer = writer;
        _saver = saver;
        _options = options;
        _progress = progress;
        _exclusions = exclusions;
        _targets = new HashSet<string>(targets, StringComparer.Ordinal);
        // Enough files in flight to keep every core and the disk busy, few enough to bound memory.
        _fileSlots = new SemaphoreSlim(Math.Max(2, options.Workers * 2));
        // Walkers besides the first: each holds one listing per level it is inside, so memory stays bounded.
        _dirSlots = new SemaphoreSlim(Math.Max(1, options.Workers - 1));
        _ct = ct;
    }

    public IReadOnlyList<BackupFailure> Failures => _failures.ToArray();

    /// <summary>The first thousand warnings, and a count of the rest.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var list = _warnings.ToList();
            long more = Interlocked.Read(ref _warningCount) - list.Count;
            if (more > 0) list.Add($"... and {more} more warnings");
            return list;
        }
    }

    public void Warn(string message)
    {
        if (Interlocked.Increment(ref _warningCount) <= MaxWarnings) _warnings.Enqueue(message);
    }

    public SnapshotSummary Summary(long bytesRead, double seconds) => new()
    {
        FilesNew = _filesNew, FilesChanged = _filesChanged, FilesUnmodified = _filesUnmodified,
        DirsNew = _dirsNew, DirsChanged = _dirsChanged, DirsUnmodified = _dirsUnmodified,
        FilesFailed = _failures.Count, BytesRead = bytesRead, BytesTotal = _bytesTotal,
        BytesAdded = _writer.RawBytesAdded, BytesAddedStored = _writer.StoredBytesAdded,
        BlobsAdded = _writer.BlobsAdded, DurationSeconds = seconds,
    };

    private void Fail(string path, Exception e)
    {
        _failures.Enqueue(new BackupFailure(path, e.Message));
        Interlocked.Increment(ref _progress._errors);
    }

    /// <summary>Counts a file that was read from a stream (--stdin) rather than found by the walk.</summary>
    public void CountStreamedFile(long size, bool existedInParent)
    {
        Interlocked.Add(ref _bytesTotal, size);
        Interlocked.Increment(ref existedInParent ? ref _filesChanged : ref _filesNew);
    }

    /// <summary>Saves a directory's entries as tree blobs and counts it as new, changed or unmodified.</summary>
    public async Task<IReadOnlyList<ObjectId>> SaveDirectoryAsync(IReadOnlyList<TreeNode> entries, TreeNode? previous)
    {
        var ids = await TreeWriter.SaveAsync(_writer, entries, _ct, _cache).ConfigureAwait(false);
        if (RecordsBlobs)
        {
            // Exactly what the snapshot refers to: these trees and their files' content (subtrees recorded themselves).
            foreach (var id in ids) _referenced.TryAdd(id, 0);
            foreach (var e in entries)
                if (e.Type == NodeType.File)
                    foreach (var id in e.Content) _referenced.TryAdd(id, 0);
        }
        if (previous is null || previous.Type != NodeType.Directory) Interlocked.Increment(ref _dirsNew);
        else if (previous.Content.SequenceEqual(ids)) Interlocked.Increment(ref _dirsUnmodified);
        else Interlocked.Increment(ref _dirsChanged);
        Interlocked.Increment(ref _progress._dirs);
        return ids;
    }

    /// <summary>
    /// The node for a path given to back up (snapshot path <paramref name="snapPath"/>, "" for the root), or null when
    /// excluded or unreadable. Its own file system is the one --one-file-system keeps to below it.
    /// </summary>
    public async Task<TreeNode?> BackupPathAsync(string fsPath, string snapPath, string name, TreeNode? previous)
    {
        _ct.ThrowIfCancellationRequested();
        if (snapPath.Length > 0 && _exclusions.ExcludesPath(snapPath)) return null;
        if (!TryStat(fsPath, out var st) || _exclusions.ExcludesSize(st)) return null;
        var node = NodeFromStatus(name, st);
        return st.Type switch
        {
            NodeType.Directory => await BackupDirectoryAsync(fsPath, snapPath, node, previous, st.Device).ConfigureAwait(false),
            NodeType.File => TryReuse(fsPath, node, previous) ?? await ReadFileAsync(fsPath, node, previous).ConfigureAwait(false),
            _ => WithoutContent(fsPath, node),
        };
    }

    private bool TryStat(string fsPath, out FileStatus st)
    {
        try
        {
            st = PosixFile.LStat(fsPath);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            st = default;
            return false;
        }
    }

    /// <summary>Symlinks keep their target; devices, fifos and sockets only their metadata.</summary>
    private TreeNode? WithoutContent(string fsPath, TreeNode node)
    {
        node = node with { ExtendedAttributes = ReadExtendedAttributes(fsPath) };
        if (node.Type != NodeType.Symlink) return node;
        try
        {
            return node with { LinkTarget = new FileInfo(fsPath).LinkTarget ?? "" };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
    }

    public static TreeNode NodeFromStatus(string name, in FileStatus st) => new()
    {
        Name = name, Type = st.Type, Mode = st.Mode, Uid = st.Uid, Gid = st.Gid,
        User = PosixCalls.UserName(st.Uid), Group = PosixCalls.GroupName(st.Gid),
        MTimeNs = st.MTimeNs, CTimeNs = st.CTimeNs, Size = st.Type == NodeType.File ? st.Size : 0,
        Inode = st.Inode, Device = st.Device, Rdev = st.Rdev, Links = st.Type == NodeType.Directory ? 0 : st.Links,
    };

    /// <summary>
    /// The extended attributes of a path (POSIX ACLs included). What cannot be read or stored is a warning, not a
    /// failure: the content is backed up all the same.
    /// </summary>
    public IReadOnlyList<ExtendedAttribute> ReadExtendedAttributes(string fsPath)
    {
        var skipped = new List<string>(0);
        try
        {
            var attributes = ExtendedAttributes.Read(fsPath, skipped);
            foreach (var s in skipped) Warn($"{fsPath}: {s} was not stored.");
            return attributes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warn($"{fsPath}: its extended attributes were not stored: {e.Message}");
            return [];
        }
    }

    /// <summary>
    /// Lists a directory and backs up its entries. Each entry costs one lstat here, which decides everything that
    /// needs no reading: subdirectories (visited depth-first, so memory holds one listing per level), unchanged
    /// files, links and special files are handled on this thread; only files to read go to the bounded parallel
    /// slots. Sending every entry through the thread pool cost more than the stat and the comparison themselves.
    /// </summary>
    private async Task<TreeNode?> BackupDirectoryAsync(string fsPath, string snapPath, TreeNode node, TreeNode? previous, ulong rootDevice)
    {
        if (List(fsPath) is not { } names) return null;
        // A tagged directory (CACHEDIR.TAG, --exclude-if-present) keeps only its tag file.
        string? keepOnly = _exclusions.TaggedKeep(fsPath, names, out bool tagged);
        if (tagged) names = keepOnly is null ? [] : [keepOnly];
        var previousChildren = await LoadPreviousChildrenAsync(previous).ConfigureAwait(false);
        var entries = new TreeNode?[names.Length];
        var reads = new List<Task>();
        for (int i = 0; i < names.Length; i++)
        {
            _ct.ThrowIfCancellationRequested();
            var childName = names[i];
            var childSnap = snapPath + "/" + childName;
            var childFs = Path.Join(fsPath, childName);
            if (_exclusions.ExcludesPath(childSnap) || !TryStat(childFs, out var st) || _exclusions.ExcludesSize(st)) continue;
            previousChildren.TryGetValue(childName, out var prevChild);
            var child = NodeFromStatus(childName, st);
            ulong childDevice = rootDevice;
            if (_options.OneFileSystem && st.Device != rootDevice)
            {
                // Another file system: a path given to back up is walked on its own device; any other directory is a
                // mount point, kept (with only the ways to given paths inside, usually none); anything else is left out.
                if (_targets.Contains(childFs)) childDevice = st.Device;
                else if (st.Type == NodeType.Directory)
                {
                    entries[i] = await BackupMountPointAsync(childFs, childSnap, child, prevChild).ConfigureAwait(false);
                    continue;
                }
                else continue;
            }
            switch (st.Type)
            {
                case NodeType.Directory when _dirSlots.Wait(0):
                    // A free walker: the subdirectory is walked alongside (a walk of unchanged files is all stat calls
                    // and comparisons, which one thread cannot spread over the cores).
                    reads.Add(WalkInSlotAsync(entries, i, childFs, childSnap, child, prevChild, childDevice));
                    break;
                case NodeType.Directory:
                    // Depth-first: finish the subdirectory before reading further entries; files already started keep going.
                    entries[i] = await BackupDirectoryAsync(childFs, childSnap, child, prevChild, childDevice).ConfigureAwait(false);
                    break;
                case NodeType.File when TryReuse(childFs, child, prevChild) is { } reused:
                    entries[i] = reused;
                    break;
                case NodeType.File:
                    await _fileSlots.WaitAsync(_ct).ConfigureAwait(false);
                    reads.Add(ReadInSlotAsync(entries, i, childFs, child, prevChild));
                    break;
                default:
                    entries[i] = WithoutContent(childFs, child);
                    break;
            }
        }
        await Task.WhenAll(reads).ConfigureAwait(false);
        var content = await SaveDirectoryAsync(entries.OfType<TreeNode>().ToList(), previous).ConfigureAwait(false);
        return node with { Content = content, ExtendedAttributes = ReadExtendedAttributes(fsPath) };
    }

    /// <summary>
    /// A directory on another file system under --one-file-system (a mount point), kept with its own metadata as restic
    /// keeps it, so that a restore recreates it. Inside it only the ways to other given paths are followed.
    /// </summary>
    private async Task<TreeNode?> BackupMountPointAsync(string fsPath, string snapPath, TreeNode node, TreeNode? previous)
    {
        var prefix = fsPath + "/";
        var entries = new List<TreeNode>();
        if (_targets.Any(t => t.StartsWith(prefix, StringComparison.Ordinal)))
        {
            if (List(fsPath) is not { } names) return null;
            var previousChildren = await LoadPreviousChildrenAsync(previous).ConfigureAwait(false);
            foreach (var name in names)
            {
                var childFs = prefix + name;
                previousChildren.TryGetValue(name, out var prevChild);
                TreeNode? child = null;
                if (_targets.Contains(childFs))
                    child = await BackupPathAsync(childFs, snapPath + "/" + name, name, prevChild).ConfigureAwait(false);
                else if (_targets.Any(t => t.StartsWith(childFs + "/", StringComparison.Ordinal)) && TryStat(childFs, out var st) && st.Type == NodeType.Directory)
                    child = await BackupMountPointAsync(childFs, snapPath + "/" + name, NodeFromStatus(name, st), prevChild).ConfigureAwait(false);
                if (child is not null) entries.Add(child);
            }
        }
        var content = await SaveDirectoryAsync(entries, previous).ConfigureAwait(false);
        return node with { Content = content, ExtendedAttributes = ReadExtendedAttributes(fsPath) };
    }

    /// <summary>The entry names of a directory in ordinal order, or null (reported) when it cannot be listed.</summary>
    private string[]? List(string fsPath)
    {
        try
        {
            var names = new FileSystemEnumerable<string>(fsPath, (ref FileSystemEntry e) => e.FileName.ToString(), ListingOptions).ToArray();
            Array.Sort(names, StringComparer.Ordinal);
            return names;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
    }

    private static readonly EnumerationOptions ListingOptions = new()
    {
        // No attribute filter: the listing then needs no stat per entry (the walk does its own lstat).
        AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false, ReturnSpecialDirectories = false,
    };

    private async Task WalkInSlotAsync(TreeNode?[] entries, int index, string fsPath, string snapPath, TreeNode node, TreeNode? previous, ulong rootDevice)
    {
        try
        {
            entries[index] = await Task.Run(() => BackupDirectoryAsync(fsPath, snapPath, node, previous, rootDevice), _ct).ConfigureAwait(false);
        }
        finally
        {
            _dirSlots.Release();
        }
    }

    private async Task ReadInSlotAsync(TreeNode?[] entries, int index, string fsPath, TreeNode node, TreeNode? previous)
    {
        try
        {
            entries[index] = await Task.Run(() => ReadFileAsync(fsPath, node, previous), _ct).ConfigureAwait(false);
        }
        finally
        {
            _fileSlots.Release();
        }
    }

    private void CountFile(string fsPath, long size)
    {
        Interlocked.Increment(ref _progress._files);
        _progress.CurrentPath = fsPath;
        Interlocked.Add(ref _bytesTotal, size);
    }

    /// <summary>
    /// The parent's node with its content when size, mtime, ctime and inode match and its blobs are all indexed; else null.
    /// Extended attributes come from the parent too: setting one changes the ctime. A parent entry from a version-1 tree
    /// (link count 0) recorded none, so its file's attributes are read.
    /// </summary>
    private TreeNode? TryReuse(string fsPath, TreeNode node, TreeNode? previous)
    {
        if (previous is not { Type: NodeType.File } p || p.Size != node.Size || p.MTimeNs != node.MTimeNs || p.CTimeNs != node.CTimeNs
            || p.Inode != node.Inode || !p.Content.All(id => _writer.IsStored(id)))
            return null;
        CountFile(fsPath, node.Size);
        Interlocked.Increment(ref _filesUnmodified);
        Interlocked.Add(ref _progress._bytesScanned, node.Size);
        return node with { Content = p.Content, ExtendedAttributes = p.Links != 0 ? p.ExtendedAttributes : ReadExtendedAttributes(fsPath) };
    }

    private async Task<TreeNode?> ReadFileAsync(string fsPath, TreeNode node, TreeNode? previous)
    {
        CountFile(fsPath, node.Size);
        try
        {
            await using var stream = new FileStream(fsPath, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.SequentialScan, BufferSize = 0,
            });
            var saved = await _saver.SaveAsync(stream, _ct).ConfigureAwait(false);
            Interlocked.Increment(ref previous is null ? ref _filesNew : ref _filesChanged);
            return node with { Content = saved.Content, Size = saved.Size, ExtendedAttributes = ReadExtendedAttributes(fsPath) };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
    }

    public async Task<Dictionary<string, TreeNode>> LoadPreviousChildrenAsync(TreeNode? previous)
    {
        if (previous is null || previous.Type != NodeType.Directory || previous.Content.Count == 0) return [];
        try
        {
            var nodes = new List<TreeNode>();
            foreach (var id in previous.Content)
            {
                // The local cache first: it is all a write-only key has, and it saves a remote read for a full key.
                if (_cache?.TryRead(id) is { } cached) nodes.AddRange(TreeCodec.Decode(cached, $"cached tree {id.ToShortString()}"));
                else if (_repo.Keys.ReadKey is not null) nodes.AddRange(await SnapshotWalker.LoadDirectoryAsync(_repo, _writer.Domain, [id], _ct).ConfigureAwait(false));
                else return [];
            }
            return nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is CorruptObjectException or BlobMissingException)
        {
            return []; // a damaged parent only costs re-reading files
        }
    }
}

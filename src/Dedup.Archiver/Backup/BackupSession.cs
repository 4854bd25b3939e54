using System.Collections.Concurrent;
using System.IO.Enumeration;
using Dedup.Archiver.Cache;
using Dedup.Archiver.Filtering;
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
    private readonly Repo _repo;
    private readonly RepositoryWriter _writer;
    private readonly FileSaver _saver;
    private readonly BackupOptions _options;
    private readonly BackupProgress _progress;
    private readonly PathFilter _excludes;
    private readonly SemaphoreSlim _fileSlots, _dirSlots;
    private readonly CancellationToken _ct;
    private readonly ConcurrentQueue<BackupFailure> _failures = new();
    private long _filesNew, _filesChanged, _filesUnmodified, _dirsNew, _dirsChanged, _dirsUnmodified, _bytesTotal;

    private readonly TreeCache? _cache;

    public BackupSession(Repo repo, RepositoryWriter writer, FileSaver saver, BackupOptions options, BackupProgress progress, TreeCache? cache, CancellationToken ct)
    {
        _cache = cache;
        _repo = repo;
        _writer = writer;
        _saver = saver;
        _options = options;
        _progress = progress;
        _excludes = new PathFilter(options.Excludes);
        // Enough files in flight to keep every core and the disk busy, few enough to bound memory.
        _fileSlots = new SemaphoreSlim(Math.Max(2, options.Workers * 2));
        // Walkers besides the first: each holds one listing per level it is inside, so memory stays bounded.
        _dirSlots = new SemaphoreSlim(Math.Max(1, options.Workers - 1));
        _ct = ct;
    }

    public IReadOnlyList<BackupFailure> Failures => _failures.ToArray();

    public SnapshotSummary Summary(long bytesRead, double seconds) => new()
    {
        FilesNew = _filesNew, FilesChanged = _filesChanged, FilesUnmodified = _filesUnmodified,
        DirsNew = _dirsNew, DirsChanged = _dirsChanged, DirsUnmodified = _dirsUnmodified,
        FilesFailed = _failures.Count, BytesRead = bytesRead, BytesTotal = _bytesTotal,
        BytesAdded = _writer.Statistics.RawBytesAdded, BytesAddedStored = _writer.Statistics.StoredBytesAdded,
        BlobsAdded = _writer.Statistics.BlobsAdded, DurationSeconds = seconds,
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
        if (previous is null || previous.Type != NodeType.Directory) Interlocked.Increment(ref _dirsNew);
        else if (previous.Content.SequenceEqual(ids)) Interlocked.Increment(ref _dirsUnmodified);
        else Interlocked.Increment(ref _dirsChanged);
        Interlocked.Increment(ref _progress._dirs);
        return ids;
    }

    /// <summary>The node for a path in the file system (snapshot path <paramref name="snapPath"/>), or null when excluded or unreadable.</summary>
    public async Task<TreeNode?> BackupPathAsync(string fsPath, string snapPath, string name, TreeNode? previous, ulong? rootDevice)
    {
        _ct.ThrowIfCancellationRequested();
        if (!TryStat(fsPath, out var st)) return null;
        var node = NodeFromStatus(name, st);
        return st.Type switch
        {
            NodeType.Directory => await BackupDirectoryAsync(fsPath, snapPath, node, previous, rootDevice ?? st.Device).ConfigureAwait(false),
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
        Inode = st.Inode, Device = st.Device, Rdev = st.Rdev,
    };

    /// <summary>
    /// Lists a directory and backs up its entries. Each entry costs one lstat here, which decides everything that
    /// needs no reading: subdirectories (visited depth-first, so memory holds one listing per level), unchanged
    /// files, links and special files are handled on this thread; only files to read go to the bounded parallel
    /// slots. Sending every entry through the thread pool cost more than the stat and the comparison themselves.
    /// </summary>
    private async Task<TreeNode?> BackupDirectoryAsync(string fsPath, string snapPath, TreeNode node, TreeNode? previous, ulong rootDevice)
    {
        string[] names;
        try
        {
            names = new FileSystemEnumerable<string>(fsPath, (ref FileSystemEntry e) => e.FileName.ToString(), ListingOptions).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
        Array.Sort(names, StringComparer.Ordinal);
        var previousChildren = await LoadPreviousChildrenAsync(previous).ConfigureAwait(false);
        var entries = new TreeNode?[names.Length];
        var reads = new List<Task>();
        for (int i = 0; i < names.Length; i++)
        {
            _ct.ThrowIfCancellationRequested();
            var childName = names[i];
            var childSnap = snapPath + "/" + childName;
            if (_excludes.Matches(childSnap)) continue;
            var childFs = Path.Join(fsPath, childName);
            if (!TryStat(childFs, out var st)) continue;
            if (_options.OneFileSystem && st.Type == NodeType.Directory && st.Device != rootDevice) continue;
            previousChildren.TryGetValue(childName, out var prevChild);
            var child = NodeFromStatus(childName, st);
            switch (st.Type)
            {
                case NodeType.Directory when _dirSlots.Wait(0):
                    // A free walker: the subdirectory is walked alongside (a walk of unchanged files is all stat calls
                    // and comparisons, which one thread cannot spread over the cores).
                    reads.Add(WalkInSlotAsync(entries, i, childFs, childSnap, child, prevChild, rootDevice));
                    break;
                case NodeType.Directory:
                    // Depth-first: finish the subdirectory before reading further entries; files already started keep going.
                    entries[i] = await BackupDirectoryAsync(childFs, childSnap, child, prevChild, rootDevice).ConfigureAwait(false);
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
        return node with { Content = content };
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

    /// <summary>The parent's node with its content when size, mtime, ctime and inode match and its blobs are all indexed; else null.</summary>
    private TreeNode? TryReuse(string fsPath, TreeNode node, TreeNode? previous)
    {
        if (previous is not { Type: NodeType.File } p || p.Size != node.Size || p.MTimeNs != node.MTimeNs || p.CTimeNs != node.CTimeNs
            || p.Inode != node.Inode || !p.Content.All(id => _writer.IsStored(id)))
            return null;
        CountFile(fsPath, node.Size);
        Interlocked.Increment(ref _filesUnmodified);
        Interlocked.Add(ref _progress._bytesScanned, node.Size);
        return node with { Content = p.Content };
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
            return node with { Content = saved.Content, Size = saved.Size };
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
                else if (_repo.Keys.ReadKey is not null) nodes.AddRange(await SnapshotWalker.LoadDirectoryAsync(_repo, _writer.Domain.Id, [id], _ct).ConfigureAwait(false));
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

using System.Collections.Concurrent;
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
/// level, never the whole tree. Within a directory, files are read in parallel (bounded); a file whose size,
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
    private readonly SemaphoreSlim _fileSlots;
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
        FileStatus st;
        try
        {
            st = PosixFile.LStat(fsPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
        var node = NodeFromStatus(name, st);
        switch (st.Type)
        {
            case NodeType.Directory:
                return await BackupDirectoryAsync(fsPath, snapPath, node, previous, rootDevice ?? st.Device).ConfigureAwait(false);
            case NodeType.Symlink:
                try
                {
                    return node with { LinkTarget = new FileInfo(fsPath).LinkTarget ?? "" };
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Fail(fsPath, e);
                    return null;
                }
            case NodeType.File:
                return await BackupFileAsync(fsPath, node, previous).ConfigureAwait(false);
            default:
                return node; // devices, fifos and sockets: metadata only
        }
    }

    public static TreeNode NodeFromStatus(string name, in FileStatus st) => new()
    {
        Name = name, Type = st.Type, Mode = st.Mode, Uid = st.Uid, Gid = st.Gid,
        User = PosixCalls.UserName(st.Uid), Group = PosixCalls.GroupName(st.Gid),
        MTimeNs = st.MTimeNs, CTimeNs = st.CTimeNs, Size = st.Type == NodeType.File ? st.Size : 0,
        Inode = st.Inode, Device = st.Device, Rdev = st.Rdev,
    };

    private async Task<TreeNode?> BackupDirectoryAsync(string fsPath, string snapPath, TreeNode node, TreeNode? previous, ulong rootDevice)
    {
        string[] names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(fsPath).Select(Path.GetFileName).OfType<string>().ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(fsPath, e);
            return null;
        }
        Array.Sort(names, StringComparer.Ordinal);
        var previousChildren = await LoadPreviousChildrenAsync(previous).ConfigureAwait(false);
        var children = new List<Task<TreeNode?>>(names.Length);
        foreach (var childName in names)
        {
            var childSnap = snapPath + "/" + childName;
            if (_excludes.Matches(childSnap)) continue;
            var childFs = Path.Join(fsPath, childName);
            previousChildren.TryGetValue(childName, out var prevChild);
            if (_options.OneFileSystem && IsOtherFileSystem(childFs, rootDevice)) continue;
            bool isDir = Directory.Exists(childFs) && !File.GetAttributes(childFs).HasFlag(FileAttributes.ReparsePoint);
            if (isDir)
            {
                // Depth-first: finish the subdirectory before reading further entries; files already started keep going.
                children.Add(Task.FromResult(await BackupPathAsync(childFs, childSnap, childName, prevChild, rootDevice).ConfigureAwait(false)));
            }
            else
            {
                await _fileSlots.WaitAsync(_ct).ConfigureAwait(false);
                children.Add(RunFileSlotAsync(childFs, childSnap, childName, prevChild, rootDevice));
            }
        }
        var entries = (await Task.WhenAll(children).ConfigureAwait(false)).OfType<TreeNode>().ToList();
        var content = await SaveDirectoryAsync(entries, previous).ConfigureAwait(false);
        return node with { Content = content };
    }

    private async Task<TreeNode?> RunFileSlotAsync(string fsPath, string snapPath, string name, TreeNode? previous, ulong rootDevice)
    {
        try
        {
            return await Task.Run(() => BackupPathAsync(fsPath, snapPath, name, previous, rootDevice)).ConfigureAwait(false);
        }
        finally
        {
            _fileSlots.Release();
        }
    }

    private static bool IsOtherFileSystem(string path, ulong rootDevice)
    {
        try
        {
            var st = PosixFile.LStat(path);
            return st.Type == NodeType.Directory && st.Device != rootDevice;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // BackupPathAsync will report it
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
                else if (_repo.Keys.ReadKey is not null) nodes.AddRange(await SnapshotWalker.LoadDirectoryAsync(_repo, [id], _ct).ConfigureAwait(false));
                else return [];
            }
            return nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is CorruptObjectException or BlobMissingException)
        {
            return []; // a damaged parent only costs re-reading files
        }
    }

    private async Task<TreeNode?> BackupFileAsync(string fsPath, TreeNode node, TreeNode? previous)
    {
        Interlocked.Increment(ref _progress._files);
        _progress.CurrentPath = fsPath;
        Interlocked.Add(ref _bytesTotal, node.Size);
        if (previous is { Type: NodeType.File } p && p.Size == node.Size && p.MTimeNs == node.MTimeNs && p.CTimeNs == node.CTimeNs
            && p.Inode == node.Inode && p.Content.All(id => _repo.Index.Contains(id)))
        {
            Interlocked.Increment(ref _filesUnmodified);
            Interlocked.Add(ref _progress._bytesScanned, node.Size);
            return node with { Content = p.Content };
        }
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
}

using System.Text;
using Dedup.Format;
using Dedup.Fuse;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Mount;

public sealed record MountOptions
{
    /// <summary>Show only the snapshots of these hosts; empty for all.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>Let other users in (FUSE allow_other); the kernel still checks each file's stored mode and owner.</summary>
    public bool AllowOther { get; init; }

    /// <summary>
    /// Decrypted blobs kept while they are being read (the kernel asks for a blob in 128 KiB pieces): 32 MiB holds
    /// eight 4 MiB blobs, one per FUSE thread.
    /// </summary>
    public long BlobCacheBytes { get; init; } = 32L << 20;

    /// <summary>Decoded directories kept for name lookups.</summary>
    public long DirectoryCacheBytes { get; init; } = 32L << 20;

    /// <summary>The zone of the time names (restic's: local time).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Local;
}

/// <summary>
/// The repository as a read-only file system: <see cref="SnapshotLayout"/> above the snapshots, their trees below.
/// Directories are read from tree blobs (through <see cref="DirectoryCache"/>); file contents through
/// <see cref="BlobCache"/>, each blob verified as it is opened. Memory is bounded by the two caches' budgets and
/// the reads in flight, never by the number of files or snapshots beyond the snapshot list itself.
/// </summary>
public sealed class RepositoryFileSystem : IReadOnlyFileSystem, IDisposable
{
    private const uint VirtualDirectoryMode = 0x16D; // r-xr-xr-x: anyone may look at the layout; the files keep their own modes.

    private readonly SnapshotLayout _layout;
    private readonly DirectoryCache _directories;
    private readonly BlobCache _blobs;
    private readonly IBlobSource _source;
    private readonly CancellationTokenSource _lifetime = new();

    public RepositoryFileSystem(Repo repo, IEnumerable<LoadedSnapshot> snapshots, MountOptions options)
        : this(repo, snapshots, options, new RepositoryBlobSource(repo)) { }

    internal RepositoryFileSystem(Repo repo, IEnumerable<LoadedSnapshot> snapshots, MountOptions options, IBlobSource source)
    {
        var hosts = options.Hosts.ToHashSet(StringComparer.Ordinal);
        _layout = SnapshotLayout.Build(snapshots.Where(s => hosts.Count == 0 || hosts.Contains(s.Info.Host)), options.TimeZone);
        _source = source;
        _directories = new DirectoryCache(repo, options.DirectoryCacheBytes, _lifetime.Token);
        _blobs = new BlobCache(source, options.BlobCacheBytes, _lifetime.Token);
    }

    /// <summary>The snapshots shown, oldest first.</summary>
    public IReadOnlyList<LoadedSnapshot> Snapshots => _layout.Snapshots;

    internal long CachedBlobBytes => _blobs.CachedBytes;
    internal long CachedDirectoryBytes => _directories.CachedBytes;

    public async ValueTask<FileStat?> GetAttributesAsync(string path, CancellationToken ct)
    {
        var (node, inside) = _layout.Resolve(path);
        switch (node)
        {
            case null:
                return null;
            case LayoutLink link:
                return FileStat.Symlink(link.Target, link.MTimeNs);
            case LayoutSnapshot s when inside.Length > 0:
                return await FindAsync(s, inside, ct).ConfigureAwait(false) is { } found ? StatOf(found) : null;
            default:
                return FileStat.Directory(VirtualDirectoryMode, node.MTimeNs);
        }
    }

    public async ValueTask<IReadOnlyList<DirectoryEntry>?> ReadDirectoryAsync(string path, CancellationToken ct)
    {
        var (node, inside) = _layout.Resolve(path);
        switch (node)
        {
            case LayoutDirectory dir:
                return dir.Children.Select(c => new DirectoryEntry(c.Key, c.Value switch
                {
                    LayoutLink link => FileStat.Symlink(link.Target, link.MTimeNs),
                    _ => FileStat.Directory(VirtualDirectoryMode, c.Value.MTimeNs),
                })).ToList();
            case LayoutSnapshot s:
                IReadOnlyList<ObjectId> trees = s.RootTree;
                if (inside.Length > 0)
                {
                    var found = await FindAsync(s, inside, ct).ConfigureAwait(false);
                    if (found is null) return null;
                    if (found.Type != NodeType.Directory) throw new FuseErrorException(Errno.ENOTDIR, path + " is not a directory");
                    trees = found.Content;
                }
                var listing = await _directories.ListAsync(s.Snapshot.Domain, trees, ct).ConfigureAwait(false);
                return Array.ConvertAll(listing, n => new DirectoryEntry(n.Name, StatOf(n)));
            case null:
                return null;
            default:
                throw new FuseErrorException(Errno.ENOTDIR, path + " is not a directory");
        }
    }

    public async ValueTask<string?> ReadLinkAsync(string path, CancellationToken ct)
    {
        var (node, inside) = _layout.Resolve(path);
        return node switch
        {
            null => null,
            LayoutLink link => link.Target,
            LayoutSnapshot s when inside.Length > 0 => await FindAsync(s, inside, ct).ConfigureAwait(false) switch
            {
                null => null,
                { Type: NodeType.Symlink } link => link.LinkTarget,
                _ => throw new FuseErrorException(Errno.EINVAL, path + " is not a symbolic link"),
            },
            _ => throw new FuseErrorException(Errno.EINVAL, path + " is not a symbolic link"),
        };
    }

    public async ValueTask<IReadableFile?> OpenAsync(string path, CancellationToken ct)
    {
        var (node, inside) = _layout.Resolve(path);
        if (node is null) return null;
        if (node is not LayoutSnapshot s || inside.Length == 0) throw new FuseErrorException(Errno.EISDIR, path + " is a directory");
        return await FindAsync(s, inside, ct).ConfigureAwait(false) switch
        {
            null => null,
            { Type: NodeType.File } file => new SnapshotFile(file, s.Snapshot.Domain, path, _blobs, _source),
            { Type: NodeType.Directory } => throw new FuseErrorException(Errno.EISDIR, path + " is a directory"),
            _ => throw new FuseErrorException(Errno.EINVAL, path + " is not a regular file"),
        };
    }

    public FileSystemStats GetStats() => new(
        _layout.Snapshots.Sum(s => s.Info.Summary.BytesTotal),
        _layout.Snapshots.Sum(s => s.Info.Summary.FilesNew + s.Info.Summary.FilesChanged + s.Info.Summary.FilesUnmodified));

    /// <summary>The node at a path below a snapshot's root, one cached directory per component.</summary>
    private async Task<TreeNode?> FindAsync(LayoutSnapshot snapshot, string[] inside, CancellationToken ct)
    {
        IReadOnlyList<ObjectId> trees = snapshot.RootTree;
        TreeNode? node = null;
        foreach (var name in inside)
        {
            if (node is not null && node.Type != NodeType.Directory) return null;
            node = DirectoryCache.Find(await _directories.ListAsync(snapshot.Snapshot.Domain, trees, ct).ConfigureAwait(false), name);
            if (node is null) return null;
            trees = node.Content;
        }
        return node;
    }

    internal static FileStat StatOf(TreeNode n) => new(
        n.Type switch
        {
            NodeType.Directory => FileKind.Directory,
            NodeType.Symlink => FileKind.Symlink,
            NodeType.BlockDevice => FileKind.BlockDevice,
            NodeType.CharDevice => FileKind.CharDevice,
            NodeType.Fifo => FileKind.Fifo,
            NodeType.Socket => FileKind.Socket,
            _ => FileKind.Regular,
        },
        n.Mode & 0xFFF,
        n.Type switch
        {
            NodeType.File => n.Size,
            NodeType.Symlink => Encoding.UTF8.GetByteCount(n.LinkTarget),
            _ => 0,
        },
        n.Uid, n.Gid, n.MTimeNs, n.CTimeNs, n.Rdev);

    public void Dispose()
    {
        _lifetime.Cancel();
        _blobs.Clear();
        _lifetime.Dispose();
    }
}

using System.Collections;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Trees;

/// <summary>What one snapshot holds and costs, as <see cref="BlobUsage"/> measured it.</summary>
public sealed class SnapshotUsage(LoadedSnapshot snapshot)
{
    public LoadedSnapshot Snapshot { get; } = snapshot;
    /// <summary>Bytes a restore writes: the sum of its files' sizes, a file listed under two paths counted twice.</summary>
    public long RestoreSize { get; internal set; }
    public long Files { get; internal set; }
    public long Directories { get; internal set; }
    /// <summary>Raw (uncompressed, decrypted) bytes of the blobs no earlier snapshot measured referenced: what it added.</summary>
    public long AddedRaw { get; internal set; }
    /// <summary>The stored (compressed, encrypted) size of the same blobs.</summary>
    public long AddedStored { get; internal set; }
    /// <summary>Raw bytes of the blobs no other measured snapshot references: what forgetting it alone would free, before compression.</summary>
    public long UniqueRaw { get; internal set; }
    /// <summary>Blobs its trees name that the index does not know (check says more).</summary>
    public long MissingBlobs { get; internal set; }
}

/// <summary>
/// Counts, over many snapshots, which blobs each references, to tell the bytes each snapshot added and the bytes only
/// it holds. Blobs are numbered by the index (an entry number per blob and domain), so the bookkeeping is an int and
/// a bit per index entry: the last snapshot that referenced the blob, and whether two or more did. A directory is read
/// once per snapshot at most, and not at all once two snapshots have shared it: everything below a shared directory
/// is shared too, and its restore size is remembered per directory. Measure snapshots oldest first.
/// </summary>
public sealed class BlobUsage(Repo repo)
{
    private readonly int[] _lastSeenBy = Filled(repo.Index.Count);
    private readonly BitArray _shared = new(repo.Index.Count);
    private readonly Dictionary<(DomainId, ObjectId), (long Size, long Files, long Dirs)> _directoryTotals = [];
    private readonly List<SnapshotUsage> _measured = [];

    private enum Seen { First, InThisSnapshot, NowShared, AlreadyShared, Missing }

    /// <summary>Bytes of bookkeeping per index entry (the figure the report gives for memory).</summary>
    public const double BytesPerIndexEntry = 4.125;

    private long _directoriesRead;

    /// <summary>Directories read so far; a progress report reads it while snapshots are measured.</summary>
    public long DirectoriesRead => Volatile.Read(ref _directoriesRead);

    public IReadOnlyList<SnapshotUsage> Snapshots => _measured;

    public async Task<SnapshotUsage> MeasureAsync(LoadedSnapshot snapshot, CancellationToken ct = default)
    {
        var usage = new SnapshotUsage(snapshot);
        int number = _measured.Count;
        _measured.Add(usage);
        var (size, files, dirs) = await DirectoryAsync(usage, number, snapshot.Domain, SnapshotWalker.RootTree(snapshot.Info), "", 0, ct).ConfigureAwait(false);
        usage.RestoreSize = size;
        usage.Files = files;
        usage.Directories = dirs;
        return usage;
    }

    /// <summary>
    /// Call once every snapshot is measured: fills in <see cref="SnapshotUsage.UniqueRaw"/>, and returns the raw and
    /// stored bytes of every blob some measured snapshot references, and their count.
    /// </summary>
    public (long Raw, long Stored, long Blobs) Finish()
    {
        long raw = 0, stored = 0, blobs = 0;
        for (int e = 0; e < _lastSeenBy.Length; e++)
        {
            if (_lastSeenBy[e] < 0) continue;
            var location = repo.Index.EntryLocation(e);
            raw += location.RawLength;
            stored += location.StoredLength;
            blobs++;
            if (!_shared[e]) _measured[_lastSeenBy[e]].UniqueRaw += location.RawLength;
        }
        return (raw, stored, blobs);
    }

    private async Task<(long Size, long Files, long Dirs)> DirectoryAsync(SnapshotUsage usage, int number, DomainId domain, IReadOnlyList<ObjectId> tree,
        string path, int depth, CancellationToken ct)
    {
        bool known = true;
        foreach (var id in tree)
            known &= Visit(usage, number, id, domain) is Seen.InThisSnapshot or Seen.AlreadyShared;
        var key = (domain, SnapshotWalker.DirectoryKey(tree));
        if (known && _directoryTotals.TryGetValue(key, out var totals)) return totals;
        if (depth >= Limits.MaxTreeDepth) throw new CorruptObjectException(path, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
        var children = await SnapshotWalker.LoadDirectoryAsync(repo, domain, tree, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _directoriesRead);
        long size = 0, files = 0, dirs = 0;
        foreach (var child in children)
        {
            if (child.Type == NodeType.Directory)
            {
                dirs++;
                if (child.Content.Count == 0) continue;
                var below = await DirectoryAsync(usage, number, domain, child.Content, path + "/" + child.Name, depth + 1, ct).ConfigureAwait(false);
                size += below.Size;
                files += below.Files;
                dirs += below.Dirs;
                continue;
            }
            files++;
            if (child.Type != NodeType.File) continue;
            size += child.Size;
            foreach (var id in child.Content) Visit(usage, number, id, domain);
        }
        _directoryTotals[key] = (size, files, dirs);
        return (size, files, dirs);
    }

    private Seen Visit(SnapshotUsage usage, int number, ObjectId id, DomainId domain)
    {
        int entry = -1;
        repo.Index.ForEachEntry(id, domain, e =>
        {
            if (entry < 0) entry = e;
        });
        if (entry < 0 || entry >= _lastSeenBy.Length)
        {
            usage.MissingBlobs++;
            return Seen.Missing;
        }
        int last = _lastSeenBy[entry];
        if (last == number) return Seen.InThisSnapshot;
        _lastSeenBy[entry] = number;
        if (last < 0)
        {
            var location = repo.Index.EntryLocation(entry);
            usage.AddedRaw += location.RawLength;
            usage.AddedStored += location.StoredLength;
            return Seen.First;
        }
        if (_shared[entry]) return Seen.AlreadyShared;
        _shared[entry] = true;
        return Seen.NowShared;
    }

    private static int[] Filled(int n)
    {
        var a = new int[n];
        Array.Fill(a, -1);
        return a;
    }
}

using System.Collections;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance.Prune;

/// <summary>A trusted snapshot that refers to something its domain does not hold (or that does not open).</summary>
public sealed record DanglingSnapshot(string Snapshot, string Host, string Problem);

/// <summary>
/// The set of index entries some trusted snapshot needs, as one bit per entry: about 1.2 MiB for 10 million entries,
/// and no per-blob objects. Every location of a needed blob counts as used, in the snapshot's own domain only, so a
/// false claim elsewhere can never make a real copy look unused. Trees shared between snapshots are walked once.
/// A snapshot that refers to a blob its domain does not have is recorded as dangling and walked as far as it goes:
/// what it does reach stays kept, and a planted snapshot cannot stop prune. A tree that its domain's index does list
/// but that cannot be read (a damaged or overwritten pack, or nesting past the limit) is different: what lies below it
/// is unknown, so that domain is <em>blind</em> and prune marks and repacks none of its packs until it is repaired.
/// Blindness is per domain: a host that damages its own trees stops pruning of its own domain only, and one that
/// damages another domain's trees (a versioned bucket that ignores create-only lets it overwrite them) cannot make
/// prune take that domain's data for unused.
/// </summary>
internal sealed class UsedBlobs(IndexTable index)
{
    private readonly BitArray _used = new(Math.Max(1, index.Count));
    private readonly List<DanglingSnapshot> _dangling = [];
    private readonly Dictionary<DomainId, string> _blind = [];

    public long Count { get; private set; }
    public IReadOnlyList<DanglingSnapshot> Dangling => _dangling;

    /// <summary>Domains with an indexed tree that could not be read, each with the first such problem.</summary>
    public IReadOnlyDictionary<DomainId, string> BlindDomains => _blind;

    public bool IsUsed(int entry) => _used[entry];

    /// <summary>Marks every entry of the blob in the domain; false when it has none (missing) or all were marked before.</summary>
    private bool MarkUsed(in ObjectId id, DomainId domain, out bool found)
    {
        bool fresh = false, any = false;
        index.ForEachEntry(id, domain, entry =>
        {
            any = true;
            if (_used[entry]) return;
            _used[entry] = true;
            Count++;
            fresh = true;
        });
        found = any;
        return fresh;
    }

    public async Task AddSnapshotAsync(Repo repo, LoadedSnapshot snapshot, CancellationToken ct)
    {
        var domain = snapshot.Domain;
        string? problem = null;
        var pending = new Stack<(ObjectId Id, int Depth)>();
        foreach (var t in SnapshotWalker.RootTree(snapshot.Info))
        {
            if (MarkUsed(t, domain, out bool found)) pending.Push((t, 0));
            else if (!found) problem ??= $"its root tree {t.ToShortString()} is in no index of its domain";
        }
        while (pending.Count > 0)
        {
            var (treeId, depth) = pending.Pop();
            if (depth > Limits.MaxTreeDepth)
            {
                problem ??= "its trees nest too deep";
                _blind.TryAdd(domain, $"snapshot {snapshot.Id.ToShortString()} of host '{snapshot.Info.Host}': its trees nest too deep");
                continue;
            }
            List<TreeNode> nodes;
            try
            {
                nodes = await SnapshotWalker.LoadDirectoryAsync(repo, domain, [treeId], ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is CorruptObjectException or BlobMissingException or Dedup.Storage.ObjectNotFoundException)
            {
                problem ??= $"tree {treeId.ToShortString()} cannot be read ({e.Message})";
                _blind.TryAdd(domain, $"tree {treeId.ToShortString()} of snapshot {snapshot.Id.ToShortString()} (host '{snapshot.Info.Host}') is indexed but cannot be read");
                continue;
            }
            foreach (var node in nodes)
            {
                if (node.Type == NodeType.File)
                {
                    foreach (var id in node.Content)
                    {
                        MarkUsed(id, domain, out bool found);
                        if (!found) problem ??= $"blob {id.ToShortString()} of a file is in no index of its domain";
                    }
                }
                else if (node.Type == NodeType.Directory)
                {
                    foreach (var id in node.Content)
                    {
                        if (MarkUsed(id, domain, out bool found)) pending.Push((id, depth + 1));
                        else if (!found) problem ??= $"tree {id.ToShortString()} is in no index of its domain";
                    }
                }
            }
        }
        if (problem is not null) _dangling.Add(new DanglingSnapshot(snapshot.Id.ToString(), snapshot.Info.Host, problem));
    }
}

using Dedup.Archiver.Trees;
using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Mount;

/// <summary>
/// Decoded directories of snapshot trees, within a budget of their approximate size in memory. The kernel looks names
/// up one path component at a time, and often: a directory read once serves every lookup in it. Entries are in
/// ordinal name order (the tree format guarantees it), so a name is found by binary search.
/// </summary>
internal sealed class DirectoryCache(Repo repo, long budgetBytes, CancellationToken lifetime)
{
    private readonly BoundedCache<DirectoryKey, TreeNode[]> _cache = new(budgetBytes,
        async (key, ct) => (await SnapshotWalker.LoadDirectoryAsync(repo, key.Domain, key.Trees, ct).ConfigureAwait(false)).ToArray(),
        ApproximateSize, null, lifetime);

    public long CachedBytes => _cache.CachedCost;

    /// <summary>A directory of a snapshot of <paramref name="domain"/>: its trees are read and verified in that domain only.</summary>
    public Task<TreeNode[]> ListAsync(DomainId domain, IReadOnlyList<ObjectId> trees, CancellationToken ct) =>
        trees.Count == 0 ? Task.FromResult(Array.Empty<TreeNode>()) : _cache.GetAsync(DirectoryKey.Of(domain, trees), ct);

    public static TreeNode? Find(TreeNode[] sorted, string name)
    {
        int lo = 0, hi = sorted.Length - 1;
        while (lo <= hi)
        {
            int mid = lo + (hi - lo) / 2;
            int c = string.CompareOrdinal(sorted[mid].Name, name);
            if (c == 0) return sorted[mid];
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return null;
    }

    private static long ApproximateSize(TreeNode[] nodes)
    {
        long bytes = 64;
        foreach (var n in nodes)
            bytes += 160 + 2L * (n.Name.Length + n.User.Length + n.Group.Length + n.LinkTarget.Length) + ObjectId.Size * (long)n.Content.Count;
        return bytes;
    }

    /// <summary>
    /// A directory is the list of its tree blobs; nearly always one. A longer list is keyed by the hash of all its IDs
    /// as well, since two directories may share their first tree blob and differ after it.
    /// </summary>
    private readonly record struct DirectoryKey(DomainId Domain, ObjectId First, ObjectId AllHash, IReadOnlyList<ObjectId> Trees)
    {
        public static DirectoryKey Of(DomainId domain, IReadOnlyList<ObjectId> trees)
        {
            if (trees.Count == 1) return new DirectoryKey(domain, trees[0], default, trees);
            var bytes = new byte[trees.Count * ObjectId.Size];
            for (int i = 0; i < trees.Count; i++) trees[i].WriteTo(bytes.AsSpan(i * ObjectId.Size));
            return new DirectoryKey(domain, trees[0], ObjectId.HashOf(bytes), trees);
        }

        public bool Equals(DirectoryKey other) => Domain == other.Domain && First.Equals(other.First) && AllHash.Equals(other.AllHash);

        public override int GetHashCode() => HashCode.Combine(Domain, First, AllHash);
    }
}

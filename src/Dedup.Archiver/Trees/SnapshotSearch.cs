using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Trees;

/// <summary>
/// Finds the entries a predicate selects in many snapshots, reading each distinct directory once: a directory already
/// searched (the same list of tree blobs in the same domain, at the same path when the predicate looks at paths)
/// contributes the matches remembered for it. Many snapshots of one host, which share most directories, then cost
/// little more than one. Memory: one remembered list per distinct directory searched (its key and its matches below).
/// </summary>
public sealed class SnapshotSearch(Repo repo, Func<string, TreeNode, bool> matches, bool dependsOnPath)
{
    /// <summary>A match below a directory: its path relative to it ("/a/b.txt") and its node.</summary>
    public readonly record struct Hit(string RelativePath, TreeNode Node);

    private readonly Dictionary<(DomainId, ObjectId, string), Hit[]> _searched = [];

    private long _directoriesRead, _directoriesReused;

    /// <summary>Directories read from the repository so far (each distinct one once); a progress report reads it while the search runs.</summary>
    public long DirectoriesRead => Volatile.Read(ref _directoriesRead);

    /// <summary>Directories whose matches were reused instead of read again.</summary>
    public long DirectoriesReused => Volatile.Read(ref _directoriesReused);

    /// <summary>Every match in the tree, with its path inside the snapshot, parents before children.</summary>
    public async Task<Hit[]> SearchAsync(DomainId domain, IReadOnlyList<ObjectId> root, CancellationToken ct = default) =>
        await SearchDirectoryAsync(domain, root, "", 0, ct).ConfigureAwait(false);

    private async Task<Hit[]> SearchDirectoryAsync(DomainId domain, IReadOnlyList<ObjectId> tree, string path, int depth, CancellationToken ct)
    {
        var key = (domain, SnapshotWalker.DirectoryKey(tree), dependsOnPath ? path : "");
        if (_searched.TryGetValue(key, out var known))
        {
            Interlocked.Increment(ref _directoriesReused);
            return known;
        }
        if (depth >= Limits.MaxTreeDepth) throw new CorruptObjectException(path, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
        var children = await SnapshotWalker.LoadDirectoryAsync(repo, domain, tree, ct).ConfigureAwait(false);
        Interlocked.Increment(ref _directoriesRead);
        List<Hit>? hits = null;
        foreach (var child in children)
        {
            var childPath = path + "/" + child.Name;
            if (matches(childPath, child)) (hits ??= []).Add(new Hit("/" + child.Name, child));
            if (child.Type != NodeType.Directory || child.Content.Count == 0) continue;
            var below = await SearchDirectoryAsync(domain, child.Content, childPath, depth + 1, ct).ConfigureAwait(false);
            foreach (var h in below) (hits ??= []).Add(new Hit("/" + child.Name + h.RelativePath, h.Node));
        }
        var result = hits?.ToArray() ?? [];
        _searched[key] = result;
        return result;
    }
}

using Dedup.Archiver.Filtering;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>
/// What a restore reads, as far as its trees can be read now: the data packs of the files it writes, and the tree packs
/// it met in an archive class (spec threat 39: a patched client can put them there). Below an archived tree nothing is
/// known until it is retrieved, so a caller retrieves those first and walks again.
/// </summary>
public sealed record NeededPacks(IReadOnlySet<ObjectId> Data, IReadOnlySet<ObjectId> ArchivedTrees);

/// <summary>The restore walk of <see cref="Retrieval.NeededPacksAsync"/>: the same snapshot, paths and filters as <see cref="Restorer"/>.</summary>
public static class NeededPacksWalk
{
    /// <param name="skipArchivedTrees">
    /// True: a directory whose tree pack is archived is recorded in <see cref="NeededPacks.ArchivedTrees"/> and not entered.
    /// False: its <see cref="ObjectArchivedException"/> propagates.
    /// </param>
    public static async Task<NeededPacks> RunAsync(Repo repo, LoadedSnapshot snapshot, IReadOnlyList<string> includes, IReadOnlyList<string> excludes,
        bool skipArchivedTrees, CancellationToken ct = default)
    {
        var inc = new PathFilter(includes);
        var exc = new PathFilter(excludes);
        var packs = new HashSet<ObjectId>();
        var archivedTrees = new HashSet<ObjectId>();
        async Task WalkAsync(IReadOnlyList<ObjectId> tree, string dir, int depth)
        {
            if (depth > Limits.MaxTreeDepth) throw new CorruptObjectException(dir, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
            List<TreeNode> nodes;
            try
            {
                nodes = await SnapshotWalker.LoadDirectoryAsync(repo, snapshot.Domain, tree, ct).ConfigureAwait(false);
            }
            catch (ObjectArchivedException e) when (skipArchivedTrees && Layout.TryParseId(e.Name, out var pack) && e.Name == Layout.Pack(pack))
            {
                archivedTrees.Add(pack);
                return;
            }
            foreach (var node in nodes)
            {
                var path = dir + "/" + node.Name;
                if (exc.Matches(path)) continue;
                bool selected = inc.IsEmpty || inc.Matches(path);
                if (node.Type == NodeType.Directory)
                {
                    if (selected || inc.CouldMatchBelow(path)) await WalkAsync(node.Content, path, depth + 1).ConfigureAwait(false);
                }
                else if (selected && node.Type == NodeType.File)
                {
                    // The pack a reader tries first; the others are fallbacks, read only when it fails.
                    foreach (var blob in node.Content)
                        if (repo.Index.TryGet(blob, snapshot.Domain, out var location)) packs.Add(location.PackId);
                }
            }
        }
        await WalkAsync(SnapshotWalker.RootTree(snapshot.Info), "", 0).ConfigureAwait(false);
        return new NeededPacks(packs, archivedTrees);
    }
}

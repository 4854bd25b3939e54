using System.Collections.Concurrent;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Packs;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance;

public sealed record RepairIndexResult(int PacksIndexed, IReadOnlyList<string> DamagedPacks, int IndexFilesWritten, int IndexFilesDeleted, int DamagedBlobsDropped = 0);

public sealed record RepairedSnapshot(string Original, string? Replacement, IReadOnlyList<string> LostPaths);

/// <summary>
/// Helps after damage. 'repair index' rebuilds the index from the pack headers, so entries for missing or damaged packs
/// disappear (otherwise backups would deduplicate against data that is gone). 'repair snapshots' writes, for each snapshot
/// that refers to missing data, a new snapshot without the affected files, tagged "repaired", and says what was lost.
/// Both need a full key and a store that can delete (the index files they replace).
/// </summary>
public static class Repair
{
    /// <param name="readData">
    /// Also read every pack whole and open every blob: a blob that no longer opens is left out of the new index, so
    /// 'repair snapshots' sees it as lost and the next backup stores that data again. Without it only headers are read.
    /// </param>
    public static async Task<RepairIndexResult> RebuildIndexAsync(Repo repo, IMaintenanceStorage storage, CancellationToken ct = default, bool readData = false)
    {
        int droppedBlobs = 0;
        var readKey = repo.Keys.RequireReadKey("read pack headers");
        var oldIndexFiles = new List<string>();
        await foreach (var obj in storage.ListAsync(Layout.IndexPrefix, ct).ConfigureAwait(false)) oldIndexFiles.Add(obj.Name);
        var packs = new ConcurrentBag<(IndexPack Pack, DomainId Domain)>();
        var damaged = new ConcurrentBag<string>();
        var listed = new List<StoredObject>();
        await foreach (var obj in storage.ListAsync(Layout.DataPrefix, ct).ConfigureAwait(false)) listed.Add(obj);
        await Parallel.ForEachAsync(listed, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (obj, token) =>
        {
            if (!Layout.TryParseId(obj.Name, out var id)) return;
            try
            {
                var header = await PackHeaderReader.ReadAsync(storage, id, obj.Size, readKey, token).ConfigureAwait(false);
                // A header is whatever its writer wrote: without reading the data, the pack is vouched for only as a
                // writer's claim. With --read-data every blob that stays was opened and verified, so a full key vouches.
                var pack = header.ToIndexPack();
                if (readData)
                {
                    var bytes = await StoredObjects.ReadAllAsync(storage, obj.Name, (int)Math.Min(obj.Size + 1, int.MaxValue), token).ConfigureAwait(false);
                    var bad = PackVerifier.Verify(bytes, id, pack, header.Domain, repo.Keys).BadBlobs.Select(b => b.Id).ToHashSet();
                    if (bad.Count > 0)
                    {
                        Interlocked.Add(ref droppedBlobs, bad.Count);
                        damaged.Add($"{obj.Name}: {bad.Count} damaged blob(s) left out of the index");
                        pack = pack with { Blobs = pack.Blobs.Where(b => !bad.Contains(b.Id)).ToArray() };
                    }
                    pack = pack with { Origin = PackOrigin.FullKey };
                }
                if (pack.Blobs.Length > 0) packs.Add((pack, header.Domain));
            }
            catch (CorruptObjectException e)
            {
                damaged.Add($"{obj.Name}: {e.Reason}");
            }
        }).ConfigureAwait(false);

        int written = 0;
        var keep = new HashSet<string>();
        foreach (var chunk in packs.GroupBy(p => p.Domain).SelectMany(g => g.OrderBy(p => p.Pack.PackId).Chunk(4096).Select(c => (Domain: g.Key, Packs: c))))
        {
            var bytes = IndexFile.Seal(chunk.Packs.Select(p => p.Pack).ToArray(), repo.Keys.For(chunk.Domain), repo.Keys);
            var name = Layout.Index(ObjectId.HashOf(bytes));
            await storage.PutAsync(name, bytes, ct).ConfigureAwait(false);
            keep.Add(name);
            written++;
        }
        int deleted = 0;
        foreach (var name in oldIndexFiles.Where(n => !keep.Contains(n)))
        {
            await storage.DeleteAsync(name, ct).ConfigureAwait(false);
            deleted++;
        }
        return new RepairIndexResult(packs.Count, damaged.Order().ToList(), written, deleted, droppedBlobs);
    }

    /// <summary>
    /// For every snapshot with files whose blobs are missing from the index (or whose trees cannot be read), writes a
    /// replacement that leaves them out. With <paramref name="forgetOriginals"/>, the damaged originals are removed.
    /// Run 'repair index' first so the index reflects what is really stored.
    /// </summary>
    public static async Task<List<RepairedSnapshot>> RepairSnapshotsAsync(Repo repo, IMaintenanceStorage storage, bool forgetOriginals, bool dryRun, CancellationToken ct = default)
    {
        repo.Keys.RequireReadKey("read snapshots");
        // Snapshots before the index (as prune): a backup that finishes in between must not look as if it lost data.
        var snapshots = await repo.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false);
        await repo.LoadIndexAsync(ct).ConfigureAwait(false);
        if (!repo.IndexReport.Complete)
            throw new RepositoryException($"{repo.IndexReport.Damaged[0].Message}. Run 'dedup repair index' first, so that no file looks lost only because its index entry is unreadable.");
        var results = new List<RepairedSnapshot>();
        foreach (var snapshot in snapshots)
        {
            var lost = new List<string>();
            // Not trusted: nothing uses it, so there is nothing to repair (forget removes it).
            if (!snapshot.IsTrusted) continue;
            await using var writer = repo.StartWriting(snapshot.Domain);
            var tree = await RewriteAsync(repo, writer, SnapshotWalker.RootTree(snapshot.Info), "", lost, 0, [], ct).ConfigureAwait(false);
            if (lost.Count == 0) continue;
            string? replacement = null;
            if (!dryRun)
            {
                await writer.FlushAsync(ct).ConfigureAwait(false);
                // The admin's key vouches for the replacement's time, so it takes the time the original counted at: a
                // writer's claimed time that the original itself did not earn (a future or back date) is not promoted.
                var info = snapshot.Info with
                {
                    Time = snapshot.EffectiveTime, Tree = tree.Select(t => t.ToString()).ToArray(), Parent = snapshot.Id.ToString(), Incomplete = true,
                    Tags = snapshot.Info.Tags.Append("repaired").Distinct().ToArray(),
                };
                // Signed by the admin's key, in the original's domain: its trees are blobs of that domain.
                replacement = (await repo.Snapshots.SaveAsync(info, snapshot.Domain, ct: ct).ConfigureAwait(false)).ToString();
                if (forgetOriginals) await storage.DeleteAsync(Layout.Snapshot(snapshot.Id), ct).ConfigureAwait(false);
            }
            results.Add(new RepairedSnapshot(snapshot.Id.ToString(), replacement, lost));
        }
        return results;
    }

    /// <param name="rewritten">Directories of this snapshot already rewritten: one listed again under another path is not
    /// walked again (its losses are named under the first path), so a snapshot listing one subtree twice at each of many
    /// levels costs one walk per directory, not 2^depth.</param>
    private static async Task<IReadOnlyList<ObjectId>> RewriteAsync(Repo repo, RepositoryWriter writer, IReadOnlyList<ObjectId> tree, string path,
        List<string> lost, int depth, Dictionary<ObjectId, IReadOnlyList<ObjectId>> rewritten, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var key = SnapshotWalker.DirectoryKey(tree);
        if (rewritten.TryGetValue(key, out var done)) return done;
        var result = await RewriteOnceAsync(repo, writer, tree, path, lost, depth, rewritten, ct).ConfigureAwait(false);
        rewritten[key] = result;
        return result;
    }

    private static async Task<IReadOnlyList<ObjectId>> RewriteOnceAsync(Repo repo, RepositoryWriter writer, IReadOnlyList<ObjectId> tree, string path,
        List<string> lost, int depth, Dictionary<ObjectId, IReadOnlyList<ObjectId>> rewritten, CancellationToken ct)
    {
        List<TreeNode> nodes;
        try
        {
            if (depth > Limits.MaxTreeDepth) throw new CorruptObjectException(path, "trees nest too deep");
            nodes = await SnapshotWalker.LoadDirectoryAsync(repo, writer.Domain.Id, tree, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CorruptObjectException or BlobMissingException)
        {
            lost.Add((path.Length == 0 ? "/" : path) + "/ (directory contents)");
            return await TreeWriter.SaveAsync(writer, [], ct).ConfigureAwait(false);
        }
        var kept = new List<TreeNode>(nodes.Count);
        foreach (var node in nodes)
        {
            var child = path + "/" + node.Name;
            if (node.Type == NodeType.File && !node.Content.All(id => repo.Index.Locations(id, writer.Domain.Id).Count > 0))
            {
                lost.Add(child);
                continue;
            }
            kept.Add(node.Type == NodeType.Directory
                ? node with { Content = await RewriteAsync(repo, writer, node.Content, child, lost, depth + 1, rewritten, ct).ConfigureAwait(false) }
                : node);
        }
        return await TreeWriter.SaveAsync(writer, kept, ct).ConfigureAwait(false);
    }
}

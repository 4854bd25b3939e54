using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Snapshots;

namespace Dedup.Archiver.Check;

/// <summary>
/// Walks every snapshot's trees: each tree blob must be indexed and decode, and each blob a file names must be
/// indexed and not known bad. Damage is recorded against the object to blame, with the snapshot and path it costs.
/// A subtree found clean is remembered by its tree IDs and skipped in later snapshots, so unchanged directories
/// are walked once; a damaged subtree is walked in every snapshot, so every affected path is named, but once per snapshot:
/// a subtree listed again under another path of the same snapshot is not walked again (a hostile snapshot that lists one
/// subtree twice at each of 40 levels would otherwise cost 2^40 walks).
/// </summary>
internal sealed class TreeCheck(IndexTable table, BlobReader reader, BadLocations badBlobs, ProblemLog log)
{
    private DomainId _domain;
    private readonly HashSet<ObjectId> _clean = [];
    private readonly HashSet<ObjectId> _walkedInSnapshot = [];
    private readonly Dictionary<ObjectId, string> _badTrees = [];
    private long _treesLoaded;

    public long TreesLoaded => _treesLoaded;

    public async Task CheckSnapshotAsync(LoadedSnapshot snapshot, CancellationToken ct)
    {
        var sid = snapshot.Id.ToString();
        IReadOnlyList<ObjectId> root;
        try
        {
            root = Trees.SnapshotWalker.RootTree(snapshot.Info);
        }
        catch (FormatException)
        {
            log.Add(Layout.Snapshot(snapshot.Id), "bad root tree ID");
            return;
        }
        if (root.Count == 0) log.Add(Layout.Snapshot(snapshot.Id), "it has no root tree");
        // Trees and files are looked up in the snapshot's own domain only: that is all a restore of it would read.
        if (_domain != snapshot.Domain) _clean.Clear();
        _domain = snapshot.Domain;
        _walkedInSnapshot.Clear();
        await CheckDirectoryAsync(sid, "/", root, 0, ct).ConfigureAwait(false);
    }

    /// <summary>Returns true when the directory and everything below it is intact.</summary>
    private async Task<bool> CheckDirectoryAsync(string sid, string path, IReadOnlyList<ObjectId> treeIds, int depth, CancellationToken ct)
    {
        if (treeIds.All(_clean.Contains)) return true;
        // Walked before in this snapshot and not clean: its damage is recorded (at the path where it was first met).
        if (!_walkedInSnapshot.Add(Trees.SnapshotWalker.DirectoryKey(treeIds))) return false;
        ct.ThrowIfCancellationRequested();
        if (depth > Limits.MaxTreeDepth)
        {
            log.Affect(Layout.Snapshot(ObjectId.Parse(sid)), $"directories nest deeper than {Limits.MaxTreeDepth} levels", sid, path);
            return false;
        }
        var nodes = await LoadAsync(sid, path, treeIds, ct).ConfigureAwait(false);
        if (nodes is null) return false;
        bool clean = true;
        foreach (var node in nodes)
        {
            var child = path == "/" ? "/" + node.Name : path + "/" + node.Name;
            if (node.Type == NodeType.Directory)
            {
                if (node.Content.Count > 0) clean &= await CheckDirectoryAsync(sid, child, node.Content, depth + 1, ct).ConfigureAwait(false);
                continue;
            }
            foreach (var id in node.Content)
                clean &= CheckDataBlob(sid, child, id);
        }
        if (clean) _clean.UnionWith(treeIds);
        return clean;
    }

    private bool CheckDataBlob(string sid, string file, ObjectId id)
    {
        var locations = table.Locations(id, _domain);
        if (locations.Count == 0)
        {
            log.Affect($"blob {id}", "referenced by a file but in no index: the data is missing", sid, file);
            return false;
        }
        if (badBlobs.WhyLost(locations) is { } bad)
        {
            log.Affect(bad.Pack, bad.Reason, sid, file);
            return false;
        }
        if (locations.All(l => l.Type != BlobType.Data))
        {
            log.Affect(Layout.Pack(locations[0].PackId), $"blob {id.ToShortString()} is a file's content but is stored as a tree blob", sid, file);
            return false;
        }
        return true;
    }

    /// <summary>The directory's entries across its tree blobs, or null (damage recorded) when any of them fails.</summary>
    private async Task<List<TreeNode>?> LoadAsync(string sid, string path, IReadOnlyList<ObjectId> treeIds, CancellationToken ct)
    {
        var nodes = new List<TreeNode>();
        foreach (var id in treeIds)
        {
            var (name, reason) = Blame(id);
            if (reason is null)
            {
                try
                {
                    using var blob = await reader.ReadAsync(id, _domain, ct).ConfigureAwait(false);
                    _treesLoaded++;
                    var part = TreeCodec.Decode(blob.Span, $"tree {id.ToShortString()}");
                    if (nodes.Count > 0 && part.Count > 0 && string.CompareOrdinal(nodes[^1].Name, part[0].Name) >= 0)
                        reason = "its entries overlap the previous tree blob of the directory";
                    else nodes.AddRange(part);
                }
                catch (CorruptObjectException e)
                {
                    reason = e.Reason;
                }
                catch (Dedup.Storage.ObjectNotFoundException)
                {
                    reason = "its pack is missing";
                }
                catch (Dedup.Storage.ObjectArchivedException e)
                {
                    // Spec threat 39: not damage. The directories below are not checked until the pack is retrieved.
                    log.Add(e.Name, PackStructureCheck.ArchivedNote(e, $"it holds trees (Dedup writes tree packs hot: a backup host put it there), so {path} "
                        + "and what is below it were not checked"), warning: true);
                    return null;
                }
                if (reason is not null) _badTrees[id] = reason;
            }
            if (reason is not null)
            {
                // Everything below this directory is lost to this snapshot; name the directory itself.
                log.Affect(name, $"tree {id.ToShortString()} is damaged: {reason}", sid, path == "/" ? "/" : path + "/");
                return null;
            }
        }
        return nodes;
    }

    /// <summary>Where a tree blob lives (for the message) and why it is already known bad, if it is.</summary>
    private (string Name, string? Reason) Blame(ObjectId id)
    {
        var locations = table.Locations(id, _domain);
        if (locations.Count == 0) return ($"blob {id}", "tree in no index: the directory is missing");
        var name = Layout.Pack(locations[0].PackId);
        if (_badTrees.TryGetValue(id, out var known)) return (name, known);
        if (badBlobs.WhyLost(locations) is { } bad) return (bad.Pack, bad.Reason);
        if (locations.All(l => l.Type != BlobType.Tree)) return (name, "a directory's tree is stored as a data blob");
        return (name, null);
    }
}

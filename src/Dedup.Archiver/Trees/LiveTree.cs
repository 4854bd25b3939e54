using Dedup.Archiver.Backup;
using Dedup.Archiver.Platform;
using Dedup.Format;

namespace Dedup.Archiver.Trees;

/// <summary>
/// The live file system as <see cref="TreeDiff"/> reads a side: each directory listed with one lstat per entry, as
/// backup records it (owner names, link targets, extended attributes). A directory's content is a stand-in ID that
/// never equals a stored tree's, so every live directory is read; files compare by size and mtime, as backup's
/// change detection does before it reads anything.
/// </summary>
public static class LiveTree
{
    private static readonly ObjectId Unread = ObjectId.HashOf("dedup.live-directory"u8);

    /// <summary>The live directory at <paramref name="path"/>, in tree order; entries that vanish meanwhile are left out.</summary>
    public static Task<List<TreeNode>> LoadAsync(string path, IReadOnlyList<ObjectId> _, CancellationToken ct)
    {
        var nodes = new List<TreeNode>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(path))
        {
            ct.ThrowIfCancellationRequested();
            if (!PosixFile.TryLStat(entry, out var st)) continue;
            var node = BackupSession.NodeFromStatus(Path.GetFileName(entry), st);
            node = node.Type switch
            {
                NodeType.Directory => node with { Content = [Unread] },
                NodeType.Symlink => node with { LinkTarget = new FileInfo(entry).LinkTarget ?? "" },
                _ => node,
            };
            nodes.Add(node with { ExtendedAttributes = ReadAttributes(entry) });
        }
        nodes.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return Task.FromResult(nodes);
    }

    private static IReadOnlyList<ExtendedAttribute> ReadAttributes(string path)
    {
        try
        {
            return ExtendedAttributes.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return []; // as backup: what cannot be read was not stored either
        }
    }
}

using System.Runtime.CompilerServices;
using Dedup.Format;

namespace Dedup.Archiver.Trees;

/// <summary>What changed at one path between two trees, as restic's diff marks it.</summary>
public enum DiffKind
{
    /// <summary>'+': only in the new tree.</summary>
    Added,
    /// <summary>'-': only in the old tree.</summary>
    Removed,
    /// <summary>'M': the same type on both sides, other content (file data, link target, device number).</summary>
    Modified,
    /// <summary>'T': the type changed (a file became a directory, say): the old entry's children are removed, the new one's added.</summary>
    TypeChanged,
    /// <summary>'U': the same content, other metadata (mode, mtime, owner, extended attributes).</summary>
    MetadataChanged,
}

/// <summary>One changed path: <see cref="Old"/> is null for an addition, <see cref="New"/> for a removal.</summary>
public sealed record DiffEntry(DiffKind Kind, string Path, TreeNode? Old, TreeNode? New)
{
    public static char Symbol(DiffKind k) => k switch
    {
        DiffKind.Added => '+',
        DiffKind.Removed => '-',
        DiffKind.Modified => 'M',
        DiffKind.TypeChanged => 'T',
        _ => 'U',
    };

    /// <summary>The metadata fields that differ ("mode", "mtime", "owner", "xattrs"); empty for additions and removals.</summary>
    public IReadOnlyList<string> MetadataChanges => Old is null || New is null ? [] : TreeDiff.MetadataChanges(Old, New);
}

/// <summary>
/// Compares two trees path by path, streaming, in name order. Directories whose lists of tree blobs are equal are
/// skipped without reading them, and files are compared by their lists of data blob IDs, as restic's diff does; both
/// only when the two trees live in the same dedup domain, because blob IDs are keyed per domain. Across domains a
/// file counts as modified when its size or mtime differ, and every directory is read.
/// Memory: one pair of directory listings per level, never the whole tree.
/// </summary>
public static class TreeDiff
{
    /// <summary>Reads one directory of one side: its list of tree blobs, and its path (for a side that is a live file system).</summary>
    public delegate Task<List<TreeNode>> DirectoryLoader(string path, IReadOnlyList<ObjectId> treeIds, CancellationToken ct);

    private sealed class Frame(string path, List<TreeNode> old, List<TreeNode> @new)
    {
        public string Path { get; } = path;
        public List<TreeNode> Old { get; } = old;
        public List<TreeNode> New { get; } = @new;
        public int I;
        public int J;
    }

    public static async IAsyncEnumerable<DiffEntry> CompareAsync(IReadOnlyList<ObjectId> oldRoot, DirectoryLoader loadOld,
        IReadOnlyList<ObjectId> newRoot, DirectoryLoader loadNew, bool sameDomain, [EnumeratorCancellation] CancellationToken ct = default, string rootPath = "")
    {
        if (sameDomain && oldRoot.SequenceEqual(newRoot)) yield break;
        var stack = new Stack<Frame>();
        rootPath = rootPath.TrimEnd('/');
        var rootFs = rootPath.Length == 0 ? "/" : rootPath;
        stack.Push(new Frame(rootPath, await loadOld(rootFs, oldRoot, ct).ConfigureAwait(false), await loadNew(rootFs, newRoot, ct).ConfigureAwait(false)));
        while (stack.Count > 0)
        {
            var f = stack.Peek();
            TreeNode? a = f.I < f.Old.Count ? f.Old[f.I] : null, b = f.J < f.New.Count ? f.New[f.J] : null;
            if (a is null && b is null)
            {
                stack.Pop();
                continue;
            }
            int order = a is null ? 1 : b is null ? -1 : string.CompareOrdinal(a.Name, b.Name);
            if (order < 0) b = null;
            if (order > 0) a = null;
            if (a is not null) f.I++;
            if (b is not null) f.J++;
            var path = f.Path + "/" + (a ?? b)!.Name;
            var (entry, descendOld, descendNew) = Compare(path, a, b, sameDomain);
            if (entry is not null) yield return entry;
            if (descendOld || descendNew)
            {
                if (stack.Count >= Limits.MaxTreeDepth) throw new CorruptObjectException(path, $"directories nest deeper than {Limits.MaxTreeDepth} levels");
                var oldChildren = descendOld ? await loadOld(path, a!.Content, ct).ConfigureAwait(false) : [];
                var newChildren = descendNew ? await loadNew(path, b!.Content, ct).ConfigureAwait(false) : [];
                stack.Push(new Frame(path, oldChildren, newChildren));
            }
        }
    }

    /// <summary>The entry for one name (null when nothing changed) and which sides' children must be read.</summary>
    private static (DiffEntry? Entry, bool DescendOld, bool DescendNew) Compare(string path, TreeNode? a, TreeNode? b, bool sameDomain)
    {
        static bool HasChildren(TreeNode? n) => n is { Type: NodeType.Directory, Content.Count: > 0 };
        if (a is null) return (new DiffEntry(DiffKind.Added, path, null, b), false, HasChildren(b));
        if (b is null) return (new DiffEntry(DiffKind.Removed, path, a, null), HasChildren(a), false);
        if (a.Type != b.Type) return (new DiffEntry(DiffKind.TypeChanged, path, a, b), HasChildren(a), HasChildren(b));
        bool metadata = MetadataChanges(a, b).Count > 0;
        if (a.Type == NodeType.Directory)
        {
            bool same = sameDomain && a.Content.SequenceEqual(b.Content);
            return (metadata ? new DiffEntry(DiffKind.MetadataChanged, path, a, b) : null, !same && HasChildren(a), !same && HasChildren(b));
        }
        bool content = a.Type switch
        {
            NodeType.File => a.Size != b.Size || (sameDomain ? !a.Content.SequenceEqual(b.Content) : a.MTimeNs != b.MTimeNs),
            NodeType.Symlink => a.LinkTarget != b.LinkTarget,
            NodeType.BlockDevice or NodeType.CharDevice => a.Rdev != b.Rdev,
            _ => false,
        };
        var kind = content ? DiffKind.Modified : metadata ? DiffKind.MetadataChanged : (DiffKind?)null;
        return (kind is { } k ? new DiffEntry(k, path, a, b) : null, false, false);
    }

    /// <summary>The metadata fields that differ between two entries of the same name: what restore would set differently.</summary>
    public static IReadOnlyList<string> MetadataChanges(TreeNode a, TreeNode b)
    {
        var changes = new List<string>(2);
        if (a.Mode != b.Mode) changes.Add("mode");
        if (a.MTimeNs != b.MTimeNs) changes.Add("mtime");
        if (a.Uid != b.Uid || a.Gid != b.Gid || a.User != b.User || a.Group != b.Group) changes.Add("owner");
        if (!a.ExtendedAttributes.SequenceEqual(b.ExtendedAttributes)) changes.Add("xattrs");
        return changes;
    }
}

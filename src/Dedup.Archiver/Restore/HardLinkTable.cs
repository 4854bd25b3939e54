using System.Collections.Concurrent;
using Dedup.Format;

namespace Dedup.Archiver.Restore;

/// <summary>
/// Hard links within one restore. The first restored entry of each (device, inode) whose link count is above 1 is
/// written as a file; later entries of the same file become links to it, made after every file is written (so the
/// first one is complete and renamed into place). "First" means first among what is restored, so a link whose other
/// name lies outside the restored subset simply comes back as a file. Entries whose size or content differ (the file
/// changed between reading its names) are restored separately. Memory: one entry per multiply-linked file restored.
/// </summary>
internal sealed class HardLinkTable
{
    /// <summary>A later name of a file, to link to <see cref="First"/>.</summary>
    public sealed record Link(string Path, string SnapPath, string First, TreeNode Node);

    private readonly Dictionary<(ulong Device, ulong Inode), (string Path, TreeNode Node)> _first = [];
    private readonly List<Link> _links = [];
    private readonly ConcurrentDictionary<string, byte> _written = new(StringComparer.Ordinal);

    /// <summary>Links to make once all files are written, in walk order.</summary>
    public IReadOnlyList<Link> Links => _links;

    /// <summary>True when the entry is a later name of a file met before: it is recorded here and must not be written. Walker thread only.</summary>
    public bool IsLaterName(string fsPath, string snapPath, TreeNode node)
    {
        if (node.Type != NodeType.File || node.Links < 2) return false;
        var key = (node.Device, node.Inode);
        if (!_first.TryGetValue(key, out var first))
        {
            _first[key] = (fsPath, node);
            return false;
        }
        if (first.Node.Size != node.Size || !first.Node.Content.SequenceEqual(node.Content)) return false;
        _links.Add(new Link(fsPath, snapPath, first.Path, node));
        return true;
    }

    /// <summary>Records that the first name of a file now holds its restored content (written now, or by an earlier run).</summary>
    public void Written(string fsPath, TreeNode node)
    {
        if (node.Links >= 2) _written.TryAdd(fsPath, 0);
    }

    /// <summary>
    /// The name to link a later name to: the first name when it holds the restored content, else the later name that
    /// was written in its place (<see cref="Replace"/>), else null: a first name left alone (it existed) or failed is no
    /// link target, so the later name is written as a file.
    /// </summary>
    public string? TargetFor(string first)
    {
        if (_written.ContainsKey(first)) return first;
        return _replacements.TryGetValue(first, out var other) && _written.ContainsKey(other) ? other : null;
    }

    /// <summary>Records that <paramref name="path"/> was written as a file in place of the unusable first name <paramref name="first"/>.</summary>
    public void Replace(string first, string path) => _replacements.TryAdd(first, path);

    private readonly Dictionary<string, string> _replacements = new(StringComparer.Ordinal);
}

using System.Globalization;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository.Snapshots;

namespace Dedup.Mount;

internal abstract class LayoutNode(long mtimeNs)
{
    public long MTimeNs => mtimeNs;
}

internal sealed class LayoutDirectory(long mtimeNs) : LayoutNode(mtimeNs)
{
    public SortedDictionary<string, LayoutNode> Children { get; } = new(StringComparer.Ordinal);
}

internal sealed class LayoutLink(long mtimeNs, string target) : LayoutNode(mtimeNs)
{
    public string Target => target;
}

/// <summary>The directory that shows one snapshot's root tree.</summary>
internal sealed class LayoutSnapshot(long mtimeNs, LoadedSnapshot snapshot) : LayoutNode(mtimeNs)
{
    public LoadedSnapshot Snapshot => snapshot;
    public IReadOnlyList<ObjectId> RootTree { get; } = SnapshotWalker.RootTree(snapshot.Info);
}

/// <summary>
/// The directories above the snapshots, after restic's mount layout:
/// <code>
/// latest -> snapshots/2024-05-06T07:08:09Z
/// snapshots/2024-05-06T07:08:09Z/...       every snapshot by time, and snapshots/latest
/// hosts/web1/2024-05-06T07:08:09Z/...      by host, each with its own latest
/// tags/nightly/2024-05-06T07:08:09Z/...    by tag, each with its own latest
/// ids/1a2b3c4d/...                         by short ID (the full ID where two share a prefix)
/// </code>
/// Times are local (the TZ of the mount process) as ISO 8601 with offset, "Z" for UTC; snapshots of the same second get
/// "-1", "-2" after the time, in ID order. The layout is built once, from the snapshots present at mount time.
/// </summary>
internal sealed class SnapshotLayout
{
    private SnapshotLayout(LayoutDirectory root, IReadOnlyList<LoadedSnapshot> snapshots)
    {
        Root = root;
        Snapshots = snapshots;
    }

    public LayoutDirectory Root { get; }

    /// <summary>The snapshots shown, oldest first.</summary>
    public IReadOnlyList<LoadedSnapshot> Snapshots { get; }

    public static SnapshotLayout Build(IEnumerable<LoadedSnapshot> snapshots, TimeZoneInfo zone)
    {
        var shown = snapshots.Where(SnapshotVisibility.MayShow)
            .OrderBy(SnapshotVisibility.TimeOf).ThenBy(s => s.Id).ToList();
        long newest = shown.Count > 0 ? Nanoseconds(SnapshotVisibility.TimeOf(shown[^1])) : 0;
        var root = new LayoutDirectory(newest);

        var all = ByTime(shown, zone);
        root.Children["snapshots"] = all;
        if (all.Children.TryGetValue("latest", out var latest)) root.Children["latest"] = new LayoutLink(newest, "snapshots/" + ((LayoutLink)latest).Target);
        root.Children["hosts"] = Grouped(shown, s => [s.Info.Host], newest, zone);
        root.Children["tags"] = Grouped(shown, s => s.Info.Tags, newest, zone);

        var ids = new LayoutDirectory(newest);
        var shortCounts = shown.GroupBy(s => s.Id.ToShortString()).ToDictionary(g => g.Key, g => g.Count());
        foreach (var s in shown)
        {
            var name = shortCounts[s.Id.ToShortString()] == 1 ? s.Id.ToShortString() : s.Id.ToString();
            ids.Children[name] = new LayoutSnapshot(Nanoseconds(SnapshotVisibility.TimeOf(s)), s);
        }
        root.Children["ids"] = ids;
        return new SnapshotLayout(root, shown);
    }

    /// <summary>One directory per key (host, tag), each listing its snapshots by time.</summary>
    private static LayoutDirectory Grouped(List<LoadedSnapshot> shown, Func<LoadedSnapshot, IEnumerable<string>> keys, long mtime, TimeZoneInfo zone)
    {
        var dir = new LayoutDirectory(mtime);
        var groups = shown.SelectMany(s => keys(s).Select(SafeName).Distinct().Select(k => (Key: k, Snapshot: s))).GroupBy(x => x.Key, StringComparer.Ordinal);
        foreach (var g in groups) dir.Children[g.Key] = ByTime(g.Select(x => x.Snapshot).ToList(), zone);
        return dir;
    }

    /// <summary>Snapshots (oldest first) named by time, and "latest" linking to the newest.</summary>
    private static LayoutDirectory ByTime(List<LoadedSnapshot> snapshots, TimeZoneInfo zone)
    {
        var dir = new LayoutDirectory(snapshots.Count > 0 ? Nanoseconds(SnapshotVisibility.TimeOf(snapshots[^1])) : 0);
        string? last = null;
        foreach (var s in snapshots)
        {
            var time = SnapshotVisibility.TimeOf(s);
            var name = TimeName(time, zone);
            for (int n = 1; dir.Children.ContainsKey(name); n++) name = TimeName(time, zone) + "-" + n.ToString(CultureInfo.InvariantCulture);
            dir.Children[name] = new LayoutSnapshot(Nanoseconds(time), s);
            last = name;
        }
        if (last is not null) dir.Children["latest"] = new LayoutLink(dir.MTimeNs, last);
        return dir;
    }

    public static string TimeName(DateTimeOffset time, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(time, zone);
        return local.ToString(local.Offset == TimeSpan.Zero ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    /// <summary>Host names and tags become directory names: '/' and NUL turn into '_', and ".", ".." or "" get a leading '_'.</summary>
    public static string SafeName(string name)
    {
        if (TreeCodec.IsSafeName(name)) return name;
        var replaced = name.Replace('/', '_').Replace('\0', '_');
        return replaced is "" or "." or ".." ? "_" + replaced : replaced;
    }

    public static long Nanoseconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>The layout node a path names, and for paths inside a snapshot, the components below its root.</summary>
    public (LayoutNode? Node, string[] Inside) Resolve(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        LayoutNode node = Root;
        for (int i = 0; i < parts.Length; i++)
        {
            switch (node)
            {
                case LayoutSnapshot:
                    return (node, parts[i..]);
                case LayoutDirectory d when d.Children.TryGetValue(parts[i], out var child):
                    node = child;
                    break;
                default:
                    return (null, []);
            }
        }
        return (node, []);
    }
}

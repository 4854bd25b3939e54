using System.Text;
using Dedup.Archiver.Trees;
using Dedup.Format;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Trees;

/// <summary>
/// The tree-diff walker against a model: content-addressed in-memory trees (equal subtrees get equal IDs, as in a
/// repository), the second tree a random mutation of the first.
/// </summary>
public sealed class TreeDiffTests
{
    /// <summary>An in-memory repository of directories, each stored under the hash of its listing.</summary>
    private sealed class Trees
    {
        public Dictionary<ObjectId, List<TreeNode>> Stored { get; } = [];
        public int Loads { get; set; }

        public ObjectId Store(List<TreeNode> nodes)
        {
            var text = string.Join("\n", nodes.Select(n => $"{n.Name}|{n.Type}|{n.Mode}|{n.MTimeNs}|{n.LinkTarget}|{string.Join(",", n.Content)}"));
            var id = ObjectId.HashOf(Encoding.UTF8.GetBytes(text));
            Stored[id] = nodes;
            return id;
        }

        public Task<List<TreeNode>> LoadAsync(string path, IReadOnlyList<ObjectId> ids, CancellationToken ct)
        {
            Loads++;
            return Task.FromResult(ids.SelectMany(id => Stored[id]).ToList());
        }
    }

    /// <summary>A model tree: path ("/a/b") to the entry there, in a sorted map, so parents come before children.</summary>
    private sealed record Entry(NodeType Type, int Content, uint Mode, string Target = "");

    private static readonly string[] Names = ["a", "b", "c", "d e", "ü"];

    private static SortedDictionary<string, Entry> RandomTree(Random rng)
    {
        var tree = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        void Fill(string dir, int depth)
        {
            foreach (var name in Names)
            {
                if (rng.Next(3) == 0) continue;
                var path = dir + "/" + name;
                int kind = depth < 3 ? rng.Next(3) : rng.Next(2);
                tree[path] = kind switch
                {
                    0 => new Entry(NodeType.File, rng.Next(3), 0x1a4),
                    1 => new Entry(NodeType.Symlink, 0, 0x1ff, "t" + rng.Next(2)),
                    _ => new Entry(NodeType.Directory, 0, 0x1ed),
                };
                if (kind == 2) Fill(path, depth + 1);
            }
        }
        Fill("", 0);
        return tree;
    }

    /// <summary>A few random changes: content, mode, type, removal (with everything below), addition.</summary>
    private static SortedDictionary<string, Entry> Mutate(SortedDictionary<string, Entry> a, Random rng, int changes)
    {
        var b = new SortedDictionary<string, Entry>(a, StringComparer.Ordinal);
        for (int i = 0; i < changes && b.Count > 0; i++)
        {
            var path = b.Keys.ElementAt(rng.Next(b.Count));
            var e = b[path];
            switch (rng.Next(5))
            {
                case 0 when e.Type == NodeType.File:
                    b[path] = e with { Content = e.Content + 1 };
                    break;
                case 1:
                    b[path] = e with { Mode = e.Mode ^ 0x40 };
                    break;
                case 2:
                    foreach (var below in b.Keys.Where(k => k.StartsWith(path + "/", StringComparison.Ordinal)).ToList()) b.Remove(below);
                    b[path] = e.Type == NodeType.Directory ? new Entry(NodeType.File, 7, 0x1a4) : new Entry(NodeType.Directory, 0, 0x1ed);
                    break;
                case 3:
                    foreach (var gone in b.Keys.Where(k => k == path || k.StartsWith(path + "/", StringComparison.Ordinal)).ToList()) b.Remove(gone);
                    break;
                default:
                    var parent = e.Type == NodeType.Directory ? path : path[..path.LastIndexOf('/')];
                    b[parent + "/new" + i] = new Entry(NodeType.File, 9, 0x1a4);
                    break;
            }
        }
        return b;
    }

    /// <summary>Stores the model tree and returns its root's ID.</summary>
    private static ObjectId Store(Trees trees, SortedDictionary<string, Entry> model)
    {
        ObjectId StoreDir(string dir)
        {
            var nodes = new List<TreeNode>();
            foreach (var (path, e) in model.Where(kv => kv.Key.LastIndexOf('/') == dir.Length && kv.Key.StartsWith(dir + "/", StringComparison.Ordinal)))
            {
                var name = path[(dir.Length + 1)..];
                IReadOnlyList<ObjectId> content = e.Type switch
                {
                    NodeType.File => [ObjectId.HashOf(BitConverter.GetBytes(e.Content))],
                    NodeType.Directory => [StoreDir(path)],
                    _ => [],
                };
                nodes.Add(new TreeNode { Name = name, Type = e.Type, Mode = e.Mode, LinkTarget = e.Target, Content = content, Size = e.Content });
            }
            nodes.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name));
            return trees.Store(nodes);
        }
        return StoreDir("");
    }

    private static async Task<List<DiffEntry>> DiffAsync(Trees trees, ObjectId a, ObjectId b)
    {
        var result = new List<DiffEntry>();
        await foreach (var e in TreeDiff.CompareAsync([a], trees.LoadAsync, [b], trees.LoadAsync, sameDomain: true)) result.Add(e);
        return result;
    }

    private static Gen<(int Seed, int Changes)> Cases => from seed in Gen.Choose(0, int.MaxValue - 1) from changes in Gen.Choose(0, 6) select (seed, changes);

    [Property(MaxTest = 300)]
    public Property Diff_applied_to_the_old_paths_gives_the_new_paths_and_types() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var rng = new Random(c.Seed);
            var a = RandomTree(rng);
            var b = Mutate(a, rng, c.Changes);
            var trees = new Trees();
            var diff = DiffAsync(trees, Store(trees, a), Store(trees, b)).GetAwaiter().GetResult();

            var applied = a.ToDictionary(kv => kv.Key, kv => kv.Value.Type);
            foreach (var e in diff)
            {
                switch (e.Kind)
                {
                    case DiffKind.Added:
                        Assert.True(applied.TryAdd(e.Path, e.New!.Type), $"added twice: {e.Path}");
                        break;
                    case DiffKind.Removed:
                        Assert.True(applied.Remove(e.Path), $"removed what was not there: {e.Path}");
                        break;
                    case DiffKind.TypeChanged:
                        Assert.Equal(e.Old!.Type, applied[e.Path]);
                        Assert.NotEqual(e.Old.Type, e.New!.Type);
                        applied[e.Path] = e.New.Type;
                        break;
                    default:
                        Assert.Equal(a[e.Path], b[e.Path] with { Content = a[e.Path].Content, Mode = a[e.Path].Mode, Target = a[e.Path].Target });
                        Assert.NotEqual(a[e.Path], b[e.Path]);
                        break;
                }
            }
            Assert.Equal(b.ToDictionary(kv => kv.Key, kv => kv.Value.Type).OrderBy(kv => kv.Key, StringComparer.Ordinal),
                applied.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            // Every path whose entry differs is named exactly once, and no other path is.
            var differing = a.Keys.Union(b.Keys).Where(p => !a.TryGetValue(p, out var x) || !b.TryGetValue(p, out var y) || x != y).ToHashSet();
            Assert.Equal(differing.Order(StringComparer.Ordinal), diff.Select(e => e.Path).Order(StringComparer.Ordinal));
            // Output order is the walk's: parents before children, siblings in name order.
            Assert.Equal(diff.Select(e => e.Path), diff.Select(e => e.Path).OrderBy(p => p.Replace('/', '\0'), StringComparer.Ordinal));
        });

    [Property(MaxTest = 100)]
    public Property A_tree_compared_with_itself_reads_nothing_and_an_unchanged_subtree_is_never_read() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var rng = new Random(c.Seed);
            var a = RandomTree(rng);
            var trees = new Trees();
            var root = Store(trees, a);
            Assert.Empty(DiffAsync(trees, root, root).GetAwaiter().GetResult());
            Assert.Equal(0, trees.Loads);

            // One changed file deep down: only the directories on its path are read, on both sides.
            var file = a.Keys.Where(k => a[k].Type == NodeType.File).OrderByDescending(k => k.Count(ch => ch == '/')).FirstOrDefault();
            if (file is null) return;
            var b = new SortedDictionary<string, Entry>(a, StringComparer.Ordinal) { [file] = a[file] with { Content = a[file].Content + 1 } };
            var changed = DiffAsync(trees, root, Store(trees, b)).GetAwaiter().GetResult();
            Assert.Equal([(DiffKind.Modified, file)], changed.Select(e => (e.Kind, e.Path)));
            Assert.Equal(2 * file.Count(ch => ch == '/'), trees.Loads);
        });

    [Fact]
    public void Across_domains_files_are_compared_by_size_and_mtime_and_every_directory_is_read()
    {
        var trees = new Trees();
        TreeNode File(string name, int blob, long mtime) => new() { Name = name, Type = NodeType.File, Size = 5, MTimeNs = mtime, Content = [ObjectId.HashOf([(byte)blob])] };
        var a = trees.Store([File("same", 1, 10), File("touched", 2, 10)]);
        // The other domain's IDs differ for the same content; only size and mtime can tell.
        var b = trees.Store([File("same", 3, 10), File("touched", 4, 20)]);
        var result = new List<DiffEntry>();
        foreach (var e in TreeDiff.CompareAsync([a], trees.LoadAsync, [b], trees.LoadAsync, sameDomain: false).ToBlockingEnumerable()) result.Add(e);
        var only = Assert.Single(result);
        Assert.Equal((DiffKind.Modified, "/touched"), (only.Kind, only.Path));
        Assert.Equal(2, trees.Loads);
    }
}

using Dedup.TestKit;

namespace Dedup.Reliability.Infra;

/// <summary>
/// A folder of files whose contents come from seeds (half random, half log-like text, as DataGen.Mixed makes): a few
/// large files, some of a megabyte, many small ones and an empty one, in nested folders, with a symlink. Mutate
/// rewrites whole files with fresh seeds, so what changed is new data the next backup must store.
/// </summary>
public sealed class DataSet
{
    private readonly Random _rng;
    private readonly Dictionary<string, int> _sizes = new(StringComparer.Ordinal);
    private int _next;

    public DataSet(string root, int seed, long totalBytes)
    {
        Root = root;
        _rng = new Random(seed);
        Directory.CreateDirectory(root);
        string[] dirs = ["", "docs", "docs/archive", "db", "media/raw"];
        foreach (var d in dirs) Directory.CreateDirectory(Path.Combine(root, d));
        long large = totalBytes * 4 / 10, medium = totalBytes * 4 / 10, small = totalBytes - large - medium;
        for (long b = 0; b < large; b += 4 << 20) Write(Path.Combine("media/raw", $"large-{_next}.bin"), (int)Math.Min(4 << 20, large - b));
        for (long b = 0; b < medium; b += 1 << 20) Write(Path.Combine(dirs[_rng.Next(dirs.Length)], $"medium-{_next}.dat"), (int)Math.Min(1 << 20, medium - b));
        for (long b = 0; b < small;)
        {
            int n = _rng.Next(1, 96 * 1024);
            Write(Path.Combine(dirs[_rng.Next(dirs.Length)], $"small {_next}.txt"), n);
            b += n;
        }
        Write("docs/empty", 0);
        File.CreateSymbolicLink(Path.Combine(root, "docs", "link to empty"), "empty");
    }

    /// <summary>Top folders, for restores of part of a snapshot.</summary>
    public static readonly string[] Folders = ["docs", "db", "media"];

    public string Root { get; }
    public long TotalBytes => _sizes.Values.Sum(s => (long)s);
    public IReadOnlyCollection<string> Files => _sizes.Keys;

    /// <summary>Rewrites random files with new contents until about <paramref name="fraction"/> of the bytes changed,
    /// and sometimes adds or removes a small file. Returns the bytes of new content.</summary>
    public long Mutate(double fraction)
    {
        long target = (long)(TotalBytes * fraction), changed = 0;
        var names = _sizes.Keys.Order(StringComparer.Ordinal).ToList();
        while (changed < target)
        {
            var name = names[_rng.Next(names.Count)];
            if (_sizes[name] == 0) continue;
            Write(name, _sizes[name]);
            changed += _sizes[name];
        }
        if (_rng.Next(3) == 0)
        {
            int n = _rng.Next(1, 64 * 1024);
            Write($"docs/new {_next}.txt", n);
            changed += n;
        }
        if (_rng.Next(4) == 0)
        {
            var victim = names.Where(n => n.Contains("small", StringComparison.Ordinal)).OrderBy(_ => _rng.Next()).FirstOrDefault();
            if (victim is not null)
            {
                File.Delete(Path.Combine(Root, victim));
                _sizes.Remove(victim);
            }
        }
        return changed;
    }

    /// <summary>Names, kinds, contents and link targets of everything under the root (see DataGen.Digest).</summary>
    public List<string> Digest() => DataGen.Digest(Root);

    private void Write(string rel, int size)
    {
        var bytes = DataGen.Mixed(_rng.Next(), size);
        File.WriteAllBytes(Path.Combine(Root, rel), bytes);
        _sizes[rel] = size;
        _next++;
    }
}

using BenchmarkDotNet.Attributes;
using Dedup.Format;

namespace Dedup.Benchmarks;

/// <summary>TreeCodec.Encode/Decode of one directory of N entries (small files with one content ID each, like the "src" set).</summary>
[MemoryDiagnoser]
public class TreeCodecBenchmarks
{
    private List<TreeNode> _nodes = [];
    private byte[] _encoded = [];

    [Params(100, 10_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(21);
        var ids = TestData.RandomIds(Entries, 22);
        _nodes = Enumerable.Range(0, Entries).Select(i => new TreeNode
        {
            Name = $"file_{i:D6}_{rng.Next():x8}.h",
            Type = NodeType.File,
            Mode = 0x1A4,
            Uid = 1000,
            Gid = 1000,
            User = "builder",
            Group = "builder",
            MTimeNs = 1_700_000_000_000_000_000 + rng.NextInt64(1_000_000_000_000_000),
            CTimeNs = 1_700_000_000_000_000_000 + rng.NextInt64(1_000_000_000_000_000),
            Size = rng.Next(100, 64_000),
            Inode = (ulong)rng.Next(),
            Device = 2049,
            Content = [ids[i]],
        }).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        _encoded = TreeCodec.Encode(_nodes);
        Console.WriteLine($"// {Entries} entries: {_encoded.Length} bytes ({_encoded.Length / (double)Entries:F1} B/entry)");
    }

    [Benchmark(Baseline = true)]
    public int Encode() => TreeCodec.Encode(_nodes).Length;

    [Benchmark]
    public int Decode() => TreeCodec.Decode(_encoded, "bench").Count;
}

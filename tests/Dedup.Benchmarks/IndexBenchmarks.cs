using BenchmarkDotNet.Attributes;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;

namespace Dedup.Benchmarks;

/// <summary>
/// The in-memory index and index files at 100k and 1M blobs: building the table (AddPack), lookups of present and
/// absent IDs (TryGet, Contains — Contains on a new ID is the per-chunk dedup test), and IndexFile.Seal/Open.
/// Lookups run 100k per operation: ns/lookup = mean / 100k.
/// </summary>
[MemoryDiagnoser]
public class IndexBenchmarks
{
    private const int Lookups = 100_000;
    private const int BlobsPerPack = 64;
    private List<IndexPack> _packs = [];
    private ObjectId[] _present = [];
    private ObjectId[] _absent = [];
    private IndexTable _table = null!;
    private RepositoryKeys _keys = null!;
    private byte[] _sealedIndex = [];

    [Params(100_000, 1_000_000)]
    public int Blobs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _keys = TestData.Keys();
        var ids = TestData.RandomIds(Blobs, 11);
        _packs = TestData.Packs(ids, BlobsPerPack, 12);
        _table = new IndexTable();
        foreach (var p in _packs) _table.AddPack(p, Dedup.Format.DomainId.Repository);
        var rng = new Random(13);
        _present = Enumerable.Range(0, Lookups).Select(_ => ids[rng.Next(ids.Length)]).ToArray();
        _absent = TestData.RandomIds(Lookups, 14);
        _sealedIndex = IndexFile.Seal(_packs, _keys.Own, _keys);
        Console.WriteLine($"// {Blobs} blobs: index file {_sealedIndex.Length} bytes, table ~{_table.ApproximateBytes / (double)Blobs:F1} B/blob");
    }

    [GlobalCleanup]
    public void Cleanup() => _keys.Dispose();

    [Benchmark]
    public int BuildTable()
    {
        var t = new IndexTable();
        foreach (var p in _packs) t.AddPack(p, Dedup.Format.DomainId.Repository);
        return t.Count;
    }

    [Benchmark]
    public int TryGetPresent()
    {
        int found = 0;
        foreach (var id in _present)
            if (_table.TryGet(id, Dedup.Format.DomainId.Repository, out _)) found++;
        return found;
    }

    [Benchmark]
    public int ContainsAbsent()
    {
        int found = 0;
        foreach (var id in _absent)
            if (_table.Contains(id, Dedup.Format.DomainId.Repository)) found++;
        return found;
    }

    [Benchmark]
    public int ContainsPresent()
    {
        int found = 0;
        foreach (var id in _present)
            if (_table.Contains(id, Dedup.Format.DomainId.Repository)) found++;
        return found;
    }

    [Benchmark]
    public int IndexFileSeal() => IndexFile.Seal(_packs, _keys.Own, _keys).Length;

    [Benchmark]
    public int IndexFileOpen()
    {
        int n = 0;
        IndexFile.Open(_sealedIndex, _keys.Own, Dedup.Repository.Trust.SignerTrust.Repository, "bench", p => n += p.Blobs.Length);
        return n;
    }

    /// <summary>What loading does at startup: open the file and fill a fresh table.</summary>
    [Benchmark]
    public int IndexFileOpenIntoTable()
    {
        var t = new IndexTable();
        IndexFile.Open(_sealedIndex, _keys.Own, Dedup.Repository.Trust.SignerTrust.Repository, "bench", p => t.AddPack(p, Dedup.Format.DomainId.Repository));
        return t.Count;
    }
}

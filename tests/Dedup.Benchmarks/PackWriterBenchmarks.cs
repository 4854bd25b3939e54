using BenchmarkDotNet.Attributes;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Packs;

namespace Dedup.Benchmarks;

/// <summary>
/// A whole 16 MiB pack: PackWriter.Add of 16 × 1 MiB blobs + Finish (header seal, key wrap, SHA-256 pack name).
/// The mix is the "big" set's: 8 random, 6 logs, 2 text. MiB/s = 16 / mean seconds.
/// </summary>
[MemoryDiagnoser]
public class PackWriterBenchmarks
{
    private const int BlobSize = 1 << 20;
    private byte[][] _blobs = [];
    private ObjectId[] _ids = [];
    private RepositoryKeys _keys = null!;

    [Params(16 << 20)]
    public int PackSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _keys = TestData.Keys();
        int n = PackSize / BlobSize;
        _blobs = new byte[n][];
        _ids = new ObjectId[n];
        for (int i = 0; i < n; i++)
        {
            var kind = (i * 8 / n) switch { < 4 => DataKind.Random, < 7 => DataKind.Logs, _ => DataKind.Text };
            _blobs[i] = TestData.Generate(kind, BlobSize, 100 + i);
            _ids[i] = _keys.Own.BlobId(_blobs[i]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _keys.Dispose();

    [Benchmark]
    public long AddAndFinish()
    {
        using var writer = new PackWriter(BlobType.Data, _keys.Own.Id, _keys.ReadPublicKey, PackSize);
        for (int i = 0; i < _blobs.Length; i++) writer.Add(_ids[i], _blobs[i]);
        using var pack = writer.Finish();
        return pack.Bytes.Length;
    }
}

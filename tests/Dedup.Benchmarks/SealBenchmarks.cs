using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;
using Dedup.Repository.Packs;
using K4os.Compression.LZ4;

namespace Dedup.Benchmarks;

/// <summary>
/// The per-blob write and read steps on 1 MiB blobs: BlobSealer.Seal (LZ4 level 0 + AES-256-GCM) and BlobSealer.Open
/// (AES-GCM + LZ4 decode + blob-ID HMAC check), plus the stages alone. MiB/s = 1 / mean seconds.
/// </summary>
[MemoryDiagnoser]
public class SealBenchmarks
{
    private const int BlobSize = 1 << 20;
    private byte[] _plain = [];
    private byte[] _sealed = [];
    private byte[] _scratch = [];
    private byte[] _output = [];
    private int _sealedLength;
    private ObjectId _id;
    private RepositoryKeys _keys = null!;
    private SecretBytes _dataKey = null!;
    private AesGcm _gcm = null!;

    [Params(DataKind.Random, DataKind.Text, DataKind.Logs)]
    public DataKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _plain = TestData.Generate(Kind, BlobSize, 3);
        _keys = TestData.Keys();
        _dataKey = SecretBytes.Random(Aead.KeySize);
        _gcm = new AesGcm(_dataKey.Span, Aead.TagSize);
        _id = _keys.Own.BlobId(_plain);
        _sealed = new byte[BlobSealer.MaxSealedSize(BlobSize)];
        _scratch = new byte[BlobSealer.MaxSealedSize(BlobSize)];
        _output = new byte[BlobSize];
        _sealedLength = BlobSealer.Seal(_gcm, BlobType.Data, _id, 4096, _plain, _sealed);
        Console.WriteLine($"// {Kind}: 1 MiB seals to {_sealedLength} bytes ({100.0 * _sealedLength / BlobSize:F1}%)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gcm.Dispose();
        _dataKey.Dispose();
        _keys.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int Seal() => BlobSealer.Seal(_gcm, BlobType.Data, _id, 4096, _plain, _scratch);

    [Benchmark]
    public void Open() =>
        BlobSealer.Open(_dataKey.Span, BlobType.Data, _id, 4096, _sealed.AsSpan(0, _sealedLength), BlobSize, _output, _keys.Own, "bench");

    /// <summary>The encoder Seal uses (ours; see Lz4BlockCompressor's remarks).</summary>
    [Benchmark]
    public int Lz4CompressOnly() => Lz4BlockCompressor.Compress(_plain, _scratch);

    /// <summary>K4os' encoder at the same level, for comparison: same output size, slower under the CLI's JIT settings.</summary>
    [Benchmark]
    public int Lz4CompressK4os() => LZ4Codec.Encode(_plain, _scratch, LZ4Level.L00_FAST);

    [Benchmark]
    public void AesGcmEncryptOnly() =>
        _gcm.Encrypt(stackalloc byte[Aead.NonceSize], _plain, _scratch.AsSpan(0, BlobSize), _scratch.AsSpan(BlobSize, Aead.TagSize));
}

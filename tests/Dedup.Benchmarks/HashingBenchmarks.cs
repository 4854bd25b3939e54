using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Benchmarks;

/// <summary>
/// Blob hashing: RepositoryKeys.BlobId (HMAC-SHA256 under the blob-ID key) per chunk size, against plain SHA-256.
/// 16 MiB per operation; MiB/s = 16 / mean seconds.
/// </summary>
[MemoryDiagnoser]
public class HashingBenchmarks
{
    private const int Total = 16 << 20;
    private byte[] _data = [];
    private RepositoryKeys _keys = null!;

    [Params(64 * 1024, 1024 * 1024)]
    public int ChunkSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = TestData.Generate(DataKind.Random, Total, 1);
        _keys = TestData.Keys();
    }

    [GlobalCleanup]
    public void Cleanup() => _keys.Dispose();

    [Benchmark(Baseline = true)]
    public ulong BlobIdHmac()
    {
        ulong x = 0;
        for (int o = 0; o < Total; o += ChunkSize) x ^= _keys.Own.BlobId(_data.AsSpan(o, ChunkSize)).Prefix64;
        return x;
    }

    [Benchmark]
    public ulong Sha256()
    {
        ulong x = 0;
        for (int o = 0; o < Total; o += ChunkSize) x ^= ObjectId.HashOf(_data.AsSpan(o, ChunkSize)).Prefix64;
        return x;
    }

    [Benchmark]
    public ulong HmacSha256Raw()
    {
        Span<byte> mac = stackalloc byte[32];
        var key = _keys.Own.BlobIdKey.Span;
        ulong x = 0;
        for (int o = 0; o < Total; o += ChunkSize)
        {
            HMACSHA256.HashData(key, _data.AsSpan(o, ChunkSize), mac);
            x ^= mac[0];
        }
        return x;
    }
}

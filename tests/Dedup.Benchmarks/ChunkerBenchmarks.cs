using BenchmarkDotNet.Attributes;
using Dedup.Chunking;

namespace Dedup.Benchmarks;

/// <summary>
/// Chunker throughput on 64 MiB of random data, the case the notes' 2.1-3.5 GB/s FastCDC figure
/// refers to; divide 64 MiB by the mean time for MiB/s.
/// Run: dotnet run -c Release --project tests/Dedup.Benchmarks -- --filter *ChunkerBenchmarks*
/// </summary>
[MemoryDiagnoser]
public class ChunkerBenchmarks
{
    private const int DataLength = 64 << 20;
    private byte[] _data = [];
    private Chunker _chunker = null!;

    [Params(512 * 1024, 1024 * 1024, 2 * 1024 * 1024)]
    public int AverageSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[DataLength];
        new Random(42).NextBytes(_data);
        var secret = new byte[32];
        new Random(1).NextBytes(secret);
        _chunker = new Chunker(new ChunkerParameters(AverageSize / 4, AverageSize, AverageSize * 4), secret);
    }

    [Benchmark(Baseline = true)]
    public int NextBoundary()
    {
        int position = 0;
        int chunks = 0;
        while (position < _data.Length)
        {
            position += _chunker.NextBoundary(_data.AsSpan(position), isFinal: true);
            chunks++;
        }

        return chunks;
    }

    [Benchmark]
    public int StreamChunkerSync()
    {
        using var chunker = new StreamChunker(new MemoryStream(_data, writable: false), _chunker);
        int chunks = 0;
        while (chunker.MoveNext())
        {
            chunks++;
        }

        return chunks;
    }

    [Benchmark]
    public async Task<int> StreamChunkerAsync()
    {
        using var chunker = new StreamChunker(new MemoryStream(_data, writable: false), _chunker);
        int chunks = 0;
        while (await chunker.MoveNextAsync())
        {
            chunks++;
        }

        return chunks;
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using Dedup.Chunking;
using Xunit;

namespace Dedup.Tests.Chunking;

public class ChunkerTests
{
    private readonly Chunker _chunker = new(ChunkingTestData.Small, ChunkingTestData.Secret(1));

    [Fact]
    public void EmptyInputHasNoChunk()
    {
        Assert.Equal(0, _chunker.NextBoundary([], isFinal: true));
        Assert.Equal(0, _chunker.NextBoundary([], isFinal: false));
    }

    [Fact]
    public void AsksForMoreDataBelowMaxSizeUnlessFinal()
    {
        var data = ChunkingTestData.RandomBytes(2, 1023);
        Assert.Equal(0, _chunker.NextBoundary(data, isFinal: false));
        int final = _chunker.NextBoundary(data, isFinal: true);
        Assert.InRange(final, 65, 1023);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    public void FinalInputUpToMinSizeIsOneChunk(int length) =>
        Assert.Equal(length, _chunker.NextBoundary(new byte[length], isFinal: true));

    [Fact]
    public void ResultWithFullWindowDoesNotDependOnFinalOrTail()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var data = ChunkingTestData.RandomBytes(seed, 3000);
            int expected = _chunker.NextBoundary(data, isFinal: false);
            Assert.InRange(expected, 65, 1024);
            Assert.Equal(expected, _chunker.NextBoundary(data, isFinal: true));
            Assert.Equal(expected, _chunker.NextBoundary(data.AsSpan(0, 1024), isFinal: false));
        }
    }

    [Fact]
    public void ConstantInputIsCutAtMaxSizeOrMinSize()
    {
        // A run of one byte value drives the hash to a constant, so every chunk has the same length.
        var lengths = ChunkingTestData.Lengths(_chunker, new byte[10_000]);
        Assert.True(lengths.Take(lengths.Count - 1).Distinct().Count() == 1, string.Join(",", lengths));
    }

    [Fact]
    public void GearTableIsHmacOfLabelAndIndex()
    {
        var secret = ChunkingTestData.Secret(7);
        var chunker = new Chunker(ChunkingTestData.Small, secret);
        foreach (int i in new[] { 0, 1, 200, 255 })
        {
            byte[] message = [.. "dedup.gear.v1"u8, (byte)i];
            ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(HMACSHA256.HashData(secret, message));
            Assert.Equal(expected, chunker.Gear[i]);
        }
    }

    [Theory]
    [InlineData(64, 256, 1024, 0xFFC0000000000000UL, 0xFC00000000000000UL)]
    [InlineData(262144, 1048576, 4194304, 0xFFFFFC0000000000UL, 0xFFFFC00000000000UL)]
    public void MasksAreTopBits(int min, int avg, int max, ulong hard, ulong easy)
    {
        var chunker = new Chunker(new ChunkerParameters(min, avg, max), new byte[32]);
        Assert.Equal(hard, chunker.MaskHard);
        Assert.Equal(easy, chunker.MaskEasy);
    }

    [Fact]
    public void MeanChunkSizeIsNearAverage()
    {
        // Normalized chunking with min = avg/4 gives a mean of about 1.1-1.2 x avg.
        var lengths = ChunkingTestData.Lengths(_chunker, ChunkingTestData.RandomBytes(3, 1 << 20));
        double mean = lengths.Average();
        Assert.InRange(mean, 256 * 0.95, 256 * 1.4);
    }
}

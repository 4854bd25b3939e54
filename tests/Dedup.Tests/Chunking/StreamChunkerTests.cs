using Dedup.Chunking;
using Xunit;

namespace Dedup.Tests.Chunking;

public class StreamChunkerTests
{
    private static readonly Chunker Medium = new(new ChunkerParameters(4096, 16384, 65536), ChunkingTestData.Secret(5));

    [Fact]
    public void EmptyStreamHasNoChunks()
    {
        using var chunker = new StreamChunker(new MemoryStream(), Medium);
        Assert.False(chunker.MoveNext());
        Assert.Equal(0, chunker.BytesRead);
        Assert.True(chunker.Current.IsEmpty);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(65536)]
    [InlineData(65537)]
    [InlineData(1_000_003)]
    public async Task MatchesNextBoundaryForWholeAndShortReads(int length)
    {
        var data = ChunkingTestData.RandomBytes(length, length);
        var expected = ChunkingTestData.Lengths(Medium, data);

        using (var whole = new StreamChunker(new MemoryStream(data), Medium))
        {
            Assert.Equal(expected, Collect(whole, () => whole.MoveNext()));
        }

        using var shortReads = new StreamChunker(new ShortReadStream(data, 1, 5000), Medium);
        Assert.Equal(expected, Collect(shortReads, () => shortReads.MoveNextAsync().AsTask().GetAwaiter().GetResult()));
        Assert.Equal(length, shortReads.BytesRead);
        Assert.False(await shortReads.MoveNextAsync());
    }

    [Fact]
    public void BytesReadIsOffsetPastCurrent()
    {
        var data = ChunkingTestData.RandomBytes(9, 300_000);
        using var chunker = new StreamChunker(new MemoryStream(data), Medium);
        long offset = 0;
        while (chunker.MoveNext())
        {
            Assert.True(chunker.Current.Span.SequenceEqual(data.AsSpan((int)offset, chunker.Current.Length)));
            offset += chunker.Current.Length;
            Assert.Equal(offset, chunker.BytesRead);
        }

        Assert.Equal(data.Length, offset);
    }

    [Fact]
    public async Task HonoursCancellation()
    {
        using var chunker = new StreamChunker(new ShortReadStream(new byte[100_000], 1, 100), Medium);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => chunker.MoveNextAsync(cts.Token).AsTask());
    }

    [Fact]
    public void DisposeIsIdempotentAndUseAfterDisposeThrows()
    {
        var chunker = new StreamChunker(new MemoryStream(new byte[10]), Medium);
        chunker.Dispose();
        chunker.Dispose();
        Assert.Throws<ObjectDisposedException>(() => chunker.MoveNext());
        Assert.True(chunker.Current.IsEmpty);
    }

    [Fact]
    public void RejectsNullArguments()
    {
        Assert.Throws<ArgumentNullException>(() => new StreamChunker(null!, Medium));
        Assert.Throws<ArgumentNullException>(() => new StreamChunker(new MemoryStream(), null!));
    }

    private static List<int> Collect(StreamChunker chunker, Func<bool> moveNext)
    {
        var lengths = new List<int>();
        while (moveNext())
        {
            lengths.Add(chunker.Current.Length);
        }

        return lengths;
    }
}

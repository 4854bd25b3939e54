using Dedup.Chunking;

namespace Dedup.Tests.Chunking;

/// <summary>Shared helpers: small parameters keep property tests fast (~290-byte chunks).</summary>
internal static class ChunkingTestData
{
    public static readonly ChunkerParameters Small = new(64, 256, 1024);

    public static byte[] Secret(int seed)
    {
        var secret = new byte[32];
        new Random(seed).NextBytes(secret);
        return secret;
    }

    public static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Chunk lengths of the whole array via <see cref="Chunker.NextBoundary"/>.</summary>
    public static List<int> Lengths(Chunker chunker, ReadOnlySpan<byte> data)
    {
        var lengths = new List<int>();
        int position = 0;
        while (position < data.Length)
        {
            int length = chunker.NextBoundary(data[position..], isFinal: true);
            if (length <= 0 || length > data.Length - position)
            {
                throw new InvalidOperationException($"bad boundary {length} at {position}");
            }

            lengths.Add(length);
            position += length;
        }

        return lengths;
    }

    /// <summary>Chunks as hex strings (content identity) for dedup comparisons.</summary>
    public static List<string> Contents(Chunker chunker, byte[] data)
    {
        var chunks = new List<string>();
        int position = 0;
        foreach (int length in Lengths(chunker, data))
        {
            chunks.Add(Convert.ToHexString(data, position, length));
            position += length;
        }

        return chunks;
    }
}

/// <summary>
/// A read-only stream that returns random short counts (1..maxRead bytes), as pipes and
/// network streams do, to check that StreamChunker's boundaries do not depend on read sizes.
/// </summary>
internal sealed class ShortReadStream(byte[] data, int seed, int maxRead) : Stream
{
    private readonly Random _random = new(seed);
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, data.Length - _position), _random.Next(1, maxRead + 1));
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

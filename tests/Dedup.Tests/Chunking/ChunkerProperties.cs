using Dedup.Chunking;
using FsCheck;
using FsCheck.Xunit;

namespace Dedup.Tests.Chunking;

/// <summary>
/// Properties over random inputs. Data is generated from an FsCheck-chosen seed and length rather
/// than as an FsCheck byte array, so inputs span many chunks while generation stays cheap.
/// </summary>
public class ChunkerProperties
{
    private static readonly Chunker SmallChunker = new(ChunkingTestData.Small, ChunkingTestData.Secret(11));

    [Property(MaxTest = 200)]
    public bool ChunksConcatenateToInput(int seed, NonNegativeInt length)
    {
        var data = ChunkingTestData.RandomBytes(seed, length.Get % 20_000);
        var joined = new List<byte>(data.Length);
        foreach (string hex in ChunkingTestData.Contents(SmallChunker, data))
        {
            joined.AddRange(Convert.FromHexString(hex));
        }

        return joined.SequenceEqual(data);
    }

    [Property(MaxTest = 200)]
    public bool ChunksExceptLastAreWithinBounds(int seed, NonNegativeInt length)
    {
        var p = SmallChunker.Parameters;
        var lengths = ChunkingTestData.Lengths(SmallChunker, ChunkingTestData.RandomBytes(seed, length.Get % 20_000));
        return lengths.Take(lengths.Count - 1).All(n => n >= p.MinSize && n <= p.MaxSize)
            && lengths.TakeLast(1).All(n => n >= 1 && n <= p.MaxSize);
    }

    [Property(MaxTest = 100)]
    public bool StreamChunkerMatchesNextBoundary(int seed, NonNegativeInt length, PositiveInt maxRead, bool useAsync)
    {
        var data = ChunkingTestData.RandomBytes(seed, length.Get % 20_000);
        var expected = ChunkingTestData.Lengths(SmallChunker, data);
        using var stream = new ShortReadStream(data, seed, 1 + (maxRead.Get % 3000));
        using var chunker = new StreamChunker(stream, SmallChunker);
        var actual = new List<int>();
        var joined = new List<byte>();
        while (useAsync ? chunker.MoveNextAsync().AsTask().GetAwaiter().GetResult() : chunker.MoveNext())
        {
            actual.Add(chunker.Current.Length);
            joined.AddRange(chunker.Current.ToArray());
        }

        return actual.SequenceEqual(expected) && joined.SequenceEqual(data) && chunker.BytesRead == data.Length;
    }

    [Property(MaxTest = 100)]
    public bool BoundariesResynchroniseAfterAnEdit(int seed, NonNegativeInt position, NonNegativeInt size, bool insert)
    {
        // 64 KiB of ~290-byte chunks; a 1..64 byte insert or delete should only disturb the chunks
        // around it: the hash window is 64 bytes, so cut points further on are found again.
        var data = ChunkingTestData.RandomBytes(seed, 64 * 1024);
        int at = position.Get % data.Length;
        int n = 1 + (size.Get % 64);
        var edited = insert
            ? [.. data.AsSpan(0, at), .. ChunkingTestData.RandomBytes(~seed, n), .. data.AsSpan(at)]
            : data.Take(at).Concat(data.Skip(at + n)).ToArray();
        var original = ChunkingTestData.Contents(SmallChunker, data).ToHashSet();
        var after = ChunkingTestData.Contents(SmallChunker, edited);
        int newBytes = after.Where(c => !original.Contains(c)).Sum(c => c.Length / 2);
        return newBytes <= 8 * SmallChunker.Parameters.MaxSize;
    }

    [Property(MaxTest = 50)]
    public bool DifferentSecretsGiveDifferentBoundaries(int seedA, int seedB, int dataSeed)
    {
        var secretA = ChunkingTestData.Secret(seedA);
        var secretB = ChunkingTestData.Secret(seedB);
        if (secretA.AsSpan().SequenceEqual(secretB))
        {
            return true;
        }

        var data = ChunkingTestData.RandomBytes(dataSeed, 16 * 1024);
        var a = ChunkingTestData.Lengths(new Chunker(ChunkingTestData.Small, secretA), data);
        var b = ChunkingTestData.Lengths(new Chunker(ChunkingTestData.Small, secretB), data);
        return !a.SequenceEqual(b);
    }
}

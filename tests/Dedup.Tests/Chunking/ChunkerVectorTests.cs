using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Dedup.Chunking;
using Xunit;

namespace Dedup.Tests.Chunking;

/// <summary>
/// Checks the implementation against spec/test-vectors/chunker.json, which was produced by an
/// independent implementation of spec/chunking.md; boundaries are part of the repository format.
/// </summary>
public class ChunkerVectorTests
{
    public static TheoryData<string> VectorNames()
    {
        var names = new TheoryData<string>();
        foreach (var v in LoadVectors())
        {
            names.Add(v.GetProperty("name").GetString()!);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(VectorNames))]
    public void MatchesVector(string name)
    {
        var v = LoadVectors().Single(x => x.GetProperty("name").GetString() == name);
        var parameters = new ChunkerParameters(
            v.GetProperty("minSize").GetInt32(), v.GetProperty("averageSize").GetInt32(), v.GetProperty("maxSize").GetInt32());
        var chunker = new Chunker(parameters, Convert.FromHexString(v.GetProperty("secretHex").GetString()!));

        var prefix = new byte[32];
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(prefix.AsSpan(i * 8), chunker.Gear[i]);
        }

        Assert.Equal(v.GetProperty("gearPrefixSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(prefix)));
        Assert.Equal(v.GetProperty("maskHardHex").GetString(), chunker.MaskHard.ToString("x16"));
        Assert.Equal(v.GetProperty("maskEasyHex").GetString(), chunker.MaskEasy.ToString("x16"));

        var input = v.GetProperty("input");
        var data = Generate(input.GetProperty("generator").GetString()!, input.GetProperty("length").GetInt32());
        Assert.Equal(input.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(data)));

        var expected = v.GetProperty("chunkLengths").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(expected, ChunkingTestData.Lengths(chunker, data));
        using var stream = new StreamChunker(new MemoryStream(data), chunker);
        var streamed = new List<int>();
        while (stream.MoveNext())
        {
            streamed.Add(stream.Current.Length);
        }

        Assert.Equal(expected, streamed);
    }

    /// <summary>Input generators named in spec/chunking.md, "Test vectors".</summary>
    private static byte[] Generate(string generator, int length)
    {
        var data = new byte[length];
        if (generator == "zeros")
        {
            return data;
        }

        Assert.Equal("sha256-counter", generator);
        Span<byte> counter = stackalloc byte[8];
        Span<byte> block = stackalloc byte[32];
        for (int offset = 0, i = 0; offset < length; offset += 32, i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(counter, (ulong)i);
            SHA256.HashData(counter, block);
            block[..Math.Min(32, length - offset)].CopyTo(data.AsSpan(offset));
        }

        return data;
    }

    private static List<JsonElement> LoadVectors()
    {
        string path = Path.Combine(FindRepoRoot(), "spec", "test-vectors", "chunker.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.GetProperty("vectors").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>Walks up to Dedup.sln from the test binaries, falling back to this source file.</summary>
    private static string FindRepoRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (string? start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dedup.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Dedup.sln not found above " + AppContext.BaseDirectory);
    }
}

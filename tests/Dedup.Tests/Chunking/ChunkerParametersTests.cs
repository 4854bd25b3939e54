using Dedup.Chunking;
using Xunit;

namespace Dedup.Tests.Chunking;

public class ChunkerParametersTests
{
    [Fact]
    public void DefaultIsValidAndAsDocumented()
    {
        var p = ChunkerParameters.Default;
        p.Validate();
        Assert.Equal(new ChunkerParameters(256 * 1024, 1024 * 1024, 4 * 1024 * 1024), p);
    }

    [Theory]
    [InlineData(64, 128, 129)]
    [InlineData(64, 256, 1024)]
    [InlineData(1024 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024)]
    public void AcceptsValid(int min, int avg, int max) => new ChunkerParameters(min, avg, max).Validate();

    [Theory]
    [InlineData(63, 256, 1024, "MinSize")]
    [InlineData(0, 0, 0, "MinSize")]
    [InlineData(64, 300, 1024, "power of two")]
    [InlineData(256, 256, 1024, "greater than MinSize")]
    [InlineData(512, 256, 1024, "greater than MinSize")]
    [InlineData(64, 256, 256, "greater than AverageSize")]
    [InlineData(1024, 32 * 1024 * 1024, 64 * 1024 * 1024 + 1, "at most")]
    [InlineData(64, -256, 1024, "power of two")]
    public void RejectsInvalid(int min, int avg, int max, string messagePart)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ChunkerParameters(min, avg, max).Validate());
        Assert.Contains(messagePart, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChunkerValidatesParametersAndSecret()
    {
        Assert.Throws<ArgumentException>(() => new Chunker(default, new byte[32]));
        var ex = Assert.Throws<ArgumentException>(() => new Chunker(ChunkingTestData.Small, new byte[31]));
        Assert.Contains("32 bytes", ex.Message, StringComparison.Ordinal);
    }
}

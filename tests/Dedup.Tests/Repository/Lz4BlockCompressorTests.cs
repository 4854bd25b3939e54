using Dedup.Repository.Packs;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using K4os.Compression.LZ4;
using Xunit;

namespace Dedup.Tests.Repository;

/// <summary>
/// Our LZ4 block encoder against an independent decoder (K4os, the one readers use): whatever it writes must decode
/// to the input, fit the stated bound, and compress as well as the reference encoder at the same level.
/// </summary>
public sealed class Lz4BlockCompressorTests
{
    public static class Inputs
    {
        /// <summary>Bytes from a small alphabet (long matches, overlapping copies, runs) or uniform (no matches), of any length up to 3 KB.</summary>
        public static Arbitrary<byte[]> Bytes() =>
            Gen.Choose(1, 256).SelectMany(alphabet => Gen.Choose(0, 3000).SelectMany(length =>
                Gen.ArrayOf(Gen.Choose(0, alphabet - 1).Select(b => (byte)b), length)))
            .ToArbitrary();
    }

    private static byte[] RoundTrip(byte[] input)
    {
        var packed = new byte[Lz4BlockCompressor.MaxOutputSize(input.Length)];
        int n = Lz4BlockCompressor.Compress(input, packed);
        Assert.InRange(n, 1, input.Length + input.Length / 255 + 16);
        // K4os refuses to decode into an empty target, so the empty block is checked byte for byte: one zero token.
        if (input.Length == 0) return n == 1 && packed[0] == 0 ? [] : [0xFF];
        var back = new byte[input.Length];
        int m = LZ4Codec.Decode(packed.AsSpan(0, n), back);
        Assert.Equal(input.Length, m);
        return back;
    }

    [Property(Arbitrary = [typeof(Inputs)], MaxTest = 500)]
    public void Output_decodes_to_the_input(byte[] input) => Assert.Equal(input, RoundTrip(input));

    [Fact]
    public void Every_length_around_the_block_end_rules_round_trips()
    {
        // Lengths 0..100 cross the 12-byte match-find limit and the 5 trailing literals, with all-equal and patterned data.
        for (int length = 0; length <= 100; length++)
        {
            Assert.Equal(new byte[length], RoundTrip(new byte[length]));
            var pattern = Enumerable.Range(0, length).Select(i => (byte)(i % 7)).ToArray();
            Assert.Equal(pattern, RoundTrip(pattern));
        }
    }

    [Theory]
    [InlineData(0, 1 << 20)]
    [InlineData(1, 1 << 20)]
    [InlineData(2, 4 << 20)]
    public void Large_blobs_round_trip_and_compress_like_the_reference_encoder(int kind, int length)
    {
        var input = kind switch
        {
            0 => DataGen.CompressibleText(11, length),
            1 => DataGen.Mixed(12, length),
            _ => DataGen.RandomBytes(13, length),
        };
        Assert.Equal(input, RoundTrip(input));
        var ours = new byte[Lz4BlockCompressor.MaxOutputSize(length)];
        var reference = new byte[LZ4Codec.MaximumOutputSize(length)];
        int n = Lz4BlockCompressor.Compress(input, ours);
        int r = LZ4Codec.Encode(input, reference, LZ4Level.L00_FAST);
        // Same algorithm and parameters as LZ4's fast mode: the sizes may differ only by a rounding of the search.
        Assert.InRange(n, r - r / 100 - 16, r + r / 100 + 16);
    }

    [Fact]
    public void A_destination_below_the_bound_is_refused_before_anything_is_written()
    {
        var input = DataGen.RandomBytes(5, 1000);
        var small = new byte[Lz4BlockCompressor.MaxOutputSize(1000) - 1];
        Assert.Throws<ArgumentException>(() => Lz4BlockCompressor.Compress(input, small));
        Assert.All(small, b => Assert.Equal(0, b));
    }
}

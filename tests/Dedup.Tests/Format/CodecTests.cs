using Dedup.Format;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Format;

public sealed class CodecTests
{
    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 200)]
    public bool Tree_encode_decode_round_trips(List<TreeNode> nodes)
    {
        var decoded = TreeCodec.Decode(TreeCodec.Encode(nodes), "t");
        return decoded.Count == nodes.Count && decoded.Zip(nodes).All(p => Same(p.First, p.Second));
    }

    private static bool Same(TreeNode a, TreeNode b) => a with { Content = [] } == b with { Content = [] } && a.Content.SequenceEqual(b.Content);

    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 100)]
    public bool Index_codec_round_trips(IndexPack[] packs)
    {
        using var w = new PooledBufferWriter();
        IndexCodec.Write(w, packs);
        var read = new List<IndexPack>();
        IndexCodec.Read(w.WrittenSpan, "i", read.Add);
        return read.Count == packs.Length && read.Zip(packs).All(p =>
            p.First.PackId == p.Second.PackId && p.First.Type == p.Second.Type &&
            p.First.WrappedKey.SequenceEqual(p.Second.WrappedKey) && p.First.Blobs.SequenceEqual(p.Second.Blobs));
    }

    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 100)]
    public bool Pack_header_round_trips(PackHeaderEntry[] entries, bool tree, Guid domainBytes)
    {
        using var w = new PooledBufferWriter();
        var type = tree ? BlobType.Tree : BlobType.Data;
        var domain = new DomainId(domainBytes.ToByteArray());
        PackHeaderCodec.Write(w, type, domain, entries);
        var (readType, readDomain, read) = PackHeaderCodec.Read(w.WrittenSpan, entries.Sum(e => (long)e.StoredLength), "h");
        return readType == type && readDomain == domain && read.SequenceEqual(entries);
    }

    [Fact]
    public void Pack_header_rejects_a_wrong_data_length()
    {
        using var w = new PooledBufferWriter();
        PackHeaderCodec.Write(w, BlobType.Data, DomainId.Repository, [new PackHeaderEntry(ObjectId.Empty, 20, 10)]);
        Assert.Throws<CorruptObjectException>(() => PackHeaderCodec.Read(w.WrittenSpan, 21, "h"));
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(1ul)]
    [InlineData(127ul)]
    [InlineData(128ul)]
    [InlineData(16383ul)]
    [InlineData(16384ul)]
    [InlineData((ulong)uint.MaxValue)]
    [InlineData((ulong)long.MaxValue)]
    [InlineData(ulong.MaxValue)]
    public void Varint_round_trips_at_the_edges(ulong v)
    {
        using var w = new PooledBufferWriter();
        w.WriteVarUInt(v);
        Assert.True(w.WrittenCount <= 10);
        var r = new SpanReader(w.WrittenSpan, "v");
        Assert.Equal(v, r.ReadVarUInt());
        Assert.True(r.AtEnd);
    }

    [Property(MaxTest = 200)]
    public bool Zigzag_varint_round_trips(long v)
    {
        using var w = new PooledBufferWriter();
        w.WriteVarInt64(v);
        var r = new SpanReader(w.WrittenSpan, "v");
        return r.ReadVarInt64() == v;
    }

    [Fact]
    public void Varint_rejects_overflow_and_overlong_encodings()
    {
        byte[] overflow = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02];
        byte[] tooLong = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        byte[] truncated = [0x80];
        foreach (var bad in new[] { overflow, tooLong, truncated })
            Assert.Throws<CorruptObjectException>(() => new SpanReader(bad, "v").ReadVarUInt());
    }

    [Fact]
    public void SpanReader_refuses_reads_past_the_end_and_huge_lengths()
    {
        Assert.Throws<CorruptObjectException>(() => new SpanReader([1, 2, 3], "s").ReadBytes(4));
        Assert.Throws<CorruptObjectException>(() => new SpanReader([1, 2, 3], "s").ReadBytes(-1));
        Assert.Throws<CorruptObjectException>(() => new SpanReader([1, 2, 3], "s").ReadInt64());
        // A length prefix of 2^60 must be refused by its limit, not allocated.
        byte[] hugeLength = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
        Assert.Throws<CorruptObjectException>(() => new SpanReader(hugeLength, "s").ReadString(100, "name"));
        var ex = Assert.Throws<CorruptObjectException>(() => new SpanReader([0xFF], "index/abc").ExpectEnd());
        Assert.Equal("index/abc", ex.ObjectName);
    }

    [Fact]
    public void SpanReader_rejects_invalid_utf8()
    {
        byte[] bad = [2, 0xC3, 0x28];
        Assert.Throws<CorruptObjectException>(() => new SpanReader(bad, "s").ReadString(10, "name"));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("/abs")]
    [InlineData("")]
    [InlineData("nul\0byte")]
    public void Unsafe_tree_names_are_rejected(string name)
    {
        Assert.False(TreeCodec.IsSafeName(name));
        var bytes = TreeCodec.Encode([new TreeNode { Name = name, Type = NodeType.File }]);
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(bytes, "t"));
    }

    [Fact]
    public void Tree_entries_out_of_order_or_duplicated_are_rejected()
    {
        var b = new TreeNode { Name = "b", Type = NodeType.File };
        var a = b with { Name = "a" };
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(TreeCodec.Encode([b, a]), "t"));
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(TreeCodec.Encode([a, a]), "t"));
    }

    [Fact]
    public void Tree_with_content_on_a_symlink_is_rejected()
    {
        var bytes = TreeCodec.Encode([new TreeNode { Name = "l", Type = NodeType.Symlink, Content = [ObjectId.Empty] }]);
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(bytes, "t"));
    }

    [Property(Arbitrary = [typeof(DedupArbitraries)], MaxTest = 50)]
    public void Truncated_trees_are_always_rejected_cleanly(List<TreeNode> nodes)
    {
        var bytes = TreeCodec.Encode(nodes);
        for (int n = 0; n < bytes.Length; n += Math.Max(1, bytes.Length / 16))
            Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(bytes.AsSpan(0, n), "t"));
    }
}

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

    private static bool Same(TreeNode a, TreeNode b) =>
        a with { Content = [], ExtendedAttributes = [] } == b with { Content = [], ExtendedAttributes = [] }
        && a.Content.SequenceEqual(b.Content) && a.ExtendedAttributes.SequenceEqual(b.ExtendedAttributes);

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

    private static TreeNode WithXattrs(IEnumerable<ExtendedAttribute> xattrs) =>
        new() { Name = "f", Type = NodeType.File, Links = 1, ExtendedAttributes = xattrs.ToArray() };

    [Fact]
    public void Extended_attributes_at_the_reader_limits_decode_and_one_past_them_is_rejected()
    {
        // 16384 attributes with four-byte names, and one value of 64 KiB: the most a reader accepts.
        var names = Enumerable.Range(0, Limits.MaxXattrCount).Select(i => $"u.{i:x4}").ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        var atCount = WithXattrs(names.Select(n => new ExtendedAttribute(n, [])));
        Assert.Equal(Limits.MaxXattrCount, TreeCodec.Decode(TreeCodec.Encode([atCount]), "t")[0].ExtendedAttributes.Count);
        var overCount = WithXattrs(names.Append("u.ffff0").Select(n => new ExtendedAttribute(n, [])));
        Assert.Contains("exceeds the limit 16384", Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(TreeCodec.Encode([overCount]), "t")).Message);

        var atSize = WithXattrs([new ExtendedAttribute("user.big", new byte[Limits.MaxXattrValueBytes])]);
        Assert.Equal(Limits.MaxXattrValueBytes, TreeCodec.Decode(TreeCodec.Encode([atSize]), "t")[0].ExtendedAttributes[0].Value.Length);
        var overSize = WithXattrs([new ExtendedAttribute("user.big", new byte[Limits.MaxXattrValueBytes + 1])]);
        Assert.Contains("extended attribute value length 65537 exceeds", Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(TreeCodec.Encode([overSize]), "t")).Message);

        var longName = WithXattrs([new ExtendedAttribute("user." + new string('n', Limits.MaxXattrNameBytes - 5), [1])]);
        Assert.Single(TreeCodec.Decode(TreeCodec.Encode([longName]), "t")[0].ExtendedAttributes);
        var overName = WithXattrs([new ExtendedAttribute("user." + new string('n', Limits.MaxXattrNameBytes - 4), [1])]);
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode(TreeCodec.Encode([overName]), "t"));
    }

    [Fact]
    public void Version_1_trees_still_decode_without_links_or_attributes()
    {
        var node = new TreeNode { Name = "a", Type = NodeType.File, Size = 1, Content = [ObjectId.Empty], Links = 3, ExtendedAttributes = [new("user.x", [1])] };
        var v2 = TreeCodec.Encode([node]);
        Assert.Equal(TreeCodec.Version, v2[0]);
        // A version-1 blob is the version-2 one without the two trailing fields (link count 3, one attribute).
        int v2Tail = 1 + 1 + (1 + 6) + (1 + 1);
        byte[] v1 = [TreeCodec.Version1, .. v2[1..^v2Tail]];
        var decoded = Assert.Single(TreeCodec.Decode(v1, "t"));
        Assert.Equal(0u, decoded.Links);
        Assert.Empty(decoded.ExtendedAttributes);
        Assert.Equal(node.Content, decoded.Content);
        // The same bytes labelled version 2 lack the new fields: truncated.
        Assert.Throws<CorruptObjectException>(() => TreeCodec.Decode([TreeCodec.Version, .. v1[1..]], "t"));
    }
}

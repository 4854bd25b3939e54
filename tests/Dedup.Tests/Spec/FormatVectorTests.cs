using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Format;
using Dedup.Repository.Keys;
using Xunit;
using static Dedup.Tests.Spec.SpecCrypto;

namespace Dedup.Tests.Spec;

/// <summary>
/// The plaintext encodings of spec/repository-format.md (format version 2) against spec/test-vectors/: blob IDs,
/// varints and strings, tree blobs, pack headers and index plaintexts. Each test checks that the code produces exactly the committed
/// bytes, decodes them to exactly the committed values, and rejects the committed malformed inputs.
/// Regenerate with DEDUP_WRITE_VECTORS=1 (only after a deliberate, versioned format change).
/// </summary>
public class FormatVectorTests
{
    private static readonly (string Name, DomainId Domain)[] BlobIdDomains =
    [
        ("repository", DomainId.Repository),
        ("writer", Fixed.WriterDomain),
    ];

    [Fact]
    public void BlobIds()
    {
        var v = VectorFiles.Load("blob-ids.json", () => new JsonObject
        {
            ["description"] = "Blob ID = HMAC-SHA256(key = the domain's blob-ID key, message = plaintext): the same plaintext has another ID in every dedup domain. The blob-ID keys derive from the master secret as domains.json shows. spec/repository-format.md, \"Blob IDs\".",
            ["domains"] = new JsonArray(BlobIdDomains.Select(d => (JsonNode)new JsonObject
            {
                ["name"] = d.Name,
                ["domainIdHex"] = J.Hex(d.Domain.ToArray()),
                ["blobIdKeyHex"] = J.Hex(DomainKey(d.Domain, "blob-id")),
                ["vectors"] = new JsonArray(new[] { Array.Empty<byte>(), "abc"u8.ToArray(), Fixed.Seq(0, 256) }.Select(p => (JsonNode)new JsonObject
                {
                    ["plaintextHex"] = J.Hex(p),
                    ["id"] = J.Hex(BlobId(d.Domain, p)),
                }).ToArray()),
            }).ToArray()),
        });

        using var keys = Fixed.FullKeys();
        var domains = v.Arr("domains").ToList();
        Assert.Equal(2, domains.Count);
        var seen = new HashSet<string>();
        foreach (var d in domains)
        {
            var domain = keys.For(d.Domain("domainIdHex"));
            Assert.Equal(d.Str("blobIdKeyHex"), J.Hex(domain.BlobIdKey.Span));
            Assert.Equal(3, d.GetProperty("vectors").GetArrayLength());
            foreach (var e in d.Arr("vectors"))
            {
                Assert.Equal(e.Str("id"), domain.BlobId(e.Bytes("plaintextHex")).ToString());
                Assert.True(seen.Add(e.Str("id")), "two domains gave one plaintext the same ID");
            }
        }

        Assert.Equal(DomainId.Repository, domains[0].Domain("domainIdHex"));
        using var writer = Fixed.CertifiedWriter();
        Assert.Equal(domains[1].Str("blobIdKeyHex"), J.Hex(writer.Own.BlobIdKey.Span));
    }

    private static readonly ulong[] UnsignedValues = [0, 1, 127, 128, 255, 300, 16383, 16384, 1UL << 32, (1UL << 63) - 1, 1UL << 63, ulong.MaxValue];
    private static readonly long[] SignedValues = [0, -1, 1, -2, 2, 63, -64, 64, 1_700_000_000_123_456_789, -1_000_000_000, long.MaxValue, long.MinValue];
    private static readonly string[] Strings = ["", "a", "é", "日本語", new('x', 200)];

    [Fact]
    public void Varints()
    {
        var v = VectorFiles.Load("varints.json", () => new JsonObject
        {
            ["description"] = "Unsigned LEB128 varints, zigzag signed varints and length-prefixed UTF-8 strings. spec/repository-format.md, \"Encodings\". Values are decimal strings.",
            ["unsigned"] = new JsonArray(UnsignedValues.Select(x => (JsonNode)new JsonObject { ["value"] = x.ToString(), ["hex"] = J.Hex(Varint(x)) }).ToArray()),
            ["zigzag"] = new JsonArray(SignedValues.Select(x => (JsonNode)new JsonObject
            {
                ["value"] = x.ToString(),
                ["hex"] = J.Hex(Varint((ulong)((x << 1) ^ (x >> 63)))),
            }).ToArray()),
            ["strings"] = new JsonArray(Strings.Select(s => (JsonNode)new JsonObject { ["text"] = s, ["hex"] = J.Hex(Str(s)) }).ToArray()),
            ["invalid"] = new JsonArray(
                new JsonObject { ["hex"] = "8000", ["why"] = "not minimal: 0 written in two bytes" },
                new JsonObject { ["hex"] = "ff00", ["why"] = "not minimal: 127 written in two bytes" },
                new JsonObject { ["hex"] = "", ["why"] = "truncated: no byte" },
                new JsonObject { ["hex"] = "80", ["why"] = "truncated: continuation bit on the last byte" },
                new JsonObject { ["hex"] = "ffffffffffffffffff02", ["why"] = "the 10th byte may only be 0 or 1 (value overflows 64 bits)" },
                new JsonObject { ["hex"] = "80808080808080808080", ["why"] = "the 10th byte has the continuation bit (longer than 10 bytes)" }),
            ["invalidStrings"] = new JsonArray(
                new JsonObject { ["hex"] = "02c328", ["why"] = "not valid UTF-8" },
                new JsonObject { ["hex"] = "0561", ["why"] = "length exceeds the bytes present" }),
        });

        var unsigned = v.Arr("unsigned").ToList();
        Assert.Equal(UnsignedValues.Length, unsigned.Count);
        foreach (var e in unsigned)
        {
            ulong value = ulong.Parse(e.Str("value"));
            using var w = new PooledBufferWriter();
            w.WriteVarUInt(value);
            Assert.Equal(e.Str("hex"), J.Hex(w.WrittenSpan));
            var r = new SpanReader(e.Bytes("hex"), "vector");
            Assert.Equal(value, r.ReadVarUInt());
            Assert.True(r.AtEnd);
        }

        var signed = v.Arr("zigzag").ToList();
        Assert.Equal(SignedValues.Length, signed.Count);
        foreach (var e in signed)
        {
            long value = long.Parse(e.Str("value"));
            using var w = new PooledBufferWriter();
            w.WriteVarInt64(value);
            Assert.Equal(e.Str("hex"), J.Hex(w.WrittenSpan));
            var r = new SpanReader(e.Bytes("hex"), "vector");
            Assert.Equal(value, r.ReadVarInt64());
            Assert.True(r.AtEnd);
        }

        foreach (var e in v.Arr("strings"))
        {
            using var w = new PooledBufferWriter();
            w.WriteString(e.Str("text"));
            Assert.Equal(e.Str("hex"), J.Hex(w.WrittenSpan));
            var r = new SpanReader(e.Bytes("hex"), "vector");
            Assert.Equal(e.Str("text"), r.ReadString(1000, "string"));
            Assert.True(r.AtEnd);
        }

        foreach (var e in v.Arr("invalid"))
        {
            var bytes = e.Bytes("hex");
            Assert.Throws<CorruptObjectException>(() => new SpanReader(bytes, "vector").ReadVarUInt());
        }

        foreach (var e in v.Arr("invalidStrings"))
        {
            var bytes = e.Bytes("hex");
            Assert.Throws<CorruptObjectException>(() => new SpanReader(bytes, "vector").ReadString(1000, "string"));
        }
    }

    internal static JsonObject NodeJson(TreeNode n) => new()
    {
        ["name"] = n.Name,
        ["type"] = (int)n.Type,
        ["typeName"] = n.Type.ToString(),
        ["mode"] = n.Mode,
        ["uid"] = n.Uid,
        ["gid"] = n.Gid,
        ["user"] = n.User,
        ["group"] = n.Group,
        ["mtimeNs"] = n.MTimeNs,
        ["ctimeNs"] = n.CTimeNs,
        ["size"] = n.Size,
        ["inode"] = n.Inode,
        ["device"] = n.Device,
        ["rdev"] = n.Rdev,
        ["linkTarget"] = n.LinkTarget,
        ["content"] = J.HexArray(n.Content),
        ["links"] = n.Links,
        ["xattrs"] = new JsonArray(n.ExtendedAttributes.Select(x => (JsonNode)new JsonObject { ["name"] = x.Name, ["valueHex"] = J.Hex(x.Value) }).ToArray()),
    };

    internal static TreeNode NodeFrom(JsonElement e) => new()
    {
        Name = e.Str("name"),
        Type = (NodeType)e.Int("type"),
        Mode = e.GetProperty("mode").GetUInt32(),
        Uid = e.GetProperty("uid").GetUInt32(),
        Gid = e.GetProperty("gid").GetUInt32(),
        User = e.Str("user"),
        Group = e.Str("group"),
        MTimeNs = e.Long("mtimeNs"),
        CTimeNs = e.Long("ctimeNs"),
        Size = e.Long("size"),
        Inode = e.GetProperty("inode").GetUInt64(),
        Device = e.GetProperty("device").GetUInt64(),
        Rdev = e.GetProperty("rdev").GetUInt64(),
        LinkTarget = e.Str("linkTarget"),
        Content = e.Arr("content").Select(c => ObjectId.Parse(c.GetString()!)).ToArray(),
        Links = e.GetProperty("links").GetUInt32(),
        ExtendedAttributes = e.Arr("xattrs").Select(x => new ExtendedAttribute(x.Str("name"), x.Bytes("valueHex"))).ToArray(),
    };

    /// <summary>A tree blob written field by field from the spec's table; version 1 leaves out the last two fields.</summary>
    private static byte[] SpecTree(IReadOnlyList<TreeNode> nodes, int version = 2)
    {
        var o = new List<byte> { (byte)version };
        o.AddRange(Varint((ulong)nodes.Count));
        foreach (var n in nodes)
        {
            o.AddRange(Str(n.Name));
            o.Add((byte)n.Type);
            o.AddRange(Varint(n.Mode));
            o.AddRange(Varint(n.Uid));
            o.AddRange(Varint(n.Gid));
            o.AddRange(Str(n.User));
            o.AddRange(Str(n.Group));
            o.AddRange(Varint((ulong)((n.MTimeNs << 1) ^ (n.MTimeNs >> 63))));
            o.AddRange(Varint((ulong)((n.CTimeNs << 1) ^ (n.CTimeNs >> 63))));
            o.AddRange(Varint((ulong)n.Size));
            o.AddRange(Varint(n.Inode));
            o.AddRange(Varint(n.Device));
            o.AddRange(Varint(n.Rdev));
            o.AddRange(Str(n.LinkTarget));
            o.AddRange(Varint((ulong)n.Content.Count));
            foreach (var id in n.Content)
            {
                o.AddRange(id.ToArray());
            }

            if (version >= 2)
            {
                o.AddRange(Varint(n.Links));
                o.AddRange(Varint((ulong)n.ExtendedAttributes.Count));
                foreach (var x in n.ExtendedAttributes)
                {
                    o.AddRange(Str(x.Name));
                    o.AddRange(Varint((ulong)x.Value.Length));
                    o.AddRange(x.Value);
                }
            }
        }

        return o.ToArray();
    }

    private static TreeNode File(string name) => new() { Name = name, Type = NodeType.File, Mode = 0x1A4, Size = 1, Content = [Fixed.Id("c")], Links = 1 };

    private static ExtendedAttribute Xattr(string name, string valueHex) => new(name, Convert.FromHexString(valueHex));

    /// <summary>Version 1 entries: everything but hard-link counts and extended attributes.</summary>
    private static List<(string Name, TreeNode[] Nodes)> Version1Cases() =>
    [
        ("directory", [
            new TreeNode { Name = "bin", Type = NodeType.Directory, Mode = 0x1ED, User = "root", Group = "root", MTimeNs = 1_700_000_000_123_456_789, CTimeNs = 1_700_000_000_223_456_789, Inode = 1234, Device = 2049, Content = [Fixed.Id("tree bin")] },
            new TreeNode { Name = "dev-null", Type = NodeType.CharDevice, Mode = 0x1B6, Rdev = 0x103, MTimeNs = 1_600_000_000_000_000_000, CTimeNs = 1_600_000_000_000_000_000, Inode = 5, Device = 5 },
            new TreeNode { Name = "empty", Type = NodeType.File, Mode = 0x180, Uid = 1000, Gid = 1000, User = "ann", Group = "staff", MTimeNs = 1, CTimeNs = 2, Inode = 77, Device = 2049 },
            new TreeNode { Name = "fifo", Type = NodeType.Fifo, Mode = 0x1A4, Uid = 1000, Gid = 1000, User = "ann", Group = "staff", Inode = 78, Device = 2049 },
            new TreeNode { Name = "link", Type = NodeType.Symlink, Mode = 0x1FF, Uid = 1000, Gid = 1000, LinkTarget = "../target/é", Inode = 79, Device = 2049 },
            new TreeNode { Name = "old.txt", Type = NodeType.File, Mode = 0x1A4, MTimeNs = -1_000_000_000, CTimeNs = -1, Size = 5, Inode = 80, Device = 2049, Content = [Fixed.Id("chunk old")] },
            new TreeNode { Name = "é.txt", Type = NodeType.File, Mode = 0x9ED, Uid = 1000, Gid = 1000, User = "ann", Group = "staff", MTimeNs = 1_700_000_001_000_000_000, CTimeNs = 1_700_000_001_000_000_000, Size = 3_000_000, Inode = 81, Device = 2049, Content = [Fixed.Id("chunk 1"), Fixed.Id("chunk 2")] },
        ]),
        ("empty-directory", []),
        ("utf16-order", [File("\U0001F600.txt") with { Links = 0 }, File("\uE000.txt") with { Links = 0 }]),
    ];

    /// <summary>
    /// Version 2: the version-1 cases with link counts, plus hard links, extended attributes (a POSIX ACL as Linux stores
    /// it, a binary value, an empty value, names in UTF-16 order) and the largest link count.
    /// </summary>
    private static List<(string Name, TreeNode[] Nodes)> TreeCases()
    {
        var cases = Version1Cases()
            .Select(c => (c.Name, c.Nodes.Select(n => n.Type == NodeType.Directory ? n : n with { Links = 1 }).ToArray()))
            .ToList();
        // system.posix_acl_access for user::rw-, user:1000:r--, group::r--, mask::r--, other::--- (version 2 of the
        // kernel's ACL xattr format: a 4-byte header, then 8 bytes per entry: tag, permissions, id).
        const string Acl = "02000000" + "01000600ffffffff" + "02000400e8030000" + "04000400ffffffff" + "10000400ffffffff" + "20000000ffffffff";
        cases.Add(("hard-links-and-xattrs", [
            new TreeNode { Name = "a", Type = NodeType.File, Mode = 0x1A4, Size = 3, Inode = 900, Device = 2049, Links = 2, Content = [Fixed.Id("abc")],
                ExtendedAttributes = [Xattr("system.posix_acl_access", Acl), Xattr("user.comment", "68656c6c6f"), Xattr("user.empty", "")] },
            new TreeNode { Name = "b", Type = NodeType.File, Mode = 0x1A4, Size = 3, Inode = 900, Device = 2049, Links = 2, Content = [Fixed.Id("abc")] },
            new TreeNode { Name = "d", Type = NodeType.Directory, Mode = 0x1ED, Inode = 901, Device = 2049, Content = [Fixed.Id("tree d")],
                ExtendedAttributes = [Xattr("system.posix_acl_default", Acl), Xattr("user.\U0001F600", "00ff00"), Xattr("user.\uE000", "01")] },
            new TreeNode { Name = "many", Type = NodeType.File, Mode = 0x1A4, Inode = 902, Device = 2049, Links = uint.MaxValue },
        ]));
        return cases;
    }

    private static List<(string Why, byte[] Bytes)> TreeRejects()
    {
        var good = SpecTree([File("a")]);
        var badType = (byte[])good.Clone();
        badType[4] = 7; // 02 | 01 | 01 'a' | type
        var badUtf8 = SpecTree([File("ab")]);
        badUtf8[4] = 0xC3;
        badUtf8[5] = 0x28;
        TreeNode WithXattrs(params ExtendedAttribute[] x) => File("a") with { ExtendedAttributes = x };
        // The attribute count 0 replaced by one the remaining bytes cannot hold (the limit of 16384 itself is checked
        // by CodecTests: a vector at that size would be most of this file).
        byte[] xattrCountTooLarge = [.. SpecTree([File("a")])[..^1], .. Varint(5)];
        return
        [
            ("entries not in ascending order", SpecTree([File("b"), File("a")])),
            ("duplicate name", SpecTree([File("a"), File("a")])),
            ("name '..'", SpecTree([File("..")])),
            ("name '.'", SpecTree([File(".")])),
            ("name with '/'", SpecTree([File("a/b")])),
            ("empty name", SpecTree([File("")])),
            ("name with NUL", SpecTree([File("a\0b")])),
            ("UTF-8 byte order instead of UTF-16 code unit order", SpecTree([File("\uE000.txt"), File("\U0001F600.txt")])),
            ("symlink with content", SpecTree([new TreeNode { Name = "l", Type = NodeType.Symlink, LinkTarget = "x", Content = [Fixed.Id("c")] }])),
            ("unknown entry type 7", badType),
            ("name is not valid UTF-8", badUtf8),
            ("unknown tree version 3", [3, 0]),
            ("trailing byte", [.. good, 0]),
            ("truncated", good[..^1]),
            ("entry count larger than the blob can hold", [2, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            ("extended attributes not in ascending order", SpecTree([WithXattrs(Xattr("user.b", ""), Xattr("user.a", ""))])),
            ("duplicate extended attribute", SpecTree([WithXattrs(Xattr("user.a", "01"), Xattr("user.a", "02"))])),
            ("empty extended attribute name", SpecTree([WithXattrs(Xattr("", "01"))])),
            ("extended attribute name with NUL", SpecTree([WithXattrs(Xattr("user.a\0b", "01"))])),
            ("extended attribute name of 256 bytes", SpecTree([WithXattrs(Xattr("user." + new string('n', 251), "01"))])),
            ("extended attribute count larger than the blob can hold", xattrCountTooLarge),
            ("link count above 2^32 - 1", SpecTree([File("a")])[..^2].Concat(Varint(1UL << 32)).Concat(Varint(0)).ToArray()),
        ];
    }

    [Fact]
    public void Trees()
    {
        var v = VectorFiles.Load("tree.json", () => new JsonObject
        {
            ["description"] = "Tree blob plaintexts (before compression and sealing). spec/repository-format.md, \"Trees\". type: 0 file, 1 dir, 2 symlink, 3 block device, 4 char device, 5 fifo, 6 socket. 'vectors' are version 2 (what writers write); 'version1' blobs must still decode, with links 0 and no xattrs.",
            ["vectors"] = new JsonArray(TreeCases().Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["nodes"] = new JsonArray(c.Nodes.Select(n => (JsonNode)NodeJson(n)).ToArray()),
                ["hex"] = J.Hex(SpecTree(c.Nodes)),
            }).ToArray()),
            ["version1"] = new JsonArray(Version1Cases().Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["nodes"] = new JsonArray(c.Nodes.Select(n => (JsonNode)NodeJson(n)).ToArray()),
                ["hex"] = J.Hex(SpecTree(c.Nodes, version: 1)),
            }).ToArray()),
            ["rejects"] = new JsonArray(TreeRejects().Select(r => (JsonNode)new JsonObject { ["why"] = r.Why, ["hex"] = J.Hex(r.Bytes) }).ToArray()),
        });

        var vectors = v.Arr("vectors").ToList();
        Assert.Equal(4, vectors.Count);
        foreach (var e in vectors)
        {
            var nodes = e.Arr("nodes").Select(NodeFrom).ToList();
            Assert.Equal(e.Str("hex"), J.Hex(TreeCodec.Encode(nodes)));
            AssertDecodesTo(nodes, e.Bytes("hex"));
        }

        var version1 = v.Arr("version1").ToList();
        Assert.Equal(3, version1.Count);
        foreach (var e in version1)
        {
            var bytes = e.Bytes("hex");
            Assert.Equal(TreeCodec.Version1, bytes[0]);
            AssertDecodesTo(e.Arr("nodes").Select(NodeFrom).ToList(), bytes);
        }

        Assert.Equal(22, v.GetProperty("rejects").GetArrayLength());
        foreach (var e in v.Arr("rejects"))
        {
            var bytes = e.Bytes("hex");
            var ex = Record.Exception(() => TreeCodec.Decode(bytes, "tree vector"));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }

    private static void AssertDecodesTo(List<TreeNode> nodes, byte[] bytes)
    {
        var decoded = TreeCodec.Decode(bytes, "tree vector");
        Assert.Equal(nodes.Count, decoded.Count);
        for (int i = 0; i < nodes.Count; i++)
        {
            Assert.Equal(NodeJson(nodes[i]).ToJsonString(), NodeJson(decoded[i]).ToJsonString());
        }
    }

    private static readonly (ObjectId Id, int Stored, int Raw)[] HeaderEntries =
    [
        (Fixed.Id("blob 0"), 1016, 4000),
        (Fixed.Id("blob 1"), 16, 0),
        (Fixed.Id("blob 2"), 144, 128),
    ];

    private static byte[] SpecHeader(int version, int type, DomainId domain, (ObjectId Id, int Stored, int Raw)[] entries)
    {
        var o = new List<byte> { (byte)version, (byte)type };
        o.AddRange(domain.ToArray());
        o.AddRange(Varint((ulong)entries.Length));
        foreach (var (id, stored, raw) in entries)
        {
            o.AddRange(id.ToArray());
            o.AddRange(Varint((ulong)stored));
            o.AddRange(Varint((ulong)raw));
        }

        return o.ToArray();
    }

    [Fact]
    public void PackHeaders()
    {
        long dataLength = HeaderEntries.Sum(e => (long)e.Stored);
        var domain = Fixed.WriterDomain;
        var good = SpecHeader(2, 1, domain, HeaderEntries);
        var v = VectorFiles.Load("pack-header.json", () => new JsonObject
        {
            ["description"] = "Pack header plaintext: version 2 | blob type | dedup domain (16) | count (varint) | per blob: ID (32), stored length (varint), raw length (varint). dataLength is the number of pack bytes before the sealed header, which the stored lengths must sum to. Offsets are implicit. spec/repository-format.md, \"Packs\".",
            ["type"] = 1,
            ["domainIdHex"] = J.Hex(domain.ToArray()),
            ["dataLength"] = dataLength,
            ["entries"] = new JsonArray(HeaderEntries.Select(e => (JsonNode)new JsonObject { ["id"] = e.Id.ToString(), ["storedLength"] = e.Stored, ["rawLength"] = e.Raw }).ToArray()),
            ["hex"] = J.Hex(good),
            ["rejects"] = new JsonArray(
                new JsonObject { ["why"] = "dataLength does not match the stored lengths", ["dataLength"] = dataLength + 1, ["hex"] = J.Hex(good) },
                new JsonObject { ["why"] = "version 1 (format v1, no domain)", ["dataLength"] = dataLength, ["hex"] = J.Hex([1, .. good[1..2], .. good[18..]]) },
                new JsonObject { ["why"] = "unknown version 3", ["dataLength"] = dataLength, ["hex"] = J.Hex(SpecHeader(3, 1, domain, HeaderEntries)) },
                new JsonObject { ["why"] = "unknown blob type 2", ["dataLength"] = dataLength, ["hex"] = J.Hex(SpecHeader(2, 2, domain, HeaderEntries)) },
                new JsonObject { ["why"] = "truncated inside the domain", ["dataLength"] = 0, ["hex"] = J.Hex(good[..10]) },
                new JsonObject { ["why"] = "stored length 15 is shorter than a GCM tag", ["dataLength"] = 15, ["hex"] = J.Hex(SpecHeader(2, 0, domain, [(Fixed.Id("x"), 15, 0)])) },
                new JsonObject { ["why"] = "stored payload (stored - 16) longer than the raw length", ["dataLength"] = 33, ["hex"] = J.Hex(SpecHeader(2, 0, domain, [(Fixed.Id("x"), 33, 16)])) },
                new JsonObject { ["why"] = "trailing byte", ["dataLength"] = dataLength, ["hex"] = J.Hex([.. good, 0]) }),
        });

        var entries = v.Arr("entries").Select(e => new PackHeaderEntry(ObjectId.Parse(e.Str("id")), e.Int("storedLength"), e.Int("rawLength"))).ToList();
        Assert.Equal(3, entries.Count);
        var type = (BlobType)v.Int("type");
        using (var w = new PooledBufferWriter())
        {
            PackHeaderCodec.Write(w, type, v.Domain("domainIdHex"), entries);
            Assert.Equal(v.Str("hex"), J.Hex(w.WrittenSpan));
        }

        var (readType, readDomain, readEntries) = PackHeaderCodec.Read(v.Bytes("hex"), v.Long("dataLength"), "header vector");
        Assert.Equal(type, readType);
        Assert.Equal(v.Domain("domainIdHex"), readDomain);
        Assert.Equal(entries, readEntries);
        Assert.Equal(8, v.GetProperty("rejects").GetArrayLength());
        foreach (var e in v.Arr("rejects"))
        {
            var bytes = e.Bytes("hex");
            long len = e.Long("dataLength");
            var ex = Record.Exception(() => PackHeaderCodec.Read(bytes, len, "header vector"));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }

    /// <summary>Two packs: data stored by a full key (repacked by prune), and a tree pack a writer claims.</summary>
    internal static IndexPack[] SampleIndexPacks() =>
    [
        new IndexPack(Fixed.Id("pack 0"), BlobType.Data, Fixed.Seq(0x10, 113),
            [new IndexBlob(Fixed.Id("blob 0"), 0, 1016, 4000), new IndexBlob(Fixed.Id("blob 1"), 1016, 16, 0)]) { Origin = PackOrigin.FullKey },
        new IndexPack(Fixed.Id("pack 1"), BlobType.Tree, Fixed.Seq(0x90, 113),
            [new IndexBlob(Fixed.Id("tree 0"), 0, 300, 700)]) { Origin = PackOrigin.Writer },
    ];

    /// <summary>The same packs as a writer may list them: every origin is "writer".</summary>
    internal static IndexPack[] WriterIndexPacks() => SampleIndexPacks().Select(p => p with { Origin = PackOrigin.Writer }).ToArray();

    internal static byte[] SpecIndexPlaintext(IndexPack[] packs, int version = 2)
    {
        var o = new List<byte> { (byte)version };
        o.AddRange(Varint((ulong)packs.Length));
        foreach (var p in packs)
        {
            o.AddRange(p.PackId.ToArray());
            o.Add((byte)p.Type);
            o.Add((byte)p.Origin);
            o.AddRange(p.WrappedKey);
            o.AddRange(Varint((ulong)p.Blobs.Length));
            foreach (var b in p.Blobs)
            {
                o.AddRange(b.Id.ToArray());
                o.AddRange(Varint((ulong)b.Offset));
                o.AddRange(Varint((ulong)b.StoredLength));
                o.AddRange(Varint((ulong)b.RawLength));
            }
        }

        return o.ToArray();
    }

    internal static JsonArray IndexPacksJson(IEnumerable<IndexPack> packs) => new(packs.Select(p => (JsonNode)new JsonObject
    {
        ["packId"] = p.PackId.ToString(),
        ["type"] = (int)p.Type,
        ["origin"] = (int)p.Origin,
        ["originName"] = p.Origin.ToString(),
        ["wrappedKeyHex"] = J.Hex(p.WrappedKey),
        ["blobs"] = new JsonArray(p.Blobs.Select(b => (JsonNode)new JsonObject
        {
            ["id"] = b.Id.ToString(),
            ["offset"] = b.Offset,
            ["storedLength"] = b.StoredLength,
            ["rawLength"] = b.RawLength,
        }).ToArray()),
    }).ToArray());

    internal static List<IndexPack> IndexPacksFrom(JsonElement packs) => packs.EnumerateArray().Select(p => new IndexPack(
        ObjectId.Parse(p.Str("packId")), (BlobType)p.Int("type"), p.Bytes("wrappedKeyHex"),
        p.Arr("blobs").Select(b => new IndexBlob(ObjectId.Parse(b.Str("id")), b.Long("offset"), b.Int("storedLength"), b.Int("rawLength"))).ToArray())
    {
        Origin = (PackOrigin)p.Int("origin"),
    }).ToList();

    internal static void AssertSamePacks(IReadOnlyList<IndexPack> expected, IReadOnlyList<IndexPack> actual)
    {
        Assert.Equal(IndexPacksJson(expected).ToJsonString(), IndexPacksJson(actual).ToJsonString());
    }

    [Fact]
    public void IndexPlaintext()
    {
        var v = VectorFiles.Load("index.json", () =>
        {
            var packs = SampleIndexPacks();
            var plain = SpecIndexPlaintext(packs);
            // Offset of the first pack's origin byte: version, count, pack ID, type.
            const int originAt = 1 + 1 + 32 + 1;
            var badOrigin = (byte[])plain.Clone();
            badOrigin[originAt] = 2;
            var badType = (byte[])plain.Clone();
            badType[originAt - 1] = 2;
            return new JsonObject
            {
                ["description"] = "Index file plaintext (before sealing): version 2 | pack count (varint) | per pack: pack ID (32), blob type (1), origin (1: 0 full key, 1 writer), wrapped data key (113), blob count (varint), per blob: ID (32), offset, stored length, raw length (varints). spec/repository-format.md, \"Index files\". wrappedKeyHex is opaque here (see key-wrap.json).",
                ["packs"] = IndexPacksJson(packs),
                ["hex"] = J.Hex(plain),
                ["rejects"] = J.Rejects(
                [
                    ("version 1 (format v1, no origin byte)", SpecIndexPlaintext(packs, 1)),
                    ("unknown version 3", SpecIndexPlaintext(packs, 3)),
                    ("unknown origin 2", badOrigin),
                    ("unknown blob type 2", badType),
                    ("truncated", plain[..^1]),
                    ("trailing byte", [.. plain, 0]),
                ]),
            };
        });

        var packs = IndexPacksFrom(v.GetProperty("packs"));
        Assert.Equal(2, packs.Count);
        Assert.Equal(new[] { PackOrigin.FullKey, PackOrigin.Writer }, packs.Select(p => p.Origin));
        using (var w = new PooledBufferWriter())
        {
            IndexCodec.Write(w, packs);
            Assert.Equal(v.Str("hex"), J.Hex(w.WrittenSpan));
        }

        var read = new List<IndexPack>();
        IndexCodec.Read(v.Bytes("hex"), "index vector", read.Add);
        AssertSamePacks(packs, read);
        Assert.Equal(6, v.GetProperty("rejects").GetArrayLength());
        foreach (var e in v.Arr("rejects"))
        {
            var bytes = e.Bytes("hex");
            var ex = Record.Exception(() => IndexCodec.Read(bytes, "index vector", _ => { }));
            Assert.True(ex is CorruptObjectException, $"{e.Str("why")}: expected a CorruptObjectException, got {ex?.GetType().Name ?? "none"}");
        }
    }
}

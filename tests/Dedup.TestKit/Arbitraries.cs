using Dedup.Format;
using FsCheck;
using FsCheck.Fluent;

namespace Dedup.TestKit;

/// <summary>
/// FsCheck generators for the format's types. Use with <c>[Property(Arbitrary = [typeof(DedupArbitraries)])]</c>.
/// Generated trees are valid by construction: safe names, strictly ascending, content only on files and directories.
/// </summary>
public static class DedupArbitraries
{
    public static Gen<byte[]> Bytes(int maxLength) =>
        Gen.Choose(0, maxLength).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n));

    public static Gen<Format.ObjectId> IdGen { get; } = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), Format.ObjectId.Size).Select(b => new Format.ObjectId(b));

    public static Arbitrary<Format.ObjectId> ObjectId() => IdGen.ToArbitrary();

    /// <summary>A single path component that <see cref="TreeCodec.IsSafeName"/> accepts (surrogate pairs kept whole).</summary>
    public static Gen<string> SafeName { get; } =
        Gen.Choose(1, 12)
            .SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "z", "Z", "0", "9", " ", ".", "_", "-", "ü", "é", "名", "😀"), n))
            .Select(parts => string.Concat(parts))
            .Where(TreeCodec.IsSafeName);

    private static Gen<string> Text(int maxParts) =>
        Gen.Choose(0, maxParts).SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "ü", "名", "/", " ", "x"), n)).Select(p => string.Concat(p));

    public static Gen<TreeNode> NodeGen(string name) =>
        from type in Gen.Elements(Enum.GetValues<NodeType>())
        from mode in Gen.Choose(0, 0xFFF)
        from uid in Gen.Choose(0, int.MaxValue)
        from gid in Gen.Choose(0, 70000)
        from user in Text(6)
        from grp in Text(6)
        from mtime in Gen.Choose(int.MinValue, int.MaxValue).Select(x => (long)x * 1_000_000_007L)
        from ctime in Gen.Choose(0, int.MaxValue).Select(x => (long)x * 3)
        from size in Gen.Choose(0, int.MaxValue).Select(x => (long)x << (x & 7))
        from inode in Gen.Choose(0, int.MaxValue).Select(x => (ulong)x * 977)
        from dev in Gen.Choose(0, 1 << 20).Select(x => (ulong)x)
        from target in Text(10)
        from contentCount in Gen.Choose(0, 4)
        from content in Gen.ArrayOf(IdGen, contentCount)
        from links in Gen.Choose(0, int.MaxValue).Select(x => (uint)x << (x & 1))
        from xattrs in XattrsGen
        select new TreeNode
        {
            Name = name, Type = type, Mode = (uint)mode, Uid = (uint)uid, Gid = (uint)gid, User = user, Group = grp,
            MTimeNs = mtime, CTimeNs = ctime, Size = size, Inode = inode, Device = dev,
            Rdev = type is NodeType.BlockDevice or NodeType.CharDevice ? dev + 1 : 0,
            LinkTarget = type == NodeType.Symlink ? target : "",
            Content = type is NodeType.File or NodeType.Directory ? content : [],
            Links = type == NodeType.Directory ? 0 : links,
            ExtendedAttributes = xattrs,
        };

    /// <summary>Zero to three extended attributes with distinct names in ordinal order, values of up to 40 bytes.</summary>
    public static Gen<ExtendedAttribute[]> XattrsGen { get; } =
        Gen.ListOf(Gen.Elements("user.a", "user.comment", "user.ü", "system.posix_acl_access", "security.selinux", "trusted.x"))
            .Select(names => names.Distinct().Order(StringComparer.Ordinal).Take(3).ToArray())
            .SelectMany(names => Gen.CollectToList(names, n => Bytes(40).Select(v => new ExtendedAttribute(n, v))))
            .Select(list => list.ToArray());

    /// <summary>A directory listing as the backup writes it: distinct safe names in ordinal order.</summary>
    public static Gen<List<TreeNode>> TreeGen { get; } =
        Gen.ListOf(SafeName)
            .SelectMany(names => Gen.CollectToList(names.Distinct().Order(StringComparer.Ordinal).ToList(), NodeGen))
            .Select(nodes => nodes.ToList());

    public static Arbitrary<List<TreeNode>> TreeNodes() => TreeGen.ToArbitrary();

    public static Gen<IndexBlob> IndexBlobGen { get; } =
        from id in IdGen
        from offset in Gen.Choose(0, int.MaxValue)
        from raw in Gen.Choose(0, Limits.MaxBlobSize)
        from stored in Gen.Choose(16, 16 + raw)
        select new IndexBlob(id, offset, stored, raw);

    public static Gen<IndexPack> IndexPackGen { get; } =
        from id in IdGen
        from type in Gen.Elements(BlobType.Data, BlobType.Tree)
        from key in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), IndexCodec.WrappedKeySize)
        from blobs in Gen.ArrayOf(IndexBlobGen)
        select new IndexPack(id, type, key, blobs);

    public static Arbitrary<IndexPack[]> IndexPacks() => Gen.ArrayOf(IndexPackGen).ToArbitrary();

    /// <summary>Pack header entries that satisfy the codec's length rules.</summary>
    public static Gen<PackHeaderEntry> PackEntryGen { get; } =
        from id in IdGen
        from raw in Gen.Choose(0, 1 << 24)
        from stored in Gen.Choose(16, 16 + raw)
        select new PackHeaderEntry(id, stored, raw);

    public static Arbitrary<PackHeaderEntry[]> PackEntries() => Gen.ArrayOf(PackEntryGen).ToArbitrary();
}

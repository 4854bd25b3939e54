namespace Dedup.Format;

/// <summary>
/// The plaintext of a tree blob (spec/repository-format.md, "Trees"): version (1 byte) = 2,
/// entry count (varint), entries sorted by the ordinal (UTF-16 code unit) order of their names, each:
/// name, type (1), mode, uid, gid, user, group, mtime (zigzag varint ns), ctime, size, inode,
/// device, rdev, link target, content count, content IDs (32 bytes each), and since version 2 the
/// hard-link count and the extended attributes (count, then name and value of each).
/// Strings are a varint byte length and UTF-8 bytes. Version 1 blobs (without the last two fields) are still read.
/// </summary>
public static class TreeCodec
{
    /// <summary>The version writers write.</summary>
    public const byte Version = 2;
    /// <summary>The first version, without hard-link counts and extended attributes; readers still accept it.</summary>
    public const byte Version1 = 1;

    public static void WriteHeader(PooledBufferWriter w, int count)
    {
        w.WriteByte(Version);
        w.WriteVarUInt((ulong)count);
    }

    public static void WriteNode(PooledBufferWriter w, TreeNode n)
    {
        w.WriteString(n.Name);
        w.WriteByte((byte)n.Type);
        w.WriteVarUInt(n.Mode);
        w.WriteVarUInt(n.Uid);
        w.WriteVarUInt(n.Gid);
        w.WriteString(n.User);
        w.WriteString(n.Group);
        w.WriteVarInt64(n.MTimeNs);
        w.WriteVarInt64(n.CTimeNs);
        w.WriteVarUInt((ulong)n.Size);
        w.WriteVarUInt(n.Inode);
        w.WriteVarUInt(n.Device);
        w.WriteVarUInt(n.Rdev);
        w.WriteString(n.LinkTarget);
        w.WriteVarUInt((ulong)n.Content.Count);
        foreach (var id in n.Content) w.WriteId(id);
        w.WriteVarUInt(n.Links);
        w.WriteVarUInt((ulong)n.ExtendedAttributes.Count);
        foreach (var x in n.ExtendedAttributes)
        {
            w.WriteString(x.Name);
            w.WriteBlob(x.Value);
        }
    }

    public static byte[] Encode(IReadOnlyList<TreeNode> nodes)
    {
        using var w = new PooledBufferWriter();
        WriteHeader(w, nodes.Count);
        foreach (var n in nodes) WriteNode(w, n);
        return w.ToArray();
    }

    /// <summary>Decodes and validates a tree blob: names must be safe single path components, in strictly ascending order.</summary>
    public static List<TreeNode> Decode(ReadOnlySpan<byte> plaintext, string objectName)
    {
        var r = new SpanReader(plaintext, objectName);
        byte version = r.ReadByte();
        if (version is not (Version1 or Version)) throw r.Corrupt($"unknown tree version {version}");
        // The smallest entry is about 20 bytes, which bounds the count by the blob size.
        int count = r.ReadLength(r.Remaining / 16, "entry count");
        var nodes = new List<TreeNode>(count);
        string? previous = null;
        for (int i = 0; i < count; i++)
        {
            string name = r.ReadString(Limits.MaxNameBytes, "name");
            ValidateName(ref r, name);
            if (previous is not null && string.CompareOrdinal(previous, name) >= 0)
                throw r.Corrupt($"entries are not in strictly ascending order at '{name}'");
            previous = name;
            byte type = r.ReadByte();
            if (type > (byte)NodeType.Socket) throw r.Corrupt($"unknown entry type {type}");
            var node = new TreeNode
            {
                Name = name,
                Type = (NodeType)type,
                Mode = ReadUInt(ref r, 0xFFF, "mode"),
                Uid = ReadUInt(ref r, uint.MaxValue, "uid"),
                Gid = ReadUInt(ref r, uint.MaxValue, "gid"),
                User = r.ReadString(Limits.MaxUserNameBytes, "user name"),
                Group = r.ReadString(Limits.MaxUserNameBytes, "group name"),
                MTimeNs = r.ReadVarInt64(),
                CTimeNs = r.ReadVarInt64(),
                Size = ReadSize(ref r),
                Inode = r.ReadVarUInt(),
                Device = r.ReadVarUInt(),
                Rdev = r.ReadVarUInt(),
                LinkTarget = r.ReadString(Limits.MaxLinkTargetBytes, "link target"),
                Content = ReadIds(ref r),
                // Initializers run in order, so the version-2 fields are read after the content, as they are stored.
                Links = version >= 2 ? ReadUInt(ref r, uint.MaxValue, "link count") : 0,
                ExtendedAttributes = version >= 2 ? ReadXattrs(ref r, name) : [],
            };
            if (node.Type != NodeType.File && node.Type != NodeType.Directory && node.Content.Count != 0)
                throw r.Corrupt($"'{name}' is a {node.Type} but lists content");
            nodes.Add(node);
        }
        r.ExpectEnd();
        return nodes;
    }

    private static uint ReadUInt(ref SpanReader r, uint max, string what)
    {
        ulong v = r.ReadVarUInt();
        if (v > max) throw r.Corrupt($"{what} {v} is out of range");
        return (uint)v;
    }

    private static long ReadSize(ref SpanReader r)
    {
        ulong v = r.ReadVarUInt();
        if (v > long.MaxValue) throw r.Corrupt("size out of range");
        return (long)v;
    }

    /// <summary>Extended attributes: names 1..255 bytes without NUL, strictly ascending; values up to 64 KiB.</summary>
    private static IReadOnlyList<ExtendedAttribute> ReadXattrs(ref SpanReader r, string entry)
    {
        // The smallest attribute is 3 bytes (a 1-byte name and an empty value).
        int n = r.ReadLength(Math.Min(Limits.MaxXattrCount, r.Remaining / 3), "extended attribute count");
        if (n == 0) return [];
        var list = new ExtendedAttribute[n];
        for (int i = 0; i < n; i++)
        {
            string name = r.ReadString(Limits.MaxXattrNameBytes, "extended attribute name");
            if (name.Length == 0 || name.Contains('\0')) throw r.Corrupt($"'{entry}' has an extended attribute with an empty name or a NUL in it");
            if (i > 0 && string.CompareOrdinal(list[i - 1].Name, name) >= 0)
                throw r.Corrupt($"the extended attributes of '{entry}' are not in strictly ascending order at '{name}'");
            list[i] = new ExtendedAttribute(name, r.ReadBlob(Limits.MaxXattrValueBytes, "extended attribute value").ToArray());
        }
        return list;
    }

    private static ObjectId[] ReadIds(ref SpanReader r)
    {
        int n = r.ReadLength(r.Remaining / ObjectId.Size, "content count");
        var ids = new ObjectId[n];
        for (int i = 0; i < n; i++) ids[i] = r.ReadId();
        return ids;
    }

    /// <summary>
    /// A name must be one path component: not empty, not "." or "..", no '/' and no NUL.
    /// This is what keeps restore inside its target whatever a hostile tree says.
    /// </summary>
    public static bool IsSafeName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !name.Contains('/') && !name.Contains('\0');

    private static void ValidateName(ref SpanReader r, string name)
    {
        if (!IsSafeName(name)) throw r.Corrupt($"unsafe entry name '{name.Replace("\0", "\\0")}'");
    }
}

namespace Dedup.Format;

/// <summary>
/// The plaintext of a tree blob (spec/repository-format.md, "Trees"): version (1 byte) = 1,
/// entry count (varint), entries sorted by the ordinal (UTF-16 code unit) order of their names, each:
/// name, type (1), mode, uid, gid, user, group, mtime (zigzag varint ns), ctime, size, inode,
/// device, rdev, link target, content count, content IDs (32 bytes each).
/// Strings are a varint byte length and UTF-8 bytes.
/// </summary>
public static class TreeCodec
{
    public const byte Version = 1;

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
        if (r.ReadByte() != Version) throw r.Corrupt("unknown tree version");
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

namespace Dedup.Format;

public enum NodeType : byte
{
    File = 0,
    Directory = 1,
    Symlink = 2,
    BlockDevice = 3,
    CharDevice = 4,
    Fifo = 5,
    Socket = 6,
}

/// <summary>
/// One entry of a directory. Times are nanoseconds since the Unix epoch (UTC).
/// <see cref="Content"/> holds the data blob IDs of a file, or the tree blob IDs of a directory
/// (a large directory spans several tree blobs, read in order).
/// </summary>
public sealed record TreeNode
{
    public required string Name { get; init; }
    public required NodeType Type { get; init; }
    /// <summary>Permission bits and set-id/sticky bits (the low 12 bits of st_mode).</summary>
    public uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public string User { get; init; } = "";
    public string Group { get; init; } = "";
    public long MTimeNs { get; init; }
    public long CTimeNs { get; init; }
    public long Size { get; init; }
    public ulong Inode { get; init; }
    public ulong Device { get; init; }
    /// <summary>The device number a block or character device node stands for.</summary>
    public ulong Rdev { get; init; }
    public string LinkTarget { get; init; } = "";
    public IReadOnlyList<ObjectId> Content { get; init; } = [];
    /// <summary>
    /// The hard-link count (st_nlink) of anything but a directory when it was backed up; 0 for directories and for
    /// entries read from version-1 trees. Restore links entries with a count above 1 and the same device and inode.
    /// </summary>
    public uint Links { get; init; }
    /// <summary>Extended attributes (on Linux also POSIX ACLs), in strictly ascending ordinal order of their names.</summary>
    public IReadOnlyList<ExtendedAttribute> ExtendedAttributes { get; init; } = [];
}

/// <summary>One extended attribute: a name such as "user.comment" or "system.posix_acl_access", and its raw value.</summary>
public sealed record ExtendedAttribute(string Name, byte[] Value)
{
    public bool Equals(ExtendedAttribute? other) =>
        other is not null && Name == other.Name && Value.AsSpan().SequenceEqual(other.Value);

    public override int GetHashCode() => HashCode.Combine(Name, Value.Length);
}

using Dedup.Format;

namespace Dedup.Fuzz;

/// <summary>Small, fixed inputs for the seed generator: varied enough to touch every field and branch of each codec.</summary>
internal static class SeedData
{
    private static ObjectId Id(int n)
    {
        var b = new byte[ObjectId.Size];
        b[0] = (byte)n;
        b[31] = (byte)(n * 7);
        return new ObjectId(b);
    }

    public static IEnumerable<List<TreeNode>> Trees()
    {
        yield return [new TreeNode { Name = "a", Type = NodeType.File, Size = 5, Mode = 0x1A4, Content = [Id(1)] }];
        yield return
        [
            new TreeNode { Name = "bin", Type = NodeType.Directory, Mode = 0x1ED, Uid = 1000, Gid = 1000, User = "ann", Group = "staff", Content = [Id(2), Id(3)] },
            new TreeNode { Name = "dev null", Type = NodeType.CharDevice, Rdev = 0x103, MTimeNs = -5, CTimeNs = 1_700_000_000_000_000_000 },
            new TreeNode { Name = "fifo", Type = NodeType.Fifo },
            new TreeNode { Name = "link", Type = NodeType.Symlink, LinkTarget = "../ünï/名前" },
            new TreeNode { Name = "sock", Type = NodeType.Socket, Inode = ulong.MaxValue, Device = 42 },
            new TreeNode { Name = "zz big", Type = NodeType.File, Size = long.MaxValue, Content = [Id(4), Id(5), Id(6)] },
        ];
        yield return [new TreeNode { Name = "😀", Type = NodeType.BlockDevice, Rdev = 8, Mode = 0xFFF }];
        // Version 2 fields: hard-link counts and extended attributes (a POSIX ACL, binary and empty values).
        byte[] acl = Convert.FromHexString("0200000001000600ffffffff02000400e803000004000400ffffffff10000400ffffffff20000000ffffffff");
        yield return
        [
            new TreeNode { Name = "a", Type = NodeType.File, Size = 3, Inode = 7, Device = 9, Links = 2, Content = [Id(7)],
                ExtendedAttributes = [new("system.posix_acl_access", acl), new("user.comment", [0x68, 0x69]), new("user.empty", [])] },
            new TreeNode { Name = "b", Type = NodeType.File, Size = 3, Inode = 7, Device = 9, Links = 2, Content = [Id(7)] },
            new TreeNode { Name = "d", Type = NodeType.Directory, Content = [Id(8)], ExtendedAttributes = [new("system.posix_acl_default", acl)] },
            new TreeNode { Name = "l", Type = NodeType.Symlink, LinkTarget = "a", Links = uint.MaxValue, ExtendedAttributes = [new("security.selinux", [0, 1, 2])] },
        ];
    }

    public static IEnumerable<(BlobType, PackHeaderEntry[])> PackHeaders()
    {
        yield return (BlobType.Data, [new PackHeaderEntry(Id(1), 16, 0)]);
        yield return (BlobType.Tree, [new PackHeaderEntry(Id(2), 100, 84), new PackHeaderEntry(Id(3), 50, 4000)]);
        yield return (BlobType.Data, Enumerable.Range(0, 20).Select(i => new PackHeaderEntry(Id(i), 16 + i * 300, 16 * 1024 + i)).ToArray());
    }

    public static IEnumerable<IndexPack[]> IndexPacks()
    {
        var key = Enumerable.Range(0, IndexCodec.WrappedKeySize).Select(i => (byte)i).ToArray();
        yield return [];
        yield return [new IndexPack(Id(9), BlobType.Data, key, [new IndexBlob(Id(1), 0, 16, 0)])];
        yield return
        [
            new IndexPack(Id(10), BlobType.Tree, key, [new IndexBlob(Id(2), 0, 100, 84), new IndexBlob(Id(3), 100, 50, 4000)]),
            new IndexPack(Id(11), BlobType.Data, key, Enumerable.Range(0, 12).Select(i => new IndexBlob(Id(20 + i), i * 70_000L, 70_000, 1 << 20)).ToArray()),
            new IndexPack(Id(12), BlobType.Data, key, []),
        ];
    }

    public static IEnumerable<(BlobType, byte[][])> PackContents()
    {
        yield return (BlobType.Data, [[]]);
        yield return (BlobType.Data, [Text(3000), Random(1, 500), Text(40)]);
        yield return (BlobType.Tree, [TreeCodec.Encode(Trees().First()), TreeCodec.Encode(Trees().Skip(1).First())]);
    }

    public static IEnumerable<SnapshotInfo> Snapshots()
    {
        var t = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        yield return new SnapshotInfo { Time = t, Host = "h", Paths = ["/"], Tree = [Id(1).ToString()] };
        yield return new SnapshotInfo
        {
            Time = t.AddDays(1), Host = "hôst", Username = "ann", Paths = ["/home/ann", "/etc"], Tags = ["daily", "ü"],
            Tree = [Id(2).ToString(), Id(3).ToString()], Parent = Id(7).ToString(), ProgramVersion = "dedup 0.1.0", Incomplete = true,
            Session = Id(8).ToString(), Excludes = ["*.tmp"], Summary = new SnapshotSummary { FilesNew = 3, BytesRead = 1 << 20, DurationSeconds = 1.5 },
        };
    }

    private static byte[] Text(int n) => System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("log line ok 12345\n", n / 18 + 1)))[..n];

    private static byte[] Random(int seed, int n)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
}

using System.Security.Cryptography;
using Dedup.Archiver.Platform;
using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Backup.BackupTestSupport;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Restore;

/// <summary>
/// What a restore brings back besides content, end to end through Archiver.RunAsync and Restorer on a local store: hard
/// links as links (also when part of a link's names is outside the restored subset), extended attributes and POSIX ACLs
/// checked with getfattr/getfacl, and sparse files with few blocks allocated. Runs as root, as CI does (trusted.*
/// attributes and ownership need it).
/// </summary>
public class RestoreFidelityTests
{
    private static async Task<RestoreResult> RestoreAsync(Repo repo, Dedup.Format.ObjectId snapshot, string target, Func<RestoreOptions, RestoreOptions>? adjust = null)
    {
        var loaded = await repo.Snapshots.LoadAsync(snapshot);
        var options = new RestoreOptions { Target = target, Workers = 2 };
        return await Restorer.RunAsync(repo, loaded, adjust is null ? options : adjust(options), new RestoreProgress());
    }

    /// <summary>Where a source path lands in a restore target: the snapshot keeps absolute paths.</summary>
    private static string Restored(string target, string sourcePath) => target + sourcePath;

    [Fact]
    public async Task Hard_links_come_back_as_links_within_what_is_restored()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("a"), DataGen.RandomBytes(1, 300_000));
        PosixCalls.CreateHardLink(src.Combine("a"), src.Combine("b"));
        Directory.CreateDirectory(src.Combine("dir"));
        PosixCalls.CreateHardLink(src.Combine("a"), src.Combine("dir", "c"));
        Write(src.Combine("solo"), DataGen.RandomBytes(2, 1000));
        Write(src.Combine("x"), "x and y are one file");
        PosixCalls.CreateHardLink(src.Combine("x"), src.Combine("y"));
        await using var test = await TestRepo.OnDiskAsync();
        var backup = await BackupAsync(test.Repo, Options(src.Path));

        var nodes = await EntriesAsync(test.Repo, backup.Snapshot, src.Path);
        Assert.Equal(3u, nodes["a"].Links);
        Assert.Equal(nodes["a"].Inode, nodes["dir/c"].Inode);
        Assert.Equal(1u, nodes["solo"].Links);

        using var all = new TempDir("dedup-restore");
        var full = await RestoreAsync(test.Repo, backup.SnapshotId, all.Path);
        Assert.Empty(full.Failures);
        var a = PosixFile.LStat(Restored(all.Path, src.Combine("a")));
        Assert.Equal(3u, a.Links);
        Assert.Equal(a.Inode, PosixFile.LStat(Restored(all.Path, src.Combine("b"))).Inode);
        Assert.Equal(a.Inode, PosixFile.LStat(Restored(all.Path, src.Combine("dir", "c"))).Inode);
        Assert.Equal(2u, PosixFile.LStat(Restored(all.Path, src.Combine("y"))).Links);
        Assert.Equal(1u, PosixFile.LStat(Restored(all.Path, src.Combine("solo"))).Links);
        Assert.Equal(DataGen.Digest(src.Path), DataGen.Digest(Restored(all.Path, src.Path)));

        // Again into the same target: the links made before are recognised, nothing fails and nothing is left alone.
        var again = await RestoreAsync(test.Repo, backup.SnapshotId, all.Path);
        Assert.Empty(again.Failures);
        Assert.Equal(0, again.Skipped);
        Assert.Equal(3u, PosixFile.LStat(Restored(all.Path, src.Combine("a"))).Links);

        // A subset without the first name: its other names are linked to each other.
        using var part = new TempDir("dedup-restore");
        var subset = await RestoreAsync(test.Repo, backup.SnapshotId, part.Path,
            o => o with { Includes = [src.Combine("b"), src.Combine("dir")] });
        Assert.Empty(subset.Failures);
        Assert.False(File.Exists(Restored(part.Path, src.Combine("a"))));
        var b = PosixFile.LStat(Restored(part.Path, src.Combine("b")));
        Assert.Equal(2u, b.Links);
        Assert.Equal(b.Inode, PosixFile.LStat(Restored(part.Path, src.Combine("dir", "c"))).Inode);
        Assert.Equal(File.ReadAllBytes(src.Combine("a")), File.ReadAllBytes(Restored(part.Path, src.Combine("dir", "c"))));

        // A subset with one name only: a plain file with the content.
        using var one = new TempDir("dedup-restore");
        Assert.Empty((await RestoreAsync(test.Repo, backup.SnapshotId, one.Path, o => o with { Includes = [src.Combine("dir", "c")] })).Failures);
        Assert.Equal(1u, PosixFile.LStat(Restored(one.Path, src.Combine("dir", "c"))).Links);
        Assert.Equal(File.ReadAllBytes(src.Combine("a")), File.ReadAllBytes(Restored(one.Path, src.Combine("dir", "c"))));
    }

    [Fact]
    public async Task Extended_attributes_and_posix_acls_round_trip()
    {
        using var src = new TempDir("dedup-src");
        Write(src.Combine("f"), "file with attributes");
        Directory.CreateDirectory(src.Combine("d"));
        Write(src.Combine("d", "inside"), "a file in a directory with a default ACL");
        Write(src.Combine("plain"), "no attributes");
        ExternalTool.Check("setfattr", "-n", "user.comment", "-v", "hello, world", src.Combine("f"));
        ExternalTool.Check("setfattr", "-n", "user.binary", "-v", "0x00ff0180", src.Combine("f"));
        ExternalTool.Check("setfattr", "-n", "user.empty", src.Combine("f"));
        ExternalTool.Check("setfattr", "-n", "trusted.dedup-test", "-v", "root only", src.Combine("f"));
        ExternalTool.Check("setfattr", "-n", "user.on-a-directory", "-v", "1", src.Combine("d"));
        ExternalTool.Check("setfacl", "-m", "u:1234:r,g:2345:rw", src.Combine("f"));
        ExternalTool.Check("setfacl", "-d", "-m", "u:1234:rx", src.Combine("d"));
        ExternalTool.Check("setfacl", "-m", "u:1234:rwx", src.Combine("d"));
        // Read-only after the attributes are set: restore must set attributes before the mode.
        File.SetUnixFileMode(src.Combine("f"), UnixFileMode.UserRead);
        await using var test = await TestRepo.OnDiskAsync();
        var backup = await BackupAsync(test.Repo, Options(src.Path));
        Assert.Empty(backup.Warnings);

        var nodes = await EntriesAsync(test.Repo, backup.Snapshot, src.Path);
        Assert.Equal(["system.posix_acl_access", "trusted.dedup-test", "user.binary", "user.comment", "user.empty"], nodes["f"].ExtendedAttributes.Select(x => x.Name));
        Assert.Equal([0x00, 0xFF, 0x01, 0x80], nodes["f"].ExtendedAttributes.Single(x => x.Name == "user.binary").Value);
        Assert.Contains(nodes["d"].ExtendedAttributes, x => x.Name == "system.posix_acl_default");
        Assert.Empty(nodes["plain"].ExtendedAttributes);

        using var target = new TempDir("dedup-restore");
        var result = await RestoreAsync(test.Repo, backup.SnapshotId, target.Path);
        Assert.Empty(result.Failures);
        foreach (var path in new[] { "f", "d", "d/inside", "plain" })
        {
            var original = src.Combine(path);
            var restored = Restored(target.Path, original);
            Assert.Equal(Attributes(original), Attributes(restored));
            Assert.Equal(Acl(original), Acl(restored));
        }
        Assert.Contains("user:1234:r--", Acl(Restored(target.Path, src.Combine("f"))));
        Assert.Contains("default:user:1234:r-x", Acl(Restored(target.Path, src.Combine("d"))));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Restored(target.Path, src.Combine("f"))) & ~UnixFileMode.GroupRead & ~UnixFileMode.GroupWrite);

        // Without them, a restore sets none.
        using var bare = new TempDir("dedup-restore");
        Assert.Empty((await RestoreAsync(test.Repo, backup.SnapshotId, bare.Path, o => o with { RestoreExtendedAttributes = false })).Failures);
        Assert.DoesNotContain("user.comment", Attributes(Restored(bare.Path, src.Combine("f"))));
    }

    /// <summary>getfattr's dump of every attribute (all namespaces), hex-encoded, without the file-name line.</summary>
    private static string Attributes(string path) =>
        string.Join('\n', ExternalTool.Check("getfattr", "-d", "-m", "-", "-e", "hex", "--absolute-names", path).Split('\n').Where(l => !l.StartsWith("# file:")));

    private static string Acl(string path) =>
        string.Join('\n', ExternalTool.Check("getfacl", "--absolute-names", path).Split('\n').Where(l => !l.StartsWith("# file:")));

    [Fact]
    public async Task A_sparse_file_restores_with_few_blocks_allocated_and_the_same_content()
    {
        using var src = new TempDir("dedup-src");
        const long size = 64L << 20;
        var sparse = src.Combine("disk.img");
        using (var f = new FileStream(sparse, FileMode.CreateNew, FileAccess.Write))
        {
            f.SetLength(size);
            f.Position = 32L << 20;
            f.Write(DataGen.RandomBytes(3, 4096));
        }
        var tail = src.Combine("zeros-at-the-end");
        using (var f = new FileStream(tail, FileMode.CreateNew, FileAccess.Write))
        {
            f.Write(DataGen.RandomBytes(4, 100_000));
            f.SetLength(9L << 20);
        }
        Assert.True(Allocated(sparse) < 1 << 20, "the test's own file system cannot hold sparse files");
        await using var test = await TestRepo.OnDiskAsync();
        var backup = await BackupAsync(test.Repo, Options(src.Path));

        using var target = new TempDir("dedup-restore");
        Assert.Empty((await RestoreAsync(test.Repo, backup.SnapshotId, target.Path)).Failures);
        var restored = Restored(target.Path, sparse);
        Assert.Equal(size, new FileInfo(restored).Length);
        Assert.Equal(Hash(sparse), Hash(restored));
        Assert.True(Allocated(restored) <= 256 << 10, $"{Allocated(restored)} bytes allocated for one written 4 KiB block");
        var restoredTail = Restored(target.Path, tail);
        Assert.Equal(9L << 20, new FileInfo(restoredTail).Length);
        Assert.Equal(Hash(tail), Hash(restoredTail));
        Assert.True(Allocated(restoredTail) <= 1 << 20, $"{Allocated(restoredTail)} bytes allocated for 100,000 bytes of data and trailing zeros");

        // The holes are the restorer's doing: without sparse writing, every block is allocated.
        using var dense = new TempDir("dedup-restore");
        Assert.Empty((await RestoreAsync(test.Repo, backup.SnapshotId, dense.Path, o => o with { Sparse = false })).Failures);
        Assert.True(Allocated(Restored(dense.Path, sparse)) >= size * 9 / 10);
        Assert.Equal(Hash(sparse), Hash(Restored(dense.Path, sparse)));
    }

    private static long Allocated(string path) => PosixFile.LStat(path).Blocks * 512;

    private static string Hash(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(s));
    }
}

using System.Collections.Concurrent;
using Dedup.Archiver.Backup;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Fuse;
using Dedup.Mount;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Dedup.Tests.Maintenance;
using Dedup.TestKit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Mount;

/// <summary>
/// <see cref="RepositoryFileSystem"/> over real repositories, mounted in this process: contents match the source, damage
/// is an I/O error and never wrong bytes, and snapshots a compromised host forged never show.
/// </summary>
public sealed class RepositoryMountTests
{
    private static async Task<BackupResult> BackupAsync(Repo repo, string path, string host, string[]? tags = null) =>
        await Archiver.Backup.Archiver.RunAsync(repo, new BackupOptions { Paths = [path], Host = host, Tags = tags ?? [] }, new BackupProgress());

    /// <summary>Mounts the repository's snapshots at a fresh directory; errors the mount reports are collected.</summary>
    private sealed class Mounted : IDisposable
    {
        private readonly TempDir _dir = new("dedup-mount");

        public Mounted(Repo repo, IReadOnlyList<LoadedSnapshot> snapshots, MountOptions? options = null)
        {
            Fs = new RepositoryFileSystem(repo, snapshots, options ?? new MountOptions { TimeZone = TimeZoneInfo.Utc });
            Path = _dir.CreateDirectory("mnt");
            Mount = FuseMount.Mount(Path, Fs, new FuseMountOptions { OnError = (what, e) => Errors.Enqueue((what, e)) });
        }

        public RepositoryFileSystem Fs { get; }
        public FuseMount Mount { get; }
        public string Path { get; }
        public ConcurrentQueue<(string What, Exception Error)> Errors { get; } = new();

        public void Dispose()
        {
            try
            {
                Mount.Dispose();
            }
            finally
            {
                MountTable.ForceUnmount(Path);
                Fs.Dispose();
                _dir.Dispose();
            }
        }
    }

    [Fact]
    public async Task AMountedSnapshot_HoldsTheSourceTree()
    {
        await using var t = await TestRepo.OnDiskAsync();
        using var src = new TempDir("dedup-mount-src");
        DataGen.FileTree(src.Path, seed: 5, totalBytes: 3 << 20);
        var backup = await BackupAsync(t.Repo, src.Path, "host-a", ["daily"]);
        using var m = new Mounted(t.Repo, await t.Repo.Snapshots.LoadAllAsync());
        var inside = System.IO.Path.Join(m.Path, "ids", backup.SnapshotId.ToShortString(), src.Path);
        Assert.Equal(DataGen.Digest(src.Path), DataGen.Digest(inside));
        Assert.Equal(DataGen.Digest(src.Path), DataGen.Digest(System.IO.Path.Join(m.Path, "tags", "daily", "latest", src.Path)));
        Assert.Empty(m.Errors);
        // Bounded memory: every blob was read to its end, so none is held; directories stay within their budget.
        Assert.Equal(0, m.Fs.CachedBlobBytes);
        Assert.InRange(m.Fs.CachedDirectoryBytes, 1, new MountOptions().DirectoryCacheBytes);
    }

    [Fact]
    public async Task ADamagedBlob_IsAnIOError_NeverWrongBytes_AndTheRestStillReads()
    {
        await using var t = await TestRepo.OnDiskAsync();
        using var src = new TempDir("dedup-mount-src");
        var good = DataGen.RandomBytes(1, 200_000);
        var victim = DataGen.RandomBytes(2, 200_000);
        File.WriteAllBytes(System.IO.Path.Join(src.Path, "good.bin"), good);
        File.WriteAllBytes(System.IO.Path.Join(src.Path, "victim.bin"), victim);
        await BackupAsync(t.Repo, src.Path, "host-a");
        await t.Repo.LoadIndexAsync();

        // Flip one byte in the middle of the victim's last blob, where it lies in its pack.
        var victimNode = await Archiver.Trees.SnapshotWalker.FindAsync(t.Repo, await t.Repo.Snapshots.ResolveAsync("latest"),
            System.IO.Path.Join(src.Path, "victim.bin"));
        var loc = t.Repo.Blobs.Locate(victimNode!.Content[^1], t.Repo.Keys.Own.Id);
        var packName = Layout.Pack(loc.PackId);
        var pack = await t.ReadObjectAsync(packName);
        pack[loc.Offset + loc.StoredLength / 2] ^= 0x40;
        await t.ReplaceObjectAsync(packName, pack);

        var repo = await t.ReopenAsync();
        await using var _ = repo;
        using var m = new Mounted(repo, await repo.Snapshots.LoadAllAsync());
        var dir = System.IO.Path.Join(m.Path, "latest", src.Path);
        var victimPath = System.IO.Path.Join(dir, "victim.bin");
        var cat = Tool.Run("cat", victimPath);
        Assert.Equal(1, cat.ExitCode);
        Assert.Contains("Input/output error", cat.Stderr);
        Assert.NotEmpty(m.Errors);
        Assert.All(m.Errors, e =>
        {
            Assert.Matches("^read /snapshots/[^/]+" + System.Text.RegularExpressions.Regex.Escape(src.Path) + "/victim.bin$", e.What);
            Assert.IsType<CorruptObjectException>(e.Error);
        });
        // What a reader gets before the damaged blob is the file's true beginning; the damage itself is an error.
        var got = new MemoryStream();
        Assert.ThrowsAny<IOException>(() =>
        {
            using var f = new FileStream(victimPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            var buffer = new byte[64 * 1024];
            for (int n; (n = f.Read(buffer)) > 0;) got.Write(buffer, 0, n);
        });
        Assert.True(got.Length < victim.Length);
        Assert.Equal(victim.AsSpan(0, (int)got.Length).ToArray(), got.ToArray());
        Assert.Equal(good, File.ReadAllBytes(System.IO.Path.Join(dir, "good.bin")));
    }

    [Fact]
    public async Task SnapshotsACompromisedHostForged_NeverShow()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var keyId = await KeyManager.AddAsync(admin, "writer"u8.ToArray(), KeyKind.WriteOnly, "web2", "svc", new Argon2Parameters(64, 1, 1));
        var honestTree = s.MakeTree("honest", 2, 1000, 1);
        var adminBackup = await BackupAsync(admin, honestTree, "db1");

        // The attacker holds web2's write-only key. It stores a snapshot in db1's name, dated ten years ahead so it
        // would be everyone's 'latest', and one in its own name after its key was revoked.
        var writer = await s.OpenAsync("writer");
        var evilTree = s.MakeTree("evil", 1, 1000, 2);
        var own = await BackupAsync(writer, evilTree, "web2");
        var forged = await writer.Snapshots.SaveAsync(own.Snapshot with { Host = "db1", Time = s.Clock.GetUtcNow().AddYears(10) });
        s.Clock.Advance(TimeSpan.FromMinutes(1));
        await Dedup.Maintenance.Keys.KeyMaintenance.RemoveAsync(admin, s.Storage, keyId);
        s.Clock.Advance(TimeSpan.FromMinutes(1));
        var late = await BackupAsync(writer, evilTree, "web2");

        var viewer = await s.OpenAsync();
        await viewer.LoadIndexAsync();
        var all = await viewer.Snapshots.LoadAllAsync();
        Assert.Equal(4, all.Count);
        using var m = new Mounted(viewer, all);
        var ids = Directory.GetFileSystemEntries(System.IO.Path.Join(m.Path, "ids")).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { adminBackup.SnapshotId.ToShortString(), own.SnapshotId.ToShortString() }.Order(StringComparer.Ordinal), ids);
        Assert.DoesNotContain(forged.ToShortString(), ids);
        Assert.DoesNotContain(late.SnapshotId.ToShortString(), ids);
        // db1's latest is the admin's snapshot, with the admin's files.
        var db1 = System.IO.Path.Join(m.Path, "hosts", "db1", "latest", honestTree);
        Assert.Equal(DataGen.Digest(honestTree), DataGen.Digest(db1));
        Assert.Single(Directory.GetFileSystemEntries(System.IO.Path.Join(m.Path, "hosts", "db1")), e => System.IO.Path.GetFileName(e) != "latest");
        Assert.Equal(2, m.Fs.Snapshots.Count);
    }
}

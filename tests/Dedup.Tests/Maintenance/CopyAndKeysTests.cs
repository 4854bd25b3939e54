using Dedup.Archiver.Backup;
using Dedup.Archiver.Copy;
using Dedup.Archiver.Restore;
using Dedup.Crypto;
using Dedup.Maintenance;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Xunit;

namespace Dedup.Tests.Maintenance;

public sealed class CopyAndKeysTests
{
    [Fact]
    public async Task Copy_restores_the_same_files_and_a_rerun_copies_nothing()
    {
        await using var src = await Scenario.CreateAsync();
        var source = await src.OpenAsync();
        var tree = src.MakeTree("a", 5, 70_000, 11);
        await src.BackupAsync(source, tree);

        var destStorage = new MemoryStorage();
        await Dedup.Repository.Repository.InitAsync(destStorage, System.Text.Encoding.UTF8.GetBytes("dest"), Scenario.SmallRepo);
        var dest = await src.OpenAsync("dest", destStorage);
        var first = await SnapshotCopier.RunAsync(source, dest, [], new BackupProgress());
        Assert.Single(first.Copied);
        long size = destStorage.ListAsync("data/").ToBlockingEnumerable().Sum(o => o.Size);

        var again = await SnapshotCopier.RunAsync(source, dest, [], new BackupProgress());
        Assert.Empty(again.Copied);
        Assert.Single(again.AlreadyPresent);
        Assert.Equal(size, destStorage.ListAsync("data/").ToBlockingEnumerable().Sum(o => o.Size));

        await dest.LoadIndexAsync();
        var (target, result) = await src.RestoreAsync(dest, first.Copied[0].Destination);
        Assert.Empty(result.Failures);
        Scenario.AssertSameTree(tree, Path.Join(target, tree));
    }

    [Fact]
    public async Task A_write_only_key_backs_up_and_deduplicates_within_its_own_domain_but_cannot_read()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var tree = s.MakeTree("a", 4, 80_000, 5);
        await s.BackupAsync(admin, tree, host: "web1");
        await KeyManager.AddAsync(admin, System.Text.Encoding.UTF8.GetBytes("writer"), KeyKind.WriteOnly, "web2", "svc", new Argon2Parameters(64, 1, 1));

        var writer = await s.OpenAsync("writer");
        Assert.Equal(KeyKind.WriteOnly, writer.Keys.Kind);
        // Its own domain: the admin's copy of the same data is invisible to it, so it stores everything once...
        var first = await Archiver.Backup.Archiver.RunAsync(writer, new BackupOptions { Paths = [tree], Host = "web2" }, new BackupProgress());
        Assert.True(first.Snapshot.Summary.BytesAdded >= 4 * 80_000, $"the first backup of an isolated writer added only {first.Snapshot.Summary.BytesAdded} bytes");
        // ...and then deduplicates against what it stored itself.
        var result = await Archiver.Backup.Archiver.RunAsync(writer, new BackupOptions { Paths = [tree], Host = "web2" }, new BackupProgress());
        Assert.True(result.Snapshot.Summary.BytesAdded < 20_000, $"a second backup of the same data added {result.Snapshot.Summary.BytesAdded} bytes");

        await Assert.ThrowsAsync<MissingCapabilityException>(() => writer.Snapshots.LoadAsync(result.SnapshotId));
        await writer.LoadIndexAsync();
        var anyBlob = writer.Index.Blobs().First().Id;
        await Assert.ThrowsAsync<MissingCapabilityException>(() => writer.Blobs.ReadAsync(anyBlob, writer.Keys.Own.Id));
        Assert.Equal(2, (await writer.Snapshots.ListOwnHeadersAsync()).Count);

        // The admin restores what the write-only host stored, and sees who signed it.
        await admin.LoadIndexAsync();
        var loaded = await admin.Snapshots.LoadAsync(result.SnapshotId);
        Assert.Equal(Dedup.Repository.Trust.SignerTrust.CertifiedWriter, loaded.Header.Trust);
        var target = Path.Join(s.Work, "out");
        var restore = await Restorer.RunAsync(admin, loaded, new RestoreOptions { Target = target }, new RestoreProgress());
        Assert.Empty(restore.Failures);
        Scenario.AssertSameTree(tree, Path.Join(target, tree));
    }

    [Fact]
    public async Task A_write_only_key_cannot_pass_itself_off_as_another_host_and_revocation_ends_its_trust()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var keyId = await KeyManager.AddAsync(admin, System.Text.Encoding.UTF8.GetBytes("writer"), KeyKind.WriteOnly, "web2", "svc", new Argon2Parameters(64, 1, 1));
        var writer = await s.OpenAsync("writer");
        var tree = s.MakeTree("a", 1, 1000, 1);
        var honest = await Archiver.Backup.Archiver.RunAsync(writer, new BackupOptions { Paths = [tree], Host = "web2" }, new BackupProgress());
        // The archiver refuses to back up as another host; a client that bypasses it gets an untrusted snapshot.
        await Assert.ThrowsAsync<RepositoryException>(() => Archiver.Backup.Archiver.RunAsync(writer, new BackupOptions { Paths = [tree], Host = "db1" }, new BackupProgress()));
        var forged = await writer.Snapshots.SaveAsync(honest.Snapshot with { Host = "db1" });
        Assert.Equal(Dedup.Repository.Trust.SignerTrust.CertifiedWriter, (await admin.Snapshots.LoadAsync(honest.SnapshotId)).Header.Trust);
        Assert.Equal(Dedup.Repository.Trust.SignerTrust.Untrusted, (await admin.Snapshots.LoadAsync(forged)).Header.Trust);

        s.Clock.Advance(TimeSpan.FromMinutes(1));
        await Dedup.Maintenance.Keys.KeyMaintenance.RemoveAsync(admin, s.Storage, keyId);
        s.Clock.Advance(TimeSpan.FromMinutes(1));
        // The host kept its secrets in memory: what it writes after revocation is untrusted; what it wrote before is not.
        var late = await Archiver.Backup.Archiver.RunAsync(writer, new BackupOptions { Paths = [tree], Host = "web2" }, new BackupProgress());
        var fresh = await s.OpenAsync();
        Assert.Equal(Dedup.Repository.Trust.SignerTrust.Untrusted, (await fresh.Snapshots.LoadAsync(late.SnapshotId)).Header.Trust);
        Assert.Equal(Dedup.Repository.Trust.SignerTrust.CertifiedWriter, (await fresh.Snapshots.LoadAsync(honest.SnapshotId)).Header.Trust);
        await Assert.ThrowsAsync<WrongPasswordException>(() => s.OpenAsync("writer"));
    }

    [Fact]
    public async Task Key_remove_refuses_the_key_in_use_and_the_last_full_key()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await Assert.ThrowsAsync<RepositoryException>(() => Dedup.Maintenance.Keys.KeyMaintenance.RemoveAsync(admin, s.Storage, admin.KeyId));
        var second = await KeyManager.AddAsync(admin, System.Text.Encoding.UTF8.GetBytes("second"), KeyKind.Full, "h", "u", new Argon2Parameters(64, 1, 1));
        var viaSecond = await s.OpenAsync("second");
        await Dedup.Maintenance.Keys.KeyMaintenance.RemoveAsync(viaSecond, s.Storage, admin.KeyId);
        await Assert.ThrowsAsync<WrongPasswordException>(() => s.OpenAsync());
        Assert.Equal(second, Assert.Single(await KeyManager.ListAsync(viaSecond)).Id);
    }

    [Fact]
    public async Task The_local_cache_lets_a_write_only_host_skip_unchanged_files()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await KeyManager.AddAsync(admin, System.Text.Encoding.UTF8.GetBytes("writer"), KeyKind.WriteOnly, "web2", "svc", new Argon2Parameters(64, 1, 1));
        var writer = await s.OpenAsync("writer");
        var tree = s.MakeTree("a", 6, 50_000, 9);
        var cache = Path.Join(s.Work, "cache");
        var options = new BackupOptions { Paths = [tree], Host = "web2", CacheDirectory = cache };
        var first = await Archiver.Backup.Archiver.RunAsync(writer, options, new BackupProgress());
        Assert.Equal(300_000, first.Snapshot.Summary.BytesRead);
        var second = await Archiver.Backup.Archiver.RunAsync(writer, options, new BackupProgress());
        Assert.Equal(0, second.Snapshot.Summary.BytesRead);
        Assert.Equal(6, second.Snapshot.Summary.FilesUnmodified);

        Directory.Delete(cache, true); // cache lost: files are read again, but nothing new is uploaded
        var third = await Archiver.Backup.Archiver.RunAsync(writer, options, new BackupProgress());
        Assert.Equal(300_000, third.Snapshot.Summary.BytesRead);
        Assert.True(third.Snapshot.Summary.BytesAdded < 10_000);
    }
}

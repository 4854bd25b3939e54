using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dedup.Archiver.Check;
using Dedup.Archiver.Copy;
using Dedup.Archiver.Trees;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Maintenance.Keys;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;
using Dedup.TestKit;
using Dedup.Tests.Maintenance;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Adversarial;

/// <summary>Measures managed allocations, so it runs alone: other tests allocating in parallel would blur the figure.</summary>
[CollectionDefinition("Allocation-measuring", DisableParallelization = true)]
public sealed class AllocationMeasuringCollection;

/// <summary>Hostile bytes and listings that try to make every admin command allocate, compute or fail without bound.</summary>
[Collection("Allocation-measuring")]
public sealed class HostileInputTests
{
    /// <summary>
    /// Spec 18, attack 7. The listing of index/ reports every index file (and a few names that are no IDs) at
    /// long.MaxValue bytes, as a hostile store or proxy can. Opening and loading the index must not reserve memory by
    /// those figures: the table holds what the files really describe.
    /// </summary>
    [Fact]
    public async Task Listing_sizes_cannot_inflate_reservations()
    {
        await using var f = await Fleet.CreateAsync();
        for (int i = 0; i < 24; i++) await f.BackupAsync(f.Web1, "web1", Fleet.Content(i, 5_000), $"f{i}");
        var honest = await f.FreshAdminAsync();
        Assert.True(honest.IndexReport.Files.Count >= 24, $"only {honest.IndexReport.Files.Count} index files");

        var lying = new LyingStorage(f.S.Storage);
        var repo = await f.S.OpenAsync(Scenario.Password, lying);
        await repo.LoadIndexAsync();
        Assert.True(lying.HugeSizesReported >= 24, $"the listing reported {lying.HugeSizesReported} hostile sizes");
        Assert.Equal(honest.Index.Count, repo.Index.Count);
        Assert.True(repo.Index.ApproximateBytes < 64L << 20,
            $"the index reserved {repo.Index.ApproximateBytes >> 20} MiB for {repo.Index.Count} blobs (an honest listing: {honest.Index.ApproximateBytes >> 20} MiB)");
    }

    /// <summary>
    /// Spec 18, attack 24. The attacker (with read access to keys/) keeps copies of two key files: the admin's key before
    /// a password change (an old password it may have learned), and web1's write-only key file. The admin changes its
    /// password and removes web1's key; the attacker uploads both copies again. Neither old password opens anything: the
    /// admin buried both key files before removing them, and a buried key file is never tried.
    /// </summary>
    [Fact]
    public async Task A_removed_key_file_uploaded_again_never_opens()
    {
        await using var f = await Fleet.CreateAsync();
        var attacker = await f.BreakInAsync();
        var oldAdminFile = await attacker.ReadAsync(Layout.Key(f.Admin.KeyId));
        var web1File = await attacker.ReadAsync(Layout.Key(f.Web1Key));

        var (newAdminKey, removed) = await KeyMaintenance.ChangePasswordAsync(f.Admin, "a new admin password"u8.ToArray(), TestRepo.CheapKdf, f.S.Storage);
        Assert.True(removed);
        var admin = await f.S.OpenAsync("a new admin password");
        Assert.Equal(newAdminKey, admin.KeyId);
        await KeyMaintenance.RemoveAsync(admin, f.S.Storage, f.Web1Key);
        Assert.DoesNotContain(Layout.Key(f.Web1Key), f.Names(Layout.KeysPrefix));

        Assert.Equal(PutOutcome.Created, await attacker.Storage.PutAsync(Layout.Key(f.Admin.KeyId), oldAdminFile));
        Assert.Equal(PutOutcome.Created, await attacker.Storage.PutAsync(Layout.Key(f.Web1Key), web1File));
        Assert.Contains(Layout.Key(f.Admin.KeyId), f.Names(Layout.KeysPrefix));

        await Assert.ThrowsAsync<WrongPasswordException>(() => f.S.OpenAsync(Scenario.Password));
        await Assert.ThrowsAsync<WrongPasswordException>(() => f.S.OpenAsync(Fleet.Web1Password));
        // Not even when the attacker names the replayed key as the one to try first.
        await Assert.ThrowsAsync<WrongPasswordException>(() => Repo.OpenAsync(f.S.Storage, Encoding.UTF8.GetBytes(Scenario.Password),
            options: new OpenOptions { KeyHint = f.Admin.KeyId }));
        // The new password still opens.
        await using var again = await f.S.OpenAsync("a new admin password");
        Assert.Equal(newAdminKey, again.KeyId);
    }

    /// <summary>
    /// Spec 18, attack 8. The attacker plants a key file asking Argon2id for 4 GiB and 100 passes, and 100 junk key
    /// files. The expensive one is refused before Argon2 runs (no gigabytes allocated); with its key hint the admin
    /// opens at the first key file it reads; without one, at most 32 key files are tried before it is asked to name its key.
    /// </summary>
    [Fact]
    public async Task Planted_key_files_cannot_make_opening_expensive()
    {
        await using var f = await Fleet.CreateAsync();
        var attacker = await f.BreakInAsync();
        var expensive = ObjectId.Parse((await attacker.PutAsync(Layout.KeysPrefix, PlantedKeyFile(new Argon2Parameters(Argon2Parameters.MaxMemoryKiB, 100, 1))))[^64..]);
        for (int i = 0; i < 100; i++) await attacker.PutAsync(Layout.KeysPrefix, PlantedKeyFile(TestRepo.CheapKdf));
        Assert.Equal(101, attacker.Storage.Created(Layout.KeysPrefix));
        var adminKey = f.Admin.KeyId;
        var password = Encoding.UTF8.GetBytes(Scenario.Password);

        // The expensive one first (as a hint), the admin's right after it.
        var counting = new LyingStorage(f.S.Storage) { KeyFirst = adminKey };
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await using (var repo = await Repo.OpenAsync(counting, password, f.Clock, options: new OpenOptions { KeyHint = expensive }))
            Assert.Equal(adminKey, repo.KeyId);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < 256L << 20, $"opening allocated {allocated >> 20} MiB: Argon2 ran for the planted key file");
        Assert.Equal(2, counting.KeyReads);

        // With the hint, one key file is read whatever else was planted.
        counting = new LyingStorage(f.S.Storage) { KeyLast = adminKey };
        await using (var repo = await Repo.OpenAsync(counting, password, f.Clock, options: new OpenOptions { KeyHint = adminKey }))
            Assert.Equal(adminKey, repo.KeyId);
        Assert.Equal(1, counting.KeyReads);

        // Without it, and the admin's key listed last, opening stops after 32 and says what to do.
        counting = new LyingStorage(f.S.Storage) { KeyLast = adminKey };
        var e = await Assert.ThrowsAsync<RepositoryException>(() => Repo.OpenAsync(counting, password, f.Clock));
        Assert.Contains("--key", e.Message);
        Assert.Equal(32, counting.KeyReads);
    }

    /// <summary>
    /// Spec 18, attack 8, with key files that do not parse. The attacker plants 300 of them; the admin, on a new machine
    /// (no key hint) and with its key listed after them, reads at most 256 key files and is then told to name its key,
    /// not that the repository is damaged (a planted file's damage is no reason to give up, and no help).
    /// </summary>
    [Fact]
    public async Task Junk_key_files_past_the_read_limit_ask_for_the_key()
    {
        await using var f = await Fleet.CreateAsync();
        var attacker = await f.BreakInAsync();
        for (int i = 0; i < 300; i++) await attacker.PutAsync(Layout.KeysPrefix, RandomNumberGenerator.GetBytes(100));
        Assert.Equal(300, attacker.Storage.Created(Layout.KeysPrefix));
        var counting = new LyingStorage(f.S.Storage) { KeyLast = f.Admin.KeyId };
        var e = await Assert.ThrowsAsync<RepositoryException>(() => Repo.OpenAsync(counting, Encoding.UTF8.GetBytes(Scenario.Password), f.Clock));
        Assert.Contains("--key", e.Message);
        Assert.Equal(Repo.MaxKeyFilesRead, counting.KeyReads);
        await using var named = await Repo.OpenAsync(counting, Encoding.UTF8.GetBytes(Scenario.Password), f.Clock, options: new OpenOptions { KeyHint = f.Admin.KeyId });
        Assert.Equal(f.Admin.KeyId, named.KeyId);
    }

    /// <summary>
    /// The attacker, expecting to be revoked, plants a key file that does not parse. 'key list' and 'key remove' must
    /// still work, so the admin can revoke it; what it writes afterwards counts for nothing.
    /// </summary>
    [Fact]
    public async Task A_junk_key_file_does_not_block_revocation()
    {
        await using var f = await Fleet.CreateAsync();
        var attacker = await f.BreakInAsync();
        await attacker.PutAsync(Layout.KeysPrefix, RandomNumberGenerator.GetBytes(400));
        await attacker.PutAsync(Layout.KeysPrefix, "{\"version\":2}"u8.ToArray());
        Assert.Equal(2, attacker.Storage.Created(Layout.KeysPrefix));

        var keys = await KeyManager.ListAsync(f.Admin);
        Assert.Contains(keys, k => k.Id == f.Web2Key);
        await KeyMaintenance.RemoveAsync(f.Admin, f.S.Storage, f.Web2Key);
        Assert.Single(f.Names(Revocation.Prefix));
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        var late = await f.BackupAsync(attacker.Repo, "web2", Fleet.Content(1));
        var admin = await f.FreshAdminAsync();
        Assert.Equal(SignerTrust.Untrusted, (await admin.Snapshots.LoadAsync(late.SnapshotId)).Header.Trust);
    }

    /// <summary>
    /// A snapshot is a DAG. The attacker writes 40 tree blobs, each listing the one below twice ("a" and "b"): a trusted
    /// snapshot of its own host with 2^40 paths, in a few kilobytes; one more whose bottom file is missing. Check, copy
    /// of everything and repair must each walk every directory once, not every path (the token only turns a regression
    /// into a failure instead of a hang).
    /// </summary>
    [Fact]
    public async Task A_tree_bomb_does_not_stall_check_copy_or_repair()
    {
        await using var f = await Fleet.CreateAsync();
        var web1 = await f.BackupAsync(f.Web1, "web1", Fleet.Content(1));
        var attacker = await f.BreakInAsync();
        async Task<ObjectId> BombAsync(ObjectId bottomContent, string path)
        {
            ObjectId tree;
            await using (var writer = attacker.Repo.StartWriting())
            {
                tree = (await TreeWriter.SaveAsync(writer, [new TreeNode { Name = "f", Type = NodeType.File, Size = 4, Content = [bottomContent] }], default))[0];
                for (int level = 0; level < 40; level++)
                    tree = (await TreeWriter.SaveAsync(writer, [
                        new TreeNode { Name = "a", Type = NodeType.Directory, Content = [tree] },
                        new TreeNode { Name = "b", Type = NodeType.Directory, Content = [tree] }], default))[0];
                await writer.FlushAsync();
            }
            f.Clock.Advance(TimeSpan.FromSeconds(1));
            return await attacker.PutSnapshotAsync(attacker.Info(f.Clock.GetUtcNow(), [tree], path: path));
        }
        ObjectId present;
        await using (var writer = attacker.Repo.StartWriting())
        {
            present = await writer.SaveAsync(BlobType.Data, "boom"u8.ToArray());
            await writer.FlushAsync();
        }
        var intact = await BombAsync(present, "/intact");
        var dangling = await BombAsync(PruneTrustTests.RandomId(), "/dangling");
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var check = await Checker.RunAsync(await f.FreshAdminAsync(), new CheckOptions(), guard.Token);
        Assert.True(check.BlobsChecked < 200, $"check loaded {check.BlobsChecked} trees");
        Assert.Contains(check.Errors, p => p.AffectedSnapshots.Contains(dangling.ToString()));

        var destStorage = new MemoryStorage { TimeProvider = f.Clock };
        await Repo.InitAsync(destStorage, "dest"u8.ToArray(), Scenario.SmallRepo, f.Clock);
        var dest = await f.S.OpenAsync("dest", destStorage);
        var copied = await SnapshotCopier.RunAsync(await f.FreshAdminAsync(), dest, [], new Dedup.Archiver.Backup.BackupProgress(), guard.Token);
        Assert.Contains(copied.Copied, c => c.Source == web1.SnapshotId.ToString());
        Assert.Contains(copied.Copied, c => c.Source == intact.ToString());
        Assert.Contains(copied.Failed, c => c.Source == dangling.ToString());

        var repaired = await Dedup.Maintenance.Repair.RepairSnapshotsAsync(f.Admin, f.S.Storage, forgetOriginals: false, dryRun: false, guard.Token);
        Assert.NotEmpty(Assert.Single(repaired, r => r.Original == dangling.ToString()).LostPaths);
        await f.AssertRestoresAsync(web1.SnapshotId, Fleet.Content(1));
    }

    /// <summary>A key file that parses and is within the reader's hard limits, with a random payload no password opens.</summary>
    private static byte[] PlantedKeyFile(Argon2Parameters kdf) => JsonSerializer.SerializeToUtf8Bytes(new KeyFile
    {
        Version = 2, Kind = "full", Created = DateTimeOffset.UnixEpoch.ToString("O"), Host = "admin", Username = "root",
        SigningPublicKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(65)), Domain = DomainId.Repository.ToString(), Kdf = "argon2id",
        MemoryKiB = kdf.MemoryKiB, Iterations = kdf.Iterations, Parallelism = kdf.Parallelism,
        Salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)),
        Payload = Convert.ToBase64String(RandomNumberGenerator.GetBytes(178)),
    });

    /// <summary>
    /// A store whose listings lie about sizes (every index file at long.MaxValue bytes, plus names that are not IDs), and
    /// that can put one key file first or last in the keys/ listing, counting key file reads.
    /// </summary>
    private sealed class LyingStorage(IStorage inner) : IStorage
    {
        private int _huge, _keyReads;
        public int HugeSizesReported => _huge;
        public int KeyReads => _keyReads;
        public ObjectId? KeyFirst { get; init; }
        public ObjectId? KeyLast { get; init; }
        public string Location => inner.Location;

        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(name, data, cancellationToken);

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
        {
            if (name.StartsWith(Layout.KeysPrefix, StringComparison.Ordinal)) Interlocked.Increment(ref _keyReads);
            return inner.OpenReadAsync(name, offset, length, cancellationToken);
        }

        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var all = new List<StoredObject>();
            await foreach (var o in inner.ListAsync(prefix, cancellationToken)) all.Add(o);
            if (prefix == Layout.KeysPrefix)
            {
                all = all.OrderBy(o => KeyFirst is { } first && o.Name == Layout.Key(first) ? 0 : KeyLast is { } last && o.Name == Layout.Key(last) ? 2 : 1).ToList();
                foreach (var o in all) yield return o;
                yield break;
            }
            if (prefix == Layout.IndexPrefix)
            {
                for (int i = 0; i < 8; i++) yield return new StoredObject($"index/not-an-id-{i}", long.MaxValue, DateTimeOffset.UnixEpoch);
                foreach (var o in all)
                {
                    Interlocked.Increment(ref _huge);
                    yield return o with { Size = long.MaxValue };
                }
                yield break;
            }
            foreach (var o in all) yield return o;
        }
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Check;
using Dedup.Archiver.Restore;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Keys;
using Dedup.Repository.PutOnly;
using Dedup.Storage;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Issue 13 on the real server, through the library: a host whose S3 user may only PutObject (then List+Put, then
/// List+Put+multipart) on the repository prefix backs up a tree and a stream from its enrolment, deduplicates against
/// its newest snapshot from local state, is killed mid-way and resumes, while the admin forgets and prunes; the admin
/// then restores everything byte-identical and check --read-data finds nothing wrong.
/// </summary>
[Collection("S3")]
public sealed class S3PutOnlyTests : S3TestBase
{
    private readonly string _bucket = $"dedup-e2e-po-{Guid.NewGuid():N}"[..30];
    private const string Prefix = "fleet";
    private static readonly byte[] AdminPassword = "admin password"u8.ToArray();
    private static readonly byte[] HostPassword = "db1 password"u8.ToArray();

    [Fact]
    public Task PutObjectOnly() => RunAsync(withList: false, withMultipart: false);

    [Fact]
    public Task ListAndPut() => RunAsync(withList: true, withMultipart: false);

    [Fact]
    public Task ListPutAndMultipart() => RunAsync(withList: true, withMultipart: true);

    private async Task RunAsync(bool withList, bool withMultipart)
    {
        S3Env.EnsurePutOnlyUser();
        await CreateBucketAsync(withList, withMultipart);
        await AssertReadsRefusedAsync(withList);
        var url = $"s3:{S3Env.Endpoint}/{_bucket}/{Prefix}";

        // The admin: a repository, a write-only key for db1, and its enrolment file.
        var adminStorage = Storage(S3Env.Admin, url);
        var enrolment = await InitAndEnrolAsync(adminStorage, url);

        // The host installs it; from here on it opens the repository from local state only.
        var stateDir = Cli.Dir.Combine("state");
        var cacheDir = Cli.Dir.Combine("cache");
        LocalState.Install(stateDir, url, Enrollment.Parse(enrolment, "db1.enrol"));
        var wire = new HostWire(Storage(S3Env.PutOnly, url,
            withMultipart ? new S3StorageOptions { MultipartThreshold = 512 * 1024, PartSize = 5 << 20 } : null));
        Repo OpenHost() => Repo.OpenEnrolled(wire, LocalState.FindEnrollment(stateDir, url)!, HostPassword);
        async Task<BackupResult> Backup(BackupOptions options)
        {
            await using var host = OpenHost();
            return await Archiver.Backup.Archiver.RunAsync(host, options with { Host = "db1", CacheDirectory = cacheDir, StateDirectory = stateDir }, new BackupProgress());
        }
        var src = Cli.Dir.Combine("src");
        long size = TreeFixture.Build(src, seed: 13);
        BackupOptions Tree() => new() { Paths = [src] };
        var dumpBytes = RandomBytes(2 << 20, 7);
        BackupOptions Dump(byte[] bytes) => new() { Stdin = new MemoryStream(bytes), StdinFileName = "db.sql" };

        // 1. First backups: everything is new.
        wire.Reset();
        var first = await Backup(Tree());
        Assert.True(wire.BytesPut >= size, $"the first backup sent {wire.BytesPut} bytes of a {size}-byte tree");
        var firstDump = await Backup(Dump(dumpBytes));
        // Not even what it stored itself can the host read back (S3 lets an object's uploader read it unless a Deny says no).
        var ownPack = (await S3Env.ListAsync(_bucket, Prefix)).Keys.First(k => k.Contains("/data/", StringComparison.Ordinal));
        using (var hostSdk = S3Env.Sdk(S3Env.PutOnly)) await AssertForbiddenAsync(() => hostSdk.GetObjectAsync(_bucket, ownPack));

        // 2. Small edits: only they are uploaded (bytes on the wire, counted below the S3 client).
        File.AppendAllText(Path.Join(src, "small", "script.sh"), "echo changed\n");
        File.WriteAllBytes(Path.Join(src, "new.bin"), RandomBytes(100_000, 8));
        wire.Reset();
        var edited = await Backup(Tree());
        Assert.Equal(1, edited.Snapshot.Summary.FilesChanged);
        Assert.Equal(1, edited.Snapshot.Summary.FilesNew);
        Assert.True(wire.BytesPut < 100_000 + 64 * 1024, $"an edit of ~100 KB sent {wire.BytesPut} bytes");
        wire.Reset();
        var sameDump = await Backup(Dump(dumpBytes));
        Assert.True(wire.BytesPut < 64 * 1024, $"the same stream again sent {wire.BytesPut} bytes");
        Assert.True(sameDump.Snapshot.Summary.BytesAdded < 4096, $"the same stream added {sameDump.Snapshot.Summary.BytesAdded} bytes");

        // 3. Killed after two packs of a big new file were stored, then resumed: those packs are reused.
        var bigPath = Path.Join(src, "big.bin");
        var big = RandomBytes(6 << 20, 9);
        File.WriteAllBytes(bigPath, big);
        wire.Reset();
        wire.KillAfterDataPuts = 2;
        await Assert.ThrowsAnyAsync<Exception>(() => Backup(Tree()));
        Assert.True(wire.Killed, "the kill never fired");
        long storedBeforeKill = wire.DataBytesPut;
        Assert.True(storedBeforeKill >= 2 * 900 * 1024, $"only {storedBeforeKill} bytes of packs were stored before the kill");
        wire.Revive();
        var resumed = await Backup(Tree());
        Assert.True(wire.DataBytesPut <= big.Length - storedBeforeKill + 256 * 1024,
            $"the resumed run sent {wire.DataBytesPut} bytes of packs; the killed one had stored {storedBeforeKill} of {big.Length}");
        await AssertRestoresAsync(url, resumed, src);

        // 4. The admin forgets and prunes while the host keeps backing up. The big file leaves the tree, the admin
        // forgets the snapshots that had it, prune marks its packs and, once the mark expired, deletes them; then the
        // file comes back: the host must upload it again (it is not in the host's newest snapshot), or its snapshot
        // would refer to deleted packs.
        // The host backs up until the store recorded a snapshot without the file 1 s or more after the last with it (a
        // fast run stores several in one second; forget rule 4 keeps every snapshot within 1 s of the newest, and then
        // prune would rightly keep the file's packs). Real backups, not a sleep: usually one or two.
        File.Move(bigPath, Cli.Dir.Combine("big.away"));
        var aways = new List<BackupResult>();
        do aways.Add(await Backup(Tree()));
        while (aways.Count < 30 && await StoredApartAsync(resumed, aways[^1]) < TimeSpan.FromSeconds(1));
        var away = aways[^1];
        Assert.True(await StoredApartAsync(resumed, away) >= TimeSpan.FromSeconds(1), "30 backups were stored within 1 s");
        await using (var admin = await Repo.OpenAsync(adminStorage, AdminPassword))
        {
            var stored = await SnapshotStorageTimesAsync(); // before forget removes any
            var forgot = await Forget.RunAsync(admin, adminStorage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
            // Pinned by ID. The tree's group is first, edited, resumed and the aways; the stream's is the two dumps. --keep-last 1
            // keeps away and the second dump; forget also keeps whatever the store recorded within its 1 s resolution of a
            // writer's newest (spec prune-protocol, forget rule 4: the host deduplicates against the snapshot it knows it
            // stored last, which the store cannot tell apart from one of the same second). This fast run may put the
            // resumed tree and away, or the two dumps, in one second: which of them are, the S3 listing says.
            bool SameSecondAsNewest(BackupResult b, BackupResult newest) => stored[newest.SnapshotId.ToString()] - stored[b.SnapshotId.ToString()] < TimeSpan.FromSeconds(1);
            var expectKept = new[] { away, sameDump }.Concat(new[] { first, edited, resumed }.Concat(aways.SkipLast(1)).Where(b => SameSecondAsNewest(b, away)))
                .Concat(new[] { firstDump }.Where(b => SameSecondAsNewest(b, sameDump))).Select(b => b.SnapshotId.ToString()).ToHashSet();
            var items = forgot.Groups.SelectMany(g => g.Items).ToList();
            Assert.Equal(5 + aways.Count, items.Count);
            Assert.DoesNotContain(resumed.SnapshotId.ToString(), expectKept); // the file's last snapshot goes: prune can reclaim it
            Assert.Equal(expectKept.Order(), items.Where(i => i.Keep).Select(i => i.Id).Order());
            Assert.Equal(new[] { first, edited, resumed, firstDump }.Concat(aways).Select(b => b.SnapshotId.ToString()).Where(id => !expectKept.Contains(id)).Order(),
                items.Where(i => !i.Keep).Select(i => i.Id).Order());
            Assert.Equal(5 + aways.Count - expectKept.Count, forgot.Removed);
            Assert.Equal(["last"], items.Single(i => i.Id == away.SnapshotId.ToString()).Reasons);
            Assert.Equal(["last"], items.Single(i => i.Id == sameDump.SnapshotId.ToString()).Reasons);
            foreach (var kept in items.Where(i => i.Keep && i.Id != away.SnapshotId.ToString() && i.Id != sameDump.SnapshotId.ToString()))
                Assert.Equal(["newest of writer"], kept.Reasons);
            // Removed for real: their objects are gone, the kept ones are there.
            var left = await SnapshotStorageTimesAsync();
            Assert.Equal(expectKept.Order(), left.Keys.Order());
            var marked = await Pruner.RunAsync(admin, adminStorage, new PruneOptions());
            Assert.True(marked.PacksMarked >= 4, $"prune marked {marked.PacksMarked} packs");
        }
        wire.Reset();
        var during = await Backup(Tree()); // between prune's mark and its delete
        Assert.True(wire.BytesPut < 64 * 1024, $"an unchanged tree sent {wire.BytesPut} bytes");
        await using (var later = await Repo.OpenAsync(adminStorage, AdminPassword, new OffsetClock(TimeSpan.FromHours(49))))
        {
            var deleted = await Pruner.RunAsync(later, adminStorage, new PruneOptions());
            Assert.True(deleted.PacksDeleted >= 4, $"prune 49 h later deleted {deleted.PacksDeleted} packs");
        }
        File.Move(Cli.Dir.Combine("big.away"), bigPath);
        wire.Reset();
        var back = await Backup(Tree());
        Assert.True(wire.DataBytesPut >= big.Length, $"the file that came back sent only {wire.DataBytesPut} bytes: it was deduplicated against deleted packs");
        wire.Reset();
        var unchanged = await Backup(Tree());
        Assert.True(wire.BytesPut < 64 * 1024, $"an unchanged tree sent {wire.BytesPut} bytes");

        if (withMultipart) // the packs really went up in parts (a multipart ETag ends in -<part count>)
            Assert.Contains((await S3Env.ListAsync(_bucket, Prefix)).Where(o => o.Key.Contains("/data/", StringComparison.Ordinal)), o => o.Value.ETag.Contains('-'));

        // 5. Nothing the host wrote and the admin kept is lost.
        await AssertRestoresAsync(url, back, src);
        await AssertRestoresAsync(url, unchanged, src);
        await using (var admin = await Repo.OpenAsync(adminStorage, AdminPassword))
        {
            await admin.LoadIndexAsync();
            var target = Cli.Dir.Combine("dump-" + sameDump.SnapshotId.ToShortString());
            await Restorer.RunAsync(admin, await admin.Snapshots.LoadAsync(sameDump.SnapshotId), new RestoreOptions { Target = target }, new RestoreProgress());
            Assert.Equal(dumpBytes, File.ReadAllBytes(Path.Join(target, "db.sql")));
            var check = await Checker.RunAsync(admin, new CheckOptions { ReadData = true });
            Assert.Empty(check.Errors);
            Assert.True(check.SnapshotsChecked >= 4);
        }
        // The host's own list, from local state.
        var mine = LocalState.ListSnapshots(stateDir, Enrollment.Parse(enrolment, "db1.enrol").RepositoryId);
        Assert.Equal(8 + aways.Count, mine.Count); // every backup that finished, the killed one not
        Assert.Equal([first.SnapshotId.ToString(), during.SnapshotId.ToString(), unchanged.SnapshotId.ToString()],
            mine.Select(m => m.Id).Where(id => id == first.SnapshotId.ToString() || id == during.SnapshotId.ToString() || id == unchanged.SnapshotId.ToString()));
        Assert.Equal(0, wire.ReadsAttempted);
    }

    /// <summary>How much later the store recorded <paramref name="later"/>'s snapshot than <paramref name="earlier"/>'s.</summary>
    private async Task<TimeSpan> StoredApartAsync(BackupResult earlier, BackupResult later)
    {
        var stored = await SnapshotStorageTimesAsync();
        return stored[later.SnapshotId.ToString()] - stored[earlier.SnapshotId.ToString()];
    }

    /// <summary>The time the S3 server recorded for each snapshot object (whole seconds), by snapshot ID, as the admin lists them.</summary>
    private async Task<Dictionary<string, DateTime>> SnapshotStorageTimesAsync()
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = Prefix + "/snapshots/" });
        Assert.False(listed.IsTruncated == true);
        return (listed.S3Objects ?? []).ToDictionary(o => o.Key[(o.Key.LastIndexOf('/') + 1)..], o => o.LastModified!.Value.ToUniversalTime());
    }

    /// <summary>The admin's side: a repository, a write-only key for db1, and its enrolment file's bytes.</summary>
    private static async Task<byte[]> InitAndEnrolAsync(S3Storage adminStorage, string url)
    {
        await Repo.InitAsync(adminStorage, AdminPassword, TestRepo.Options);
        await using var admin = await Repo.OpenAsync(adminStorage, AdminPassword);
        var keyId = await KeyManager.AddAsync(admin, HostPassword, KeyKind.WriteOnly, "db1", "svc", TestRepo.CheapKdf);
        return (await Enrollment.CreateAsync(admin, keyId, url)).Serialize();
    }

    /// <summary>
    /// "A lost local state means a full upload of the content, not a failure. Where the credential may list or read the
    /// host's own index files, the state is rebuilt from them instead." The put-only user first holds the policy
    /// 'dedup policy --role write-only' prints (list; get of config, index, marks, revocations; put): with
    /// --state-from-index, the backup after its state was lost sends next to nothing (it read its own index), and the
    /// state is whole again for the next run, which reads nothing. Without the flag it sends no read at all. Then the
    /// bucket's policy becomes 'put-only --with-list': the host loses its state again, the store refuses the reads,
    /// and the run uploads everything, without failing; the admin restores each snapshot.
    /// </summary>
    [Fact]
    public async Task LostState_RebuiltFromOwnIndex_WhereTheCredentialMayRead()
    {
        S3Env.EnsurePutOnlyUser();
        using var s3 = S3Env.Sdk(S3Env.Admin);
        await S3Users.CreateBucketAsync(s3, _bucket, Printed(["--role", "write-only"]), S3Env.PutOnlyUser);
        var url = $"s3:{S3Env.Endpoint}/{_bucket}/{Prefix}";
        var enrolment = Enrollment.Parse(await InitAndEnrolAsync(Storage(S3Env.Admin, url), url), "db1.enrol");
        var stateDir = Cli.Dir.Combine("state");
        var cacheDir = Cli.Dir.Combine("cache");
        LocalState.Install(stateDir, url, enrolment);
        var wire = new HostWire(Storage(S3Env.PutOnly, url));
        var src = Cli.Dir.Combine("src");
        long size = TreeFixture.Build(src, seed: 21);
        async Task<BackupResult> Backup(bool stateFromIndex)
        {
            wire.Reset();
            await using var host = Repo.OpenEnrolled(wire, LocalState.FindEnrollment(stateDir, url)!, HostPassword);
            return await Archiver.Backup.Archiver.RunAsync(host, new BackupOptions
            {
                Paths = [src], Host = "db1", CacheDirectory = cacheDir, StateDirectory = stateDir, StateFromIndex = stateFromIndex,
            }, new BackupProgress());
        }
        void LoseState()
        {
            Directory.Delete(Path.Join(stateDir, enrolment.RepositoryId.ToString()), recursive: true);
            Directory.Delete(cacheDir, recursive: true); // the tree cache too: every file is read and chunked again
        }

        var first = await Backup(stateFromIndex: true);
        Assert.True(wire.DataBytesPut >= size, $"the first backup sent {wire.DataBytesPut} bytes of packs for a {size}-byte tree");
        Assert.True(first.StateRebuiltFromIndex, "with no state yet and a credential that may read, the first run read its (empty) index");
        var readsBefore = wire.ReadsAttempted;
        Assert.True(readsBefore > 0);

        LoseState();
        var rebuilt = await Backup(stateFromIndex: true);
        Assert.True(rebuilt.StateRebuiltFromIndex);
        Assert.True(wire.ReadsAttempted > readsBefore, "the run that rebuilt its state read nothing");
        Assert.True(wire.DataBytesPut < 64 * 1024, $"after a lost state, a host that may read its index sent {wire.DataBytesPut} bytes of packs for an unchanged tree");
        Assert.True(rebuilt.Snapshot.Summary.BytesAdded < 4096, $"it added {rebuilt.Snapshot.Summary.BytesAdded} bytes");
        Assert.True(File.Exists(Path.Join(stateDir, enrolment.RepositoryId.ToString(), "snapshots.jsonl")));
        await AssertRestoresAsync(url, rebuilt, src); // what it left out is really there

        // The state is whole again: the next run deduplicates from it and reads nothing, flag or not.
        File.WriteAllBytes(Path.Join(src, "new.bin"), RandomBytes(200_000, 22));
        readsBefore = wire.ReadsAttempted;
        var next = await Backup(stateFromIndex: true);
        Assert.Null(next.StateRebuiltFromIndex);
        Assert.Equal(readsBefore, wire.ReadsAttempted);
        Assert.True(wire.DataBytesPut < 200_000 + 64 * 1024, $"one new 200 KB file sent {wire.DataBytesPut} bytes of packs");

        // Without the flag a lost state reads nothing and uploads everything (P5).
        LoseState();
        var plain = await Backup(stateFromIndex: false);
        Assert.Null(plain.StateRebuiltFromIndex);
        Assert.Equal(readsBefore, wire.ReadsAttempted);
        Assert.True(wire.DataBytesPut >= size, $"a lost state without --state-from-index sent only {wire.DataBytesPut} bytes");

        // List and put only: the index cannot be read; the run says so and uploads everything, and does not fail.
        await s3.PutBucketPolicyAsync(_bucket, Printed(["--role", "put-only", "--with-list"], grantTo: S3Env.PutOnlyUser).ToJsonString());
        LoseState();
        var refused = await Backup(stateFromIndex: true);
        Assert.False(refused.StateRebuiltFromIndex, "the store refused the reads, yet the run says it rebuilt its state");
        Assert.True(wire.ReadsAttempted > readsBefore);
        Assert.True(wire.DataBytesPut >= size, $"a refused rebuild sent only {wire.DataBytesPut} bytes");

        foreach (var b in new[] { next, plain, refused }) await AssertRestoresAsync(url, b, src);
    }

    /// <summary>'dedup policy --bucket B --prefix P ARGS' as printed; with <paramref name="grantTo"/>, granted to that user plus the admin.</summary>
    private JsonObject Printed(string[] args, string? grantTo = null)
    {
        var printed = Cli.Run(["policy", "--bucket", _bucket, "--prefix", Prefix, .. args], withPassword: false);
        Assert.True(printed.ExitCode == 0, printed.ToString());
        var policy = JsonNode.Parse(printed.Stdout)!.AsObject();
        return grantTo is null ? policy : S3Users.Grant(policy, _bucket, grantTo);
    }

    private async Task AssertRestoresAsync(string url, BackupResult backup, string src)
    {
        await using var admin = await Repo.OpenAsync(Storage(S3Env.Admin, url), AdminPassword);
        await admin.LoadIndexAsync();
        var target = Cli.Dir.Combine("restore-" + backup.SnapshotId.ToShortString());
        await Restorer.RunAsync(admin, await admin.Snapshots.LoadAsync(backup.SnapshotId), new RestoreOptions { Target = target }, new RestoreProgress());
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
    }

    private static S3Storage Storage(S3Credentials who, string url, S3StorageOptions? options = null) =>
        new(Dedup.Storage.S3.S3Location.Parse(url), options ?? new S3StorageOptions(), new BasicAWSCredentials(who.Key, who.Secret));

    /// <summary>GET, HEAD, DELETE (and LIST, unless granted) of the prefix are refused to the put-only user.</summary>
    private async Task AssertReadsRefusedAsync(bool withList)
    {
        using var admin = S3Env.Sdk(S3Env.Admin);
        using var host = S3Env.Sdk(S3Env.PutOnly);
        var canary = Prefix + "/canary";
        await admin.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = canary, ContentBody = "canary" });
        await AssertForbiddenAsync(() => host.GetObjectAsync(_bucket, canary));
        await AssertForbiddenAsync(() => host.GetObjectMetadataAsync(_bucket, canary));
        await AssertForbiddenAsync(() => host.DeleteObjectAsync(_bucket, canary));
        var list = new ListObjectsV2Request { BucketName = _bucket, Prefix = Prefix + "/" };
        if (withList) Assert.Contains((await host.ListObjectsV2Async(list)).S3Objects ?? [], o => o.Key == canary);
        else await AssertForbiddenAsync(() => host.ListObjectsV2Async(list));
        // The delete was refused for real: the canary is still there.
        using (var still = await admin.GetObjectAsync(_bucket, canary)) Assert.Equal("canary", await new StreamReader(still.ResponseStream).ReadToEndAsync());
        await admin.DeleteObjectAsync(_bucket, canary);
    }

    private static async Task AssertForbiddenAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<AmazonS3Exception>(call);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, e.StatusCode);
    }

    private async Task CreateBucketAsync(bool withList, bool withMultipart)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        await S3Users.CreateBucketAsync(s3, _bucket, Printed(["--role", "put-only", .. withList ? new[] { "--with-list" } : [], .. withMultipart ? new[] { "--with-multipart" } : []]), S3Env.PutOnlyUser);
    }

    /// <summary>
    /// The README's fleet section as a new user follows it, with the CLI: the admin adds a key with --enroll and prints the
    /// put-only policy; the host enrolls, backs up a tree and a stream, lists its snapshots, is refused a restore in one
    /// line; the admin restores and sees the fleet.
    /// </summary>
    [Fact]
    public async Task ReadmeFlow_WithTheCli()
    {
        S3Env.EnsurePutOnlyUser();
        await CreateBucketAsync(withList: false, withMultipart: false);
        var url = $"s3:{S3Env.Endpoint}/{_bucket}/{Prefix}";
        var admin = S3Env.Admin;
        Init(admin, url);
        var pass = Cli.Dir.Combine("db1.pass");
        File.WriteAllText(pass, "db1 password");
        var enrol = Cli.Dir.Combine("db1.enrol");
        Ok(admin, url, ["key", "add", "--write-only", "--host", "db1", "--new-password-file", pass, "--enroll", enrol, .. DedupCli.FastKdf]);
        var host = new Dictionary<string, string?>
        {
            ["DEDUP_PASSWORD_FILE"] = pass, ["DEDUP_STATE_DIR"] = Cli.Dir.Combine("db1-state"), ["DEDUP_CACHE_DIR"] = Cli.Dir.Combine("db1-cache"),
        };
        Ok(S3Env.PutOnly, url, ["enroll", enrol], host);
        var src = Cli.Dir.Combine("src");
        TreeFixture.Build(src, seed: 5);
        var first = System.Text.Json.JsonDocument.Parse(LastLine(Ok(S3Env.PutOnly, url, ["backup", src, "--json"], host).Stdout)).RootElement;
        var stream = RandomBytes(300_000, 3);
        var piped = Cli.Run(["-r", url, "backup", "--stdin", "--stdin-filename", "db.sql", "--json"], S3Env.PutOnly.Env(host), stdin: stream);
        Assert.True(piped.ExitCode == 0, piped.ToString());
        var second = System.Text.Json.JsonDocument.Parse(LastLine(Ok(S3Env.PutOnly, url, ["backup", src, "--json"], host).Stdout)).RootElement;
        Assert.True(second.GetProperty("bytes_added").GetInt64() < 4096, second.ToString());
        var listed = Ok(S3Env.PutOnly, url, ["snapshots"], host).Stdout;
        Assert.Contains(first.GetProperty("snapshot_id").GetString()![..8], listed);
        Assert.Contains("3 snapshots this host stored", listed);
        AssertOneLineError(Run(S3Env.PutOnly, url, ["restore", "latest", "--target", Cli.Dir.Combine("no")], host), "can only upload", "admin host");
        AssertOneLineError(Run(S3Env.PutOnly, url, ["check"], host), "can only upload");

        var target = Cli.Dir.Combine("restored");
        Ok(admin, url, ["restore", second.GetProperty("snapshot_id").GetString()!, "--target", target]);
        TreeFixture.AssertSame(src, Path.Join(target, Path.GetFullPath(src)));
        // The admin dumps what the host stored, byte for byte: the stream, and the tree's largest file. The host cannot.
        var pipedId = System.Text.Json.JsonDocument.Parse(LastLine(piped.Stdout)).RootElement.GetProperty("snapshot_id").GetString()!;
        Assert.Equal(stream, Ok(admin, url, ["dump", pipedId, "/db.sql"]).StdoutBytes);
        var large = Path.Join(Path.GetFullPath(src), "large", "random.bin");
        var dumped = Ok(admin, url, ["dump", second.GetProperty("snapshot_id").GetString()!, large]).StdoutBytes;
        Assert.Equal(3 * 1024 * 1024 + 17, dumped.Length);
        Assert.Equal(File.ReadAllBytes(large), dumped);
        AssertOneLineError(Run(S3Env.PutOnly, url, ["dump", "latest", large], host), "can only upload");
        var status = Run(admin, url, ["status", "--json"]);
        Assert.True(status.ExitCode == 0, status.ToString());
        var rows = System.Text.Json.JsonDocument.Parse(status.Stdout).RootElement;
        Assert.False(rows.GetProperty("attention").GetBoolean());
        Assert.Equal(2, rows.GetProperty("writers").GetArrayLength()); // the tree and the stream of db1
    }

    /// <summary>backup --json streams status lines before its summary, which is the last line.</summary>
    private static string LastLine(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];

    public override void Dispose()
    {
        S3Env.RemoveBucket(_bucket, Prefix);
        base.Dispose();
    }

    private sealed class OffsetClock(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }

    /// <summary>
    /// The host's side of the wire: counts the bytes it PUTs, and can "kill" the host after N packs were stored (every
    /// later call fails, as nothing runs after a kill; the library cannot be killed half way through a call).
    /// </summary>
    private sealed class HostWire(IStorage inner) : IStorage
    {
        private long _bytes, _dataBytes, _reads;
        private int _dataPuts;
        public int? KillAfterDataPuts { get; set; }
        public bool Killed { get; private set; }
        public long BytesPut => Interlocked.Read(ref _bytes);
        public long DataBytesPut => Interlocked.Read(ref _dataBytes);
        public long ReadsAttempted => Interlocked.Read(ref _reads);
        public string Location => inner.Location;

        public void Reset()
        {
            _bytes = _dataBytes = 0;
            _dataPuts = 0;
        }

        public void Revive()
        {
            Killed = false;
            KillAfterDataPuts = null;
            Reset();
        }

        public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (Killed) throw new StorageUnavailableException("killed");
            var outcome = await inner.PutAsync(name, data, cancellationToken);
            Interlocked.Add(ref _bytes, data.Length);
            if (name.StartsWith("data/", StringComparison.Ordinal))
            {
                Interlocked.Add(ref _dataBytes, data.Length);
                if (Interlocked.Increment(ref _dataPuts) >= KillAfterDataPuts) Killed = true;
            }
            return outcome;
        }

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.OpenReadAsync(name, offset, length, cancellationToken);
        }

        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.StatAsync(name, cancellationToken);
        }

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.ListAsync(prefix, cancellationToken);
        }
    }
}

using System.Text;
using Dedup.Archiver.Backup;
using Dedup.Format;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Keys;
using Dedup.Repository.PutOnly;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Backup;

/// <summary>
/// A put-only host's local state and its crash windows (spec prune-protocol "Put-only writers"), fast, in memory.
/// The same host against the real S3 server with PutObject-only credentials: Dedup.EndToEnd S3PutOnlyTests.
/// </summary>
public sealed class PutOnlyHostTests : IDisposable
{
    private static readonly byte[] HostPassword = "db1 password"u8.ToArray();
    private readonly TempDir _dir = new("dedup-putonly");

    private static ObjectId Id(int n) => ObjectId.HashOf(BitConverter.GetBytes(n));

    private static void AssertIds(HashSet<ObjectId> actual, params int[] expected) =>
        Assert.True(actual.SetEquals(expected.Select(Id)), $"{actual.Count} IDs, not those of {string.Join(',', expected)}");

    [Fact]
    public void UnknownCommitOutcome_IsSettledAsTheIntersection_AndStaysSettled()
    {
        var state = LocalState.Open(_dir.Path, Id(0), "db1", ["/srv"]);
        Assert.Empty(state.LoadNewest(out var settled));
        Assert.False(settled);
        state.BeginCommit([Id(1), Id(2), Id(3)]);
        state.EndCommit(new LocalSnapshot("s1", DateTimeOffset.UnixEpoch, "db1", ["/srv"], [], 0, 3, 3));
        AssertIds(state.LoadNewest(out settled), 1, 2, 3);
        Assert.False(settled);

        state.BeginCommit([Id(2), Id(3), Id(4)]); // killed before its PUT was confirmed
        AssertIds(state.LoadNewest(out settled), 2, 3);
        Assert.True(settled);
        // Settled for good: a later unknown outcome intersects with what is safe, not with the old snapshot.
        AssertIds(state.LoadNewest(out settled), 2, 3);
        Assert.False(settled);
        state.BeginCommit([Id(1), Id(3), Id(5)]);
        AssertIds(state.LoadNewest(out _), 3);

        state.BeginCommit([Id(7)]);
        state.EndCommit(new LocalSnapshot("s4", DateTimeOffset.UnixEpoch, "db1", ["/srv"], [], 0, 1, 1));
        AssertIds(state.LoadNewest(out _), 7);
        Assert.Equal(["s1", "s4"], LocalState.ListSnapshots(_dir.Path, Id(0)).Select(s => s.Id));
    }

    [Fact]
    public void DamagedState_CountsAsNone()
    {
        var state = LocalState.Open(_dir.Path, Id(0), "db1", ["/srv"]);
        state.BeginCommit([Id(1), Id(2)]);
        state.EndCommit(new LocalSnapshot("s1", DateTimeOffset.UnixEpoch, "db1", ["/srv"], [], 0, 2, 2));
        var file = Directory.GetFiles(_dir.Path, "newest.ids", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[12] ^= 1;
        File.WriteAllBytes(file, bytes);
        Assert.Empty(state.LoadNewest(out _));
        File.WriteAllBytes(file, bytes[..20]);
        Assert.Empty(state.LoadNewest(out _));
    }

    [Fact]
    public void ResumeWindow_IsPrunesDefaultGraceMinusMaxBackupAge()
    {
        var defaults = new PruneOptions();
        Assert.Equal(defaults.Grace - defaults.MaxBackupAge, PutOnlyRules.ResumeWindow);
        Assert.Equal(TimeSpan.FromHours(24), PutOnlyRules.ResumeWindow);
    }

    [Fact]
    public async Task Prune_says_a_short_grace_is_unsafe_with_put_only_hosts()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var shortGrace = await Pruner.RunAsync(t.Repo, t.Storage, new PruneOptions { Grace = TimeSpan.FromHours(12), DryRun = true });
        Assert.Contains(shortGrace.Notes, n => n.Contains("unsafe with put-only hosts", StringComparison.Ordinal));
        var defaults = await Pruner.RunAsync(t.Repo, t.Storage, new PruneOptions { DryRun = true });
        Assert.DoesNotContain(defaults.Notes, n => n.Contains("put-only", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Enrollment_RoundTrips_AndRefusesTamperingAndFullKeys()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var keyId = await KeyManager.AddAsync(t.Repo, HostPassword, KeyKind.WriteOnly, "db1", "svc", TestRepo.CheapKdf);
        var enrolment = await Enrollment.CreateAsync(t.Repo, keyId, "s3:example/bucket");
        var parsed = Enrollment.Parse(enrolment.Serialize(), "db1.enrol");
        Assert.Equal(keyId, parsed.KeyId);
        Assert.Equal("s3:example/bucket", parsed.RepositoryUrl);
        await using (var host = Repo.OpenEnrolled(t.Storage, parsed, HostPassword))
        {
            Assert.True(host.IsPutOnly);
            Assert.Equal(KeyKind.WriteOnly, host.Keys.Kind);
            await Assert.ThrowsAsync<PutOnlyHostException>(() => host.LoadIndexAsync());
        }
        Assert.Throws<Dedup.Repository.WrongPasswordException>(() => Repo.OpenEnrolled(t.Storage, parsed, "wrong"u8.ToArray()));

        var tampered = Encoding.UTF8.GetString(enrolment.Serialize()).Replace(keyId.ToString(), Id(9).ToString());
        var e = Assert.Throws<Dedup.Repository.RepositoryException>(() => Enrollment.Parse(Encoding.UTF8.GetBytes(tampered), "db1.enrol"));
        Assert.Contains("does not match its key ID", e.Message);
        Assert.Throws<Dedup.Repository.RepositoryException>(() => Enrollment.Parse("{\"version\":2}"u8, "x"));
        Assert.Throws<Dedup.Repository.RepositoryException>(() => Enrollment.Parse("not json"u8, "x"));

        var full = await Enrollment.CreateAsync(t.Repo, t.Repo.KeyId, null);
        var refused = Assert.Throws<Dedup.Repository.RepositoryException>(() => Repo.OpenEnrolled(t.Storage, full, Encoding.UTF8.GetBytes(TestRepo.Password)));
        Assert.Contains("write-only", refused.Message);
    }

    /// <summary>
    /// The snapshot PUT lands but the host never learns it (killed, or the response lost). The next run must deduplicate
    /// only against blobs of BOTH the old and the new snapshot: either may be the newest in the repository. Old is the
    /// first half of X; new is X's first half plus Y. Old: X. The next run backs up X + Y: it must upload X's second half
    /// (only in the old snapshot, which forget may remove) and Y (only in the new one, which may not exist).
    /// </summary>
    [Fact]
    public async Task SnapshotPutOfUnknownOutcome_NextRunDeduplicatesOnlyAgainstBoth()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var keyId = await KeyManager.AddAsync(t.Repo, HostPassword, KeyKind.WriteOnly, "db1", "svc", TestRepo.CheapKdf);
        var enrolment = await Enrollment.CreateAsync(t.Repo, keyId, null);
        var wire = new LosesSnapshotResponse(t.Storage);
        var x = new byte[1 << 20];
        var y = new byte[256 << 10];
        new Random(1).NextBytes(x);
        new Random(2).NextBytes(y);
        async Task<BackupResult> Backup(byte[] content)
        {
            await using var host = Repo.OpenEnrolled(wire, enrolment, HostPassword);
            return await Archiver.Backup.Archiver.RunAsync(host, new BackupOptions
            {
                Host = "db1", Stdin = new MemoryStream(content), StdinFileName = "db.sql", StateDirectory = _dir.Combine("state"), CacheDirectory = _dir.Combine("cache"),
            }, new BackupProgress());
        }
        await Backup(x);
        wire.LoseNextSnapshotResponse = true;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => Backup([.. x.AsSpan(0, x.Length / 2), .. y]));
        Assert.False(wire.LoseNextSnapshotResponse, "the snapshot PUT never happened");
        Assert.Equal(2, await CountAsync(t.Storage, "snapshots/")); // it did land

        var next = await Backup([.. x, .. y]);
        long mustUpload = x.Length / 2 + y.Length;
        Assert.True(next.Snapshot.Summary.BytesAdded >= mustUpload * 9 / 10,
            $"after an unknown outcome the run added {next.Snapshot.Summary.BytesAdded} bytes; X's second half and Y are {mustUpload}");
        // Confirmed this time: the same content again adds (almost) nothing.
        var again = await Backup([.. x, .. y]);
        Assert.True(again.Snapshot.Summary.BytesAdded < 64 * 1024, $"{again.Snapshot.Summary.BytesAdded}");
    }

    private static async Task<int> CountAsync(IStorage storage, string prefix)
    {
        int n = 0;
        await foreach (var _ in storage.ListAsync(prefix)) n++;
        return n;
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Stores a snapshot, then throws as if the response was lost.</summary>
    private sealed class LosesSnapshotResponse(IStorage inner) : IStorage
    {
        public bool LoseNextSnapshotResponse { get; set; }
        public string Location => inner.Location;

        public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            var outcome = await inner.PutAsync(name, data, cancellationToken);
            if (LoseNextSnapshotResponse && name.StartsWith("snapshots/", StringComparison.Ordinal))
            {
                LoseNextSnapshotResponse = false;
                throw new StorageUnavailableException("response lost");
            }
            return outcome;
        }

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
            inner.OpenReadAsync(name, offset, length, cancellationToken);

        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
    }
}

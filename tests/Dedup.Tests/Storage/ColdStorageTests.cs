using Dedup.Storage;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// Storage classes on the real S3 server (RGW stores GLACIER and reports it in HEAD and List), and archive semantics from
/// ArchiveEmulatingStorage layered on it (an emulation: RGW keeps GLACIER objects readable and has no RestoreObject).
/// </summary>
public sealed class ColdStorageTests : IAsyncLifetime
{
    private readonly S3Location _location = S3TestEnvironment.FreshLocation(purpose: "cold");
    private readonly TempDir _dir = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await S3TestEnvironment.CleanUpAsync(_location);
        _dir.Dispose();
    }

    private S3Storage Glacier(long multipartThreshold = 64L << 20) =>
        S3TestEnvironment.Storage(_location, S3TestEnvironment.Admin, new S3StorageOptions { StorageClass = "GLACIER", MultipartThreshold = multipartThreshold, PartSize = 5 << 20 });

    [Fact]
    public async Task Only_puts_hinted_rarely_read_get_the_storage_class_also_through_every_wrapper_and_multipart()
    {
        using var s3 = Glacier(multipartThreshold: 6 << 20);
        IStorage wrapped = new PutOnlyStorage(((IMaintenanceStorage)s3).WithConcurrencyLimit(2)
            .WithBandwidthLimit(new BandwidthLimits(1L << 40, 1L << 40)).WithRetries());
        await wrapped.PutAsync("data/aa/hot", new byte[100]);
        await wrapped.PutAsync("data/aa/cold", new byte[100], PutHint.RarelyRead);
        await wrapped.PutAsync("data/aa/cold-multipart", new byte[7 << 20], PutHint.RarelyRead);
        await wrapped.PutAsync("index/plain", new byte[100], PutHint.None);

        Assert.Equal(new ArchiveState(ArchiveStatus.Hot, null, 100), await Normalized(s3, "data/aa/hot"));
        Assert.Equal(new ArchiveState(ArchiveStatus.Archived, "GLACIER", 100), await s3.GetArchiveStateAsync("data/aa/cold"));
        Assert.Equal(new ArchiveState(ArchiveStatus.Archived, "GLACIER", 7 << 20), await s3.GetArchiveStateAsync("data/aa/cold-multipart"));
        Assert.Equal(ArchiveStatus.Hot, (await s3.GetArchiveStateAsync("index/plain")).Status);
        var listed = new List<string>();
        await foreach (var (o, c) in s3.ListNonDefaultClassAsync("")) listed.Add($"{o.Name} {c}");
        Assert.Equal(["data/aa/cold GLACIER", "data/aa/cold-multipart GLACIER"], listed.Order());
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => s3.GetArchiveStateAsync("data/aa/absent"));
    }

    /// <summary>RGW may or may not name STANDARD in HEAD; both mean the default class.</summary>
    private static async Task<ArchiveState> Normalized(S3Storage s3, string name)
    {
        var s = await s3.GetArchiveStateAsync(name);
        return s.StorageClass == "STANDARD" ? s with { StorageClass = null } : s;
    }

    [Fact]
    public async Task The_emulation_makes_archived_objects_unreadable_until_a_retrieval_has_had_its_time_and_for_its_days_only()
    {
        using var s3 = Glacier();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var state = _dir.Combine("emulation");
        var emulated = new ArchiveEmulatingStorage(s3, state, clock);
        var bytes = new byte[1000];
        new Random(7).NextBytes(bytes);
        await emulated.PutAsync("data/bb/pack", bytes, PutHint.RarelyRead);
        await emulated.PutAsync("data/bb/tree", new byte[10]);

        // The real server still serves it: the emulation is what refuses.
        using (var real = await s3.OpenReadAsync("data/bb/pack")) Assert.Equal(bytes, await ReadAll(real));
        var refused = await Assert.ThrowsAsync<ObjectArchivedException>(() => emulated.OpenReadAsync("data/bb/pack"));
        Assert.Equal(("data/bb/pack", "GLACIER"), (refused.Name, refused.StorageClass));
        using (var hot = await emulated.OpenReadAsync("data/bb/tree")) Assert.Equal(10, (await ReadAll(hot)).Length);

        await emulated.RequestRestoreAsync("data/bb/pack", RetrievalTier.Standard, days: 3);
        await emulated.RequestRestoreAsync("data/bb/tree", RetrievalTier.Standard, days: 3); // hot: left alone
        Assert.Equal(["data/bb/pack"], ArchiveEmulatingStorage.RequestedNames(state));
        Assert.Equal(ArchiveStatus.Restoring, (await emulated.GetArchiveStateAsync("data/bb/pack")).Status);
        clock.Advance(TimeSpan.FromHours(4));
        // Asking again while it runs changes nothing (RestoreAlreadyInProgress is success): still 5 h from the first request.
        await emulated.RequestRestoreAsync("data/bb/pack", RetrievalTier.Bulk, days: 1);
        clock.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<ObjectArchivedException>(() => emulated.OpenReadAsync("data/bb/pack"));
        clock.Advance(TimeSpan.FromSeconds(1));
        var restored = await emulated.GetArchiveStateAsync("data/bb/pack");
        Assert.Equal(new ArchiveState(ArchiveStatus.Restored, "GLACIER", 1000, clock.GetUtcNow() + TimeSpan.FromDays(3)), restored);
        using (var thawed = await emulated.OpenReadAsync("data/bb/pack")) Assert.Equal(bytes, await ReadAll(thawed));

        // A new process (a new instance on the same state directory) sees the same retrieval.
        var again = new ArchiveEmulatingStorage(s3, state, clock);
        Assert.Equal(ArchiveStatus.Restored, (await again.GetArchiveStateAsync("data/bb/pack")).Status);
        clock.Advance(TimeSpan.FromDays(3));
        Assert.Equal(ArchiveStatus.Archived, (await again.GetArchiveStateAsync("data/bb/pack")).Status);
        await Assert.ThrowsAsync<ObjectArchivedException>(() => again.OpenReadAsync("data/bb/pack"));
    }

    [Fact]
    public async Task The_emulated_clock_moves_only_when_auto_and_frozen_stands_still()
    {
        var state = _dir.Combine("clock");
        var clock = new EmulatedArchiveClock(state);
        EmulatedArchiveClock.Set(state, "auto", TimeSpan.Zero);
        var before = clock.GetUtcNow();
        // An auto clock fires at once and moves on by the delay (the bound only stops a broken clock hanging the test).
        await Task.Delay(TimeSpan.FromHours(5), clock).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(clock.GetUtcNow() - before >= TimeSpan.FromHours(5));
        EmulatedArchiveClock.Set(state, "frozen", TimeSpan.FromHours(1));
        var frozenAt = File.ReadAllText(Path.Combine(state, "clock"));
        var waiting = Task.Delay(TimeSpan.FromSeconds(1), clock);
        // Frozen: the timer is created inert (nothing queued), and the clock file is not moved.
        Assert.False(waiting.IsCompleted);
        Assert.Equal(frozenAt, File.ReadAllText(Path.Combine(state, "clock")));
        Assert.InRange(clock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
    }

    /// <summary>The attacker's patched client for spec threat 39: every put asks for the cold class, tree packs included.</summary>
    private sealed class EverythingColdClient(IMaintenanceStorage inner) : IMaintenanceStorage
    {
        public string Location => inner.Location;
        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
            inner.PutAsync(name, data, name.StartsWith("data/", StringComparison.Ordinal) ? PutHint.RarelyRead : PutHint.None, cancellationToken);
        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
            inner.OpenReadAsync(name, offset, length, cancellationToken);
        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);
        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
        public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);
        public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
            inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);
    }

    /// <summary>
    /// Spec threat 39 (open): a host with a patched client puts its tree packs in GLACIER too. Reading that snapshot's
    /// trees then fails with ObjectArchivedException naming the pack (not damage, nothing lost), and restore planning cannot
    /// see past it. This pins the current behaviour; the row says what is missing.
    /// </summary>
    [Fact]
    public async Task Tree_packs_a_patched_host_put_in_glacier_are_refused_by_name_not_reported_as_damage()
    {
        using var s3 = Glacier();
        var src = new TempDir();
        DataGen.FileTree(src.Path, 3, 300_000);
        await using (var host = await TestRepo.OnStorageAsync(new EverythingColdClient(s3)))
            await Dedup.Archiver.Backup.Archiver.RunAsync(host.Repo, new Dedup.Archiver.Backup.BackupOptions { Paths = [src.Path], Workers = 2 }, new Dedup.Archiver.Backup.BackupProgress());
        var archivedPacks = new List<string>();
        await foreach (var (o, c) in s3.ListNonDefaultClassAsync("data/")) archivedPacks.Add(o.Name);
        Assert.NotEmpty(archivedPacks);

        var admin = new ArchiveEmulatingStorage(s3, _dir.Combine("emulation-39"), TimeProvider.System);
        await using var repo = await TestRepo.OpenAsync(admin);
        var snapshot = (await repo.Snapshots.LoadAllAsync()).Single();
        var refused = await Assert.ThrowsAsync<ObjectArchivedException>(async () =>
        {
            await foreach (var _ in Dedup.Archiver.Trees.SnapshotWalker.WalkAsync(repo, snapshot)) { }
        });
        Assert.Contains(refused.Name, archivedPacks);
        Assert.Contains("request its retrieval first", refused.Message, StringComparison.Ordinal);
        src.Dispose();
    }

    private static async Task<byte[]> ReadAll(Stream s)
    {
        var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }
}

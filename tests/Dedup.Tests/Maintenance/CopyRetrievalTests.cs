using System.Runtime.CompilerServices;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Check;
using Dedup.Archiver.Copy;
using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// copy with a retrieval: exactly the source packs the snapshots read are requested, each snapshot is copied as soon as
/// all its packs are readable (hot ones first), and a copy interrupted while waiting keeps what it finished.
/// </summary>
public sealed class CopyRetrievalTests
{
    private static ObjectId Id(byte b)
    {
        var bytes = new byte[32];
        bytes[0] = b;
        return new ObjectId(bytes);
    }

    private static async IAsyncEnumerable<IReadOnlyList<ObjectId>> Batches(params ObjectId[][] batches)
    {
        foreach (var b in batches)
        {
            await Task.Yield();
            yield return b;
        }
    }

    [Fact]
    public async Task Items_come_out_when_all_their_packs_did_each_once_in_their_order()
    {
        ObjectId hot = Id(1), p1 = Id(2), p2 = Id(3), never = Id(4);
        (string, IReadOnlySet<ObjectId>)[] items =
        [
            ("c", new HashSet<ObjectId> { p1, p2 }), ("b", new HashSet<ObjectId> { p1, hot }), ("a", new HashSet<ObjectId> { hot }),
            ("d", new HashSet<ObjectId> { p2 }), ("empty", new HashSet<ObjectId>()), ("lost", new HashSet<ObjectId> { never }),
        ];
        var groups = new List<IReadOnlyList<string>>();
        await foreach (var g in CopyOrder.Ready(items, Batches([hot], [], [p2], [p1, p2]))) groups.Add(g);
        // Those needing only hot packs first; one needing a pack that never came last, not dropped.
        Assert.Equal([["a", "empty"], ["d"], ["c", "b"], ["lost"]], groups);
    }

    private sealed class Source : IAsyncDisposable
    {
        public required TestRepo Repo { get; init; }
        public required TempDir Files { get; init; }
        public required string Cold { get; init; }
        public required string Hot { get; init; }
        public required IReadOnlySet<string> ColdPacks { get; init; }
        public required InMemoryArchive Archive { get; init; }
        public required SkippingClock Clock { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Repo.DisposeAsync();
            Files.Dispose();
        }
    }

    private static HashSet<string> DataPacks(Dedup.Repository.Repository repo) =>
        repo.Index.Blobs().Where(b => b.Location.Type == BlobType.Data).Select(b => Layout.Pack(b.Location.PackId)).ToHashSet(StringComparer.Ordinal);

    /// <summary>Two snapshots of different files: the older one's data packs archived, the newer one's hot.</summary>
    private static async Task<Source> SourceAsync()
    {
        var repo = await TestRepo.InMemoryAsync();
        var files = new TempDir();
        string a = Path.Join(files.Path, "a"), b = Path.Join(files.Path, "b");
        DataGen.FileTree(a, 21, 3_000_000);
        DataGen.FileTree(b, 22, 3_000_000);
        var cold = await Dedup.Archiver.Backup.Archiver.RunAsync(repo.Repo, new BackupOptions { Paths = [a], Workers = 2 }, new BackupProgress());
        var coldPacks = DataPacks(repo.Repo);
        var hot = await Dedup.Archiver.Backup.Archiver.RunAsync(repo.Repo, new BackupOptions { Paths = [b], Workers = 2 }, new BackupProgress());
        Assert.True(DataPacks(repo.Repo).Count > coldPacks.Count);
        var clock = new SkippingClock(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var archive = new InMemoryArchive(repo.Storage, clock);
        archive.Archive(coldPacks);
        return new Source { Repo = repo, Files = files, Cold = cold.SnapshotId.ToString(), Hot = hot.SnapshotId.ToString(), ColdPacks = coldPacks, Archive = archive, Clock = clock };
    }

    private static Task<Dedup.Repository.Repository> OpenAsync(IStorage storage) =>
        Dedup.Repository.Repository.OpenAsync(storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));

    /// <summary>What the CLI does for --retrieve-tier: plan, request the archived packs, hand out packs as polls find them readable.</summary>
    private static async IAsyncEnumerable<IReadOnlyList<ObjectId>> ThawAsync(Source s, IReadOnlyCollection<ObjectId> packs, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var plan = await Retrieval.PlanAsync(s.Archive, packs, 2, ct);
        await Retrieval.RequestAsync(s.Archive, plan, RetrievalTier.Bulk, 1, 2, ct);
        await foreach (var batch in Retrieval.ThawAsync(s.Archive, plan, RetrievalTier.Bulk, 1, s.Clock, Retrieval.PollInterval(RetrievalTier.Bulk), 2, (_, _) => { }, ct))
            yield return batch.Select(p => p.Pack).ToList();
    }

    [Fact]
    public async Task Snapshots_whose_packs_are_hot_are_copied_first_and_only_the_needed_archived_packs_are_requested()
    {
        await using var s = await SourceAsync();
        await using var source = await OpenAsync(s.Archive);
        await using var dest = await TestRepo.InMemoryAsync();

        var result = await SnapshotCopier.RunAsync(source, dest.Repo, [], new BackupProgress(), default,
            (snapshots, ct) => CopyOrder.AsPacksThawAsync(source, snapshots, packs => ThawAsync(s, packs, ct), ct));

        // The newer snapshot first: its packs are hot; the older one once its packs thawed.
        Assert.Equal([s.Hot, s.Cold], result.Copied.Select(c => c.Source));
        Assert.Empty(result.Failed);
        Assert.Equal(s.ColdPacks.Order(StringComparer.Ordinal), s.Archive.Requested.Order(StringComparer.Ordinal));
        Assert.All(s.ColdPacks, p => Assert.Equal(1, s.Archive.RequestCount(p)));
        Assert.True(s.Clock.GetUtcNow() >= new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero), $"the retrieval's 5 hours passed on the clock: {s.Clock.GetUtcNow()}");

        await using var copied = await dest.ReopenAsync();
        var check = await Checker.RunAsync(copied, new CheckOptions { ReadData = true });
        Assert.True(check.IsOk, string.Join("\n", check.Problems));
        Assert.Equal(2, check.SnapshotsChecked);
    }

    [Fact]
    public async Task A_copy_interrupted_while_waiting_keeps_the_snapshots_it_finished_and_the_rerun_copies_the_rest()
    {
        await using var s = await SourceAsync();
        await using var source = await OpenAsync(s.Archive);
        await using var dest = await TestRepo.InMemoryAsync();
        using var cts = new CancellationTokenSource();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The hot snapshot's group, then a wait that never ends (a retrieval of hours) until the copy is interrupted.
        async IAsyncEnumerable<IReadOnlyList<LoadedSnapshot>> HotThenWait(IReadOnlyList<LoadedSnapshot> snapshots, [EnumeratorCancellation] CancellationToken ct)
        {
            yield return snapshots.Where(x => x.Id.ToString() == s.Hot).ToList();
            waiting.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            yield return snapshots.Where(x => x.Id.ToString() != s.Hot).ToList();
        }

        var run = SnapshotCopier.RunAsync(source, dest.Repo, [], new BackupProgress(), cts.Token, HotThenWait);
        await waiting.Task;
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        await using (var reopened = await dest.ReopenAsync())
        {
            var stored = await reopened.Snapshots.LoadAllAsync((_, _) => { });
            Assert.Equal([s.Hot], stored.Select(x => x.Info.Original));
        }

        await using var again = await dest.ReopenAsync();
        var rerun = await SnapshotCopier.RunAsync(source, again, [], new BackupProgress(), default,
            (snapshots, ct) => CopyOrder.AsPacksThawAsync(source, snapshots, packs => ThawAsync(s, packs, ct), ct));
        Assert.Equal([s.Hot], rerun.AlreadyPresent);
        Assert.Equal([s.Cold], rerun.Copied.Select(c => c.Source));
        Assert.Equal(s.ColdPacks.Order(StringComparer.Ordinal), s.Archive.Requested.Order(StringComparer.Ordinal));
    }
}

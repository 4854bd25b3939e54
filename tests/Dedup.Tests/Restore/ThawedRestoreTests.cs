using Dedup.Archiver.Platform;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.TestKit;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using static Dedup.Tests.Backup.BackupTestSupport;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Restore;

/// <summary>
/// <see cref="ThawedRestore"/>: a restore in waves as its packs thaw, on an <see cref="ArchivingMemoryStorage"/> (reading
/// a pack before it thawed fails) and a fake clock moved exactly one poll interval at a time (no sleeps). And the
/// planning walk past archived tree packs (spec threat 39).
/// </summary>
public sealed class ThawedRestoreTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(20);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// The thaw's batches, moving the clock by one interval each time the thaw waits for its next poll: it waits on one
    /// timer per poll and nothing else moves the clock, so a batch not out at once is a thaw waiting on that timer.
    /// </summary>
    private async IAsyncEnumerable<IReadOnlyList<PackState>> Driven(IAsyncEnumerable<IReadOnlyList<PackState>> thaw, List<int> polls)
    {
        await using var e = thaw.GetAsyncEnumerator();
        for (int i = 0; ; i++)
        {
            var next = e.MoveNextAsync();
            // Completed at once: the thaw ended (every pack readable) or was cancelled, without waiting.
            if (i > 0 && !next.IsCompleted)
            {
                _clock.Advance(Interval);
                polls.Add(i);
            }
            if (!await next) yield break;
            yield return e.Current;
        }
    }

    /// <summary>A restore as packs thaw: waits between polls on the fake clock (<see cref="Driven"/>), one Restorer run per wave.</summary>
    private Task<RestoreResult> RestoreAsThawedAsync(Repo repo, LoadedSnapshot snapshot, IArchiveStorage store, RestoreOptions options, RetrievalPlan plan,
        Action<RestoreWaveReport> onWave, List<int> polls, CancellationToken ct = default) =>
        ThawedRestore.RunAsync(repo, snapshot.Domain, options, plan,
            Driven(Retrieval.ThawAsync(store, plan, RetrievalTier.Standard, 7, _clock, Interval, 2, (_, _) => { }, ct), polls),
            o => Restorer.RunAsync(repo, snapshot, o, new RestoreProgress()), onWave, ct);

    /// <summary>The packs the restore reads first for the files below a source directory, by the readable ground truth.</summary>
    private static HashSet<string> PacksOf(Repo repo, Dictionary<string, TreeNode> entries, string dir) =>
        [.. entries.Where(e => e.Key.StartsWith(dir + "/", StringComparison.Ordinal) && e.Value.Type == NodeType.File)
            .SelectMany(e => e.Value.Content)
            .Select(b => repo.Index.TryGet(b, repo.Keys.Own.Id, out var l) ? Layout.Pack(l.PackId) : throw new InvalidOperationException("blob not indexed"))];

    [Fact]
    public async Task Files_are_written_in_the_wave_their_packs_thaw_each_once_with_their_hard_links_and_directory_metadata_comes_last()
    {
        using var src = new TempDir("dedup-src");
        var store = new ArchivingMemoryStorage(_clock);
        await using var test = await TestRepo.OnStorageAsync(store);
        // Three backups, so a/, b/ and c/ have data packs of their own: a's stay hot, b's thaw after 10 min, c's after 50.
        Write(src.Combine("a", "fa1"), DataGen.RandomBytes(1, 200_000));
        Write(src.Combine("a", "fa2"), DataGen.RandomBytes(2, 200_000));
        Write(src.Combine("a", "empty"), []);
        await BackupAsync(test.Repo, Options(src.Path));
        Write(src.Combine("b", "fb"), DataGen.RandomBytes(3, 200_000));
        Write(src.Combine("b", "h1"), DataGen.RandomBytes(4, 100_000));
        Directory.CreateDirectory(src.Combine("c"));
        PosixCalls.CreateHardLink(src.Combine("b", "h1"), src.Combine("c", "h2"));
        await BackupAsync(test.Repo, Options(src.Path));
        Write(src.Combine("c", "fc"), DataGen.RandomBytes(5, 200_000));
        // A read-only directory whose file thaws last: its mode may be applied only after that file is written.
        File.SetUnixFileMode(src.Combine("c"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var last = await BackupAsync(test.Repo, Options(src.Path));
        File.SetUnixFileMode(src.Combine("c"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var entries = await EntriesAsync(test.Repo, last.Snapshot, src.Path);
        HashSet<string> packsA = PacksOf(test.Repo, entries, "a"), packsB = PacksOf(test.Repo, entries, "b"), packsC = PacksOf(test.Repo, entries, "c");
        packsC.ExceptWith(packsB); // c/h2 is b/h1's content
        Assert.Empty(packsA.Intersect(packsB));
        Assert.NotEmpty(packsC);
        Assert.Superset(packsA.Union(packsB).Union(packsC).ToHashSet(), store.Cold.ToHashSet());
        foreach (var p in packsA) store.Heat(p);
        store.ThawAfter = name => packsB.Contains(name) ? TimeSpan.FromMinutes(10) : TimeSpan.FromMinutes(50);

        var snapshot = await test.Repo.Snapshots.LoadAsync(last.SnapshotId);
        var plan = await Retrieval.PlanAsync(store, await Retrieval.NeededPacksAsync(test.Repo, snapshot, [], []), 2);
        Assert.Equal(packsA.Count + packsB.Count + packsC.Count, plan.Packs.Count);
        await Retrieval.RequestAsync(store, plan, RetrievalTier.Standard, 7, 2);
        Assert.Equal(packsB.Union(packsC).Order(), store.Requests.Keys.Order());

        using var target = new TempDir("dedup-restore");
        string Restored(params string[] path) => target.Path + src.Combine(path);
        var actions = new List<(RestoreAction, string)>();
        var waves = new List<(RestoreWaveReport Report, HashSet<string> Files, UnixFileMode? ModeOfC)>();
        var polls = new List<int>();
        var options = new RestoreOptions { Target = target.Path, Workers = 2, OnAction = (a, p, _) => { lock (actions) actions.Add((a, p)); } };
        var result = await RestoreAsThawedAsync(test.Repo, snapshot, store, options, plan,
            w => waves.Add((w, [.. Directory.EnumerateFiles(target.Path + src.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(target.Path + src.Path, f))],
                Directory.Exists(Restored("c")) ? File.GetUnixFileMode(Restored("c")) : null)), polls);

        // Polls at 20 min (b's packs), 40 (nothing new: no wave) and 60 (c's, the last).
        Assert.Equal([1, 2, 3], polls);
        Assert.Equal([1, 2, 3], waves.Select(w => w.Report.Wave));
        Assert.Equal([packsA.Count, packsA.Count + packsB.Count, plan.Packs.Count], waves.Select(w => w.Report.ReadablePacks));
        Assert.Equal(["a/empty", "a/fa1", "a/fa2"], waves[0].Files.Order());
        Assert.Equal((3, 4), (waves[0].Report.Result.Files, waves[0].Report.Result.Deferred));
        Assert.Equal(["a/empty", "a/fa1", "a/fa2", "b/fb", "b/h1", "c/h2"], waves[1].Files.Order());
        Assert.Equal((3, 1), (waves[1].Report.Result.Files, waves[1].Report.Result.Deferred));
        Assert.Equal((1, 0), (waves[2].Report.Result.Files, waves[2].Report.Result.Deferred));
        // The hard link's second name came in the wave that wrote its first.
        var h1 = PosixFile.LStat(Restored("b", "h1"));
        Assert.Equal((2u, h1.Inode), (h1.Links, PosixFile.LStat(Restored("c", "h2")).Inode));
        // c's read-only mode only once its last file is in; before, the directory was writable.
        Assert.NotEqual(UnixFileMode.UserRead | UnixFileMode.UserExecute, waves[1].ModeOfC);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute, waves[2].ModeOfC);
        Assert.Equal(entries["c"].MTimeNs, PosixFile.LStat(Restored("c")).MTimeNs);
        Assert.Equal(entries["a"].MTimeNs, PosixFile.LStat(Restored("a")).MTimeNs);

        // Each file written exactly once; nothing failed (a pack read before it thawed would have).
        Assert.Equal(["a/empty", "a/fa1", "a/fa2", "b/fb", "b/h1", "c/fc", "c/h2"],
            actions.Select(x => { Assert.Equal(RestoreAction.Restore, x.Item1); return x.Item2[(src.Path.Length + 1)..]; }).Order(StringComparer.Ordinal));
        Assert.Empty(result.Failures);
        Assert.Equal((7L, 0L, 0L), (result.Files, result.Deferred, result.Unchanged));
        Assert.Equal(packsA.Count + packsB.Count + packsC.Count, plan.Packs.Count);
        File.SetUnixFileMode(Restored("c"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal(DataGen.Digest(src.Path), DataGen.Digest(target.Path + src.Path));
    }

    [Fact]
    public async Task Delete_waits_for_the_last_wave_and_a_rerun_keeps_what_the_killed_run_wrote()
    {
        using var src = new TempDir("dedup-src");
        var store = new ArchivingMemoryStorage(_clock);
        await using var test = await TestRepo.OnStorageAsync(store);
        Write(src.Combine("a", "fa"), DataGen.RandomBytes(1, 200_000));
        await BackupAsync(test.Repo, Options(src.Path));
        Write(src.Combine("b", "fb"), DataGen.RandomBytes(2, 200_000));
        var last = await BackupAsync(test.Repo, Options(src.Path));
        var entries = await EntriesAsync(test.Repo, last.Snapshot, src.Path);
        var packsA = PacksOf(test.Repo, entries, "a");
        store.ThawAfter = name => packsA.Contains(name) ? TimeSpan.FromMinutes(10) : TimeSpan.FromMinutes(30);
        var snapshot = await test.Repo.Snapshots.LoadAsync(last.SnapshotId);
        using var target = new TempDir("dedup-restore");
        string Restored(params string[] path) => target.Path + src.Combine(path);
        Write(Restored("a", "extra"), "not in the snapshot");
        var options = new RestoreOptions { Target = target.Path, Workers = 2, Delete = true };

        // The first run: a's packs thaw at the first poll and its wave writes a/fa; the run is then killed while it waits.
        var plan = await Retrieval.PlanAsync(store, await Retrieval.NeededPacksAsync(test.Repo, snapshot, [], []), 2);
        await Retrieval.RequestAsync(store, plan, RetrievalTier.Standard, 7, 2);
        using var kill = new CancellationTokenSource();
        var waves = new List<RestoreWaveReport>();
        var polls = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RestoreAsThawedAsync(test.Repo, snapshot, store, options, plan, w =>
        {
            waves.Add(w);
            if (w.Wave == 2) kill.Cancel();
        }, polls, kill.Token));
        Assert.Equal(2, waves.Count);
        Assert.True(File.Exists(Restored("a", "fa")));
        Assert.False(File.Exists(Restored("b", "fb")));
        // --delete waits for the last wave: nothing was deleted yet.
        Assert.True(File.Exists(Restored("a", "extra")));
        Assert.Equal(0, waves.Sum(w => w.Result.Deleted));

        // The re-run (a new plan: a's packs readable, b's still being retrieved): its first wave keeps a/fa as it is.
        var stat = PosixFile.LStat(Restored("a", "fa"));
        var replan = await Retrieval.PlanAsync(store, await Retrieval.NeededPacksAsync(test.Repo, snapshot, [], []), 2);
        Assert.Equal(packsA.Order(), replan.Packs.Where(p => p.State.Readable).Select(p => p.Name).Order());
        waves.Clear();
        var result = await RestoreAsThawedAsync(test.Repo, snapshot, store, options, replan, waves.Add, polls);
        Assert.Equal((1L, 1L, 1L), (waves[0].Result.Files, waves[0].Result.Unchanged, waves[0].Result.Deferred));
        Assert.Equal(stat.Inode, PosixFile.LStat(Restored("a", "fa")).Inode);
        Assert.Equal((2L, 1L, 1L), (result.Files, result.Unchanged, result.Deleted));
        Assert.False(File.Exists(Restored("a", "extra")));
        Assert.Equal(DataGen.Digest(src.Path), DataGen.Digest(target.Path + src.Path));
    }

    /// <summary>
    /// Spec threat 39: a patched client put every pack in GLACIER, trees included. The planning walk names the archived
    /// tree pack it met instead of failing, and after each is retrieved sees one level deeper, until it sees every file.
    /// </summary>
    [Fact]
    public async Task The_planning_walk_names_archived_tree_packs_level_by_level_until_it_sees_every_data_pack()
    {
        using var src = new TempDir("dedup-src");
        var store = new ArchivingMemoryStorage(_clock) { ThawAfter = _ => TimeSpan.Zero };
        await using var test = await TestRepo.OnStorageAsync(store);
        Write(src.Combine("a", "fa"), DataGen.RandomBytes(1, 200_000));
        await BackupAsync(test.Repo, Options(src.Path));
        Write(src.Combine("b", "fb"), DataGen.RandomBytes(2, 200_000));
        var last = await BackupAsync(test.Repo, Options(src.Path));
        await store.FreezeAllPacksAsync();
        Assert.Equal(store.Cold, await DataNames(store));

        // The ground truth, from the same objects read without archive semantics.
        await using var truth = await TestRepo.OpenAsync(store.Inner);
        var truthSnapshot = await truth.Snapshots.LoadAsync(last.SnapshotId);
        string PackOf(ObjectId blob) => truth.Index.TryGet(blob, truthSnapshot.Domain, out var l) ? Layout.Pack(l.PackId) : throw new InvalidOperationException();
        var entries = await EntriesAsync(truth, last.Snapshot, src.Path);
        var rootTreePack = PackOf(SnapshotWalker.RootTree(truthSnapshot.Info)[0]);
        var treePackOfA = PackOf(entries["a"].Content[0]);
        Assert.NotEqual(rootTreePack, treePackOfA); // a's tree is the first backup's, deduplicated
        var allData = (await Retrieval.NeededPacksAsync(truth, truthSnapshot, [], [])).Select(Layout.Pack).Order().ToList();

        // The admin's restore, a new process: the host's repository object holds the trees it read in memory.
        await using var admin = await TestRepo.OpenAsync(store);
        var snapshot = await admin.Snapshots.LoadAsync(last.SnapshotId);
        // The old entry point still stops at the first archived tree, naming it.
        var refused = await Assert.ThrowsAsync<ObjectArchivedException>(() => Retrieval.NeededPacksAsync(admin, snapshot, [], []));
        Assert.Equal(rootTreePack, refused.Name);

        var rounds = new List<(List<string> Trees, List<string> Data)>();
        while (true)
        {
            var needed = await NeededPacksWalk.RunAsync(admin, snapshot, [], [], skipArchivedTrees: true);
            rounds.Add(([.. needed.ArchivedTrees.Select(Layout.Pack)], [.. needed.Data.Select(Layout.Pack).Order()]));
            if (needed.ArchivedTrees.Count == 0) break;
            Assert.True(rounds.Count <= 3, "the walk sees deeper each round");
            foreach (var tree in needed.ArchivedTrees) await store.RequestRestoreAsync(Layout.Pack(tree), RetrievalTier.Standard, 1);
        }
        Assert.Equal(3, rounds.Count);
        Assert.Equal([rootTreePack], rounds[0].Trees);
        Assert.Empty(rounds[0].Data);
        Assert.Equal([treePackOfA], rounds[1].Trees);
        Assert.Equal(entries["b/fb"].Content.Select(PackOf).Distinct().Order(), rounds[1].Data); // b's tree is in the root's pack
        Assert.Equal(allData, rounds[2].Data);
        // Nothing but the tree packs was asked for; the data packs wait for the restore's own request.
        Assert.Equal(new[] { rootTreePack, treePackOfA }.Order(), store.Requests.Keys.Order());
    }

    private static async Task<List<string>> DataNames(IStorage store)
    {
        var names = new List<string>();
        await foreach (var o in store.ListAsync("data/")) names.Add(o.Name);
        return [.. names.Order(StringComparer.Ordinal)];
    }
}

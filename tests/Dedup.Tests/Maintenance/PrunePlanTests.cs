using System.Security.Cryptography;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Packs;
using Dedup.Storage;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// Prune as a plan, then its execution (issue 14): the plan is what happens, --dry-run changes nothing, the budget holds
/// when measured from the packs themselves, and a fresh repository has nothing to prune.
/// </summary>
public sealed class PrunePlanTests
{
    private static readonly PruneOptions Grace48h = new() { Grace = TimeSpan.FromHours(48) };

    /// <summary>
    /// A generated repository's history: files of random sizes, backups of one path holding a subset of them each, which
    /// of the older snapshots are forgotten, whether a prune marked some of them a grace period ago, and the final grace.
    /// </summary>
    public sealed record History(int[] FileSizes, int[] Backups, bool[] Forgotten, bool MarkedEarlier, bool GraceZero)
    {
        public override string ToString() =>
            $"files [{string.Join(",", FileSizes)}], backups [{string.Join(",", Backups.Select(b => Convert.ToString(b, 2)))}], " +
            $"forgotten [{string.Join(",", Forgotten.Select(f => f ? 1 : 0))}], marked earlier {MarkedEarlier}, grace 0 {GraceZero}";
    }

    public static class Histories
    {
        public static Arbitrary<History> Arbitrary() =>
            (from files in Gen.Choose(3, 7)
             from sizes in Gen.Choose(2_000, 260_000).ArrayOf(files)
             from backups in Gen.Choose(2, 6)
             from subsets in Gen.Choose(1, (1 << files) - 1).ArrayOf(backups)
             from forgotten in Gen.Elements(true, false).ArrayOf(backups - 1)
             from marked in Gen.Elements(true, false)
             from graceZero in Gen.Elements(true, false)
             select new History(sizes, subsets, forgotten, marked, graceZero)).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Histories)], MaxTest = 20)]
    public void Executing_the_plan_frees_exactly_what_it_lists_and_a_dry_run_changes_nothing(History h) => RunAsync(h).GetAwaiter().GetResult();

    private static async Task RunAsync(History h)
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var kept = await BuildAsync(s, admin, h);
        var options = h.GraceZero ? new PruneOptions { Grace = TimeSpan.Zero } : Grace48h;

        var before = await SnapshotAsync(s.Storage);
        var dry = await Pruner.RunAsync(admin, s.Storage, options with { DryRun = true });
        Assert.Equal(before, await SnapshotAsync(s.Storage));
        var dryPlan = dry.Plan!;

        var marksBefore = (await admin.LoadMarksAsync()).Select(m => m.Id).ToHashSet();
        var packsBefore = await Pruner.ListPacksAsync(s.Storage, default);
        var report = await Pruner.RunAsync(admin, s.Storage, options);
        var plan = report.Plan!;
        // The same state plans the same: what the dry run printed is what ran.
        Assert.Equal(Decisions(dryPlan), Decisions(plan));

        var packsAfter = await Pruner.ListPacksAsync(s.Storage, default);
        var gone = packsBefore.Keys.Where(p => !packsAfter.ContainsKey(p)).ToHashSet();
        var listedDeleted = plan.Packs.Where(p => p.DeletedThisRun).Select(p => p.Pack).ToHashSet();
        Assert.True(gone.SetEquals(listedDeleted), $"deleted {gone.Count} packs, the plan listed {listedDeleted.Count}; {h}");
        long freed = gone.Sum(p => packsBefore[p].Size);
        Assert.Equal(plan.BytesToDelete, freed);
        Assert.Equal(plan.BytesToDelete, report.BytesFreed);
        Assert.Equal(plan.Count(PackAction.Repack) > 0, packsAfter.Keys.Any(p => !packsBefore.ContainsKey(p)));

        // With a grace period, the new mark lists exactly what the plan marks and repacks; with none, it is gone again.
        var newMarks = (await admin.LoadMarksAsync()).Where(m => !marksBefore.Contains(m.Id)).ToList();
        var planned = plan.Packs.Where(p => p.Action is PackAction.Mark or PackAction.Repack).Select(p => p.Pack).ToHashSet();
        if (h.GraceZero || planned.Count == 0) Assert.Empty(newMarks);
        else Assert.True(Assert.Single(newMarks).Packs.ToHashSet().SetEquals(planned), h.ToString());

        await AssertRestorableAsync(s, kept, h);
        var (used, unused) = await MeasureAsync(s.Storage, admin);
        long limit = (long)(5.0 / 95 * used);
        Assert.True(unused <= limit, $"{unused} bytes unused against {used} used (limit {limit}) after prune; {h}");
    }

    /// <summary>Backs up, forgets and (if the history says so) prunes and waits; returns each kept snapshot's files.</summary>
    internal static async Task<List<(string Id, Dictionary<string, byte[]> Files)>> BuildAsync(Scenario s, Repo admin, History h)
    {
        var files = h.FileSizes.Select((size, i) => RandomNumberGenerator.GetBytes(size)).ToArray();
        var src = Path.Join(s.Work, "src");
        var snapshots = new List<(string Id, Dictionary<string, byte[]> Files)>();
        foreach (var subset in h.Backups)
        {
            if (Directory.Exists(src)) Directory.Delete(src, true);
            Directory.CreateDirectory(src);
            var content = new Dictionary<string, byte[]>();
            for (int i = 0; i < files.Length; i++)
                if ((subset & (1 << i)) != 0) content[$"f{i}"] = files[i];
            foreach (var (name, bytes) in content) File.WriteAllBytes(Path.Join(src, name), bytes);
            var r = await s.BackupAsync(await s.OpenAsync(), src);
            snapshots.Add((r.SnapshotId.ToString(), content));
            s.Clock.Advance(TimeSpan.FromMinutes(1));
        }
        var forgotten = snapshots.Take(h.Forgotten.Length).Where((_, i) => h.Forgotten[i]).Select(x => x.Id).ToList();
        int early = h.MarkedEarlier ? forgotten.Count / 2 + forgotten.Count % 2 : 0;
        if (early > 0)
        {
            await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = forgotten.Take(early).ToArray() });
            await Pruner.RunAsync(admin, s.Storage, Grace48h);
            s.Clock.Advance(TimeSpan.FromHours(49));
        }
        if (forgotten.Count > early) await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = forgotten.Skip(early).ToArray() });
        return snapshots.Where(x => !forgotten.Contains(x.Id)).ToList();
    }

    private static List<string> Decisions(PrunePlan p) =>
        p.Packs.Select(x => $"{x.Pack} {x.Action} {x.DeletedThisRun} {x.Size} {x.Used} {x.Unused}").Order(StringComparer.Ordinal).ToList();

    /// <summary>Every object's name, size and bytes.</summary>
    private static async Task<List<string>> SnapshotAsync(IStorage storage)
    {
        var all = new List<string>();
        await foreach (var o in storage.ListAsync(""))
        {
            await using var stream = await storage.OpenReadAsync(o.Name);
            all.Add($"{o.Name} {o.Size} {Convert.ToHexString(await SHA256.HashDataAsync(stream))}");
        }
        all.Sort(StringComparer.Ordinal);
        return all;
    }

    private static async Task AssertRestorableAsync(Scenario s, List<(string Id, Dictionary<string, byte[]> Files)> kept, History h)
    {
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        foreach (var (id, files) in kept)
        {
            var target = Path.Join(s.Work, "r-" + Guid.NewGuid().ToString("n")[..8]);
            var snap = await reader.Snapshots.LoadAsync(ObjectId.Parse(id));
            var result = await Restorer.RunAsync(reader, snap, new RestoreOptions { Target = target }, new RestoreProgress());
            if (result.Failures.Count > 0) Assert.Fail($"snapshot {id[..8]} lost data: {result.Failures[0].Reason}; {h}");
            var root = Path.Join(target, Path.Join(s.Work, "src"));
            foreach (var (name, bytes) in files)
                Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(root, name))), $"{name} of {id[..8]} restored wrong; {h}");
        }
    }

    /// <summary>
    /// Used and unused bytes as the stored packs hold them, measured without the plan: every pack in data/ that no mark
    /// lists (marked packs are on their way out) is opened, and each blob in its header counts as used when a snapshot in
    /// the store refers to it (walked here, tree by tree), unused otherwise. Headers and trailers count as neither.
    /// </summary>
    internal static async Task<(long Used, long Unused)> MeasureAsync(IStorage storage, Repo repo)
    {
        await repo.LoadIndexAsync();
        var marked = repo.Marks.SelectMany(m => m.Packs).ToHashSet();
        var referenced = new HashSet<(ObjectId, DomainId)>();
        foreach (var snap in await repo.Snapshots.LoadAllAsync())
        {
            foreach (var t in SnapshotWalker.RootTree(snap.Info)) referenced.Add((t, snap.Domain));
            await foreach (var e in SnapshotWalker.WalkAsync(repo, snap))
                foreach (var id in e.Node.Content) referenced.Add((id, snap.Domain));
        }
        long used = 0, unused = 0;
        var readKey = repo.Keys.RequireReadKey("measure");
        foreach (var (id, obj) in await Pruner.ListPacksAsync(storage, default))
        {
            if (marked.Contains(id)) continue;
            var header = await PackHeaderReader.ReadAsync(storage, id, obj.Size, readKey);
            foreach (var e in header.Entries)
                if (referenced.Contains((e.Id, header.Domain))) used += e.StoredLength;
                else unused += e.StoredLength;
        }
        return (used, unused);
    }

    [Fact]
    public async Task A_fresh_repository_has_nothing_to_prune_however_often_it_runs()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        await s.BackupAsync(repo, s.MakeTree("a", 3, 40_000, 11));
        await s.BackupAsync(repo, s.MakeTree("b", 1, 300, 12)); // a tiny pack of its own: its header is most of it
        for (int run = 0; run < 3; run++)
        {
            var r = await Pruner.RunAsync(repo, s.Storage, Grace48h);
            Assert.Equal(0, r.PacksMarked);
            Assert.Empty(r.Plan!.Packs);
            Assert.Equal(0, r.Plan.BytesUnused);
            Assert.True(r.Plan.BytesOverhead > 0, "pack headers were not counted at all");
            Assert.Equal(r.Plan.BytesStored, r.Plan.BytesUsed + r.Plan.BytesOverhead);
            s.Clock.Advance(TimeSpan.FromHours(49));
        }
        Assert.Empty(s.Storage.ListAsync(PruneMark.Prefix).ToBlockingEnumerable());
    }

    /// <summary>Three snapshots share files; forgetting two leaves packs partly used, to different degrees.</summary>
    /// <param name="store">Where the repository is made instead of the scenario's own store.</param>
    internal static async Task<(Scenario S, Repo Repo)> PartlyUsedAsync(IMaintenanceStorage? store = null)
    {
        var s = await Scenario.CreateAsync();
        if (store is not null) await Repo.InitAsync(store, System.Text.Encoding.UTF8.GetBytes(Scenario.Password), Scenario.SmallRepo, s.Clock);
        var repo = await s.OpenAsync(storage: store);
        var src = Path.Join(s.Work, "src");
        // Used and unused data share packs by construction, not by how the backup happens to spread files over packs:
        // each of the first two snapshots holds one file A+B; the third holds the A parts alone, whose chunks (all but
        // the one at A's end) are the ones already stored beside B's. Forgetting the first two leaves their packs partly used.
        var halves = Enumerable.Range(0, 4).Select(i => RandomNumberGenerator.GetBytes(240_000 + 30_000 * i)).ToArray();
        var ids = new List<string>();
        foreach (var content in new[] { new[] { halves[0].Concat(halves[1]).ToArray() }, [halves[2].Concat(halves[3]).ToArray()], [halves[0], halves[2]] })
        {
            if (Directory.Exists(src)) Directory.Delete(src, true);
            Directory.CreateDirectory(src);
            for (int i = 0; i < content.Length; i++) File.WriteAllBytes(Path.Join(src, $"f{i}"), content[i]);
            ids.Add((await s.BackupAsync(repo, src)).SnapshotId.ToString());
            s.Clock.Advance(TimeSpan.FromMinutes(1));
        }
        await Forget.RunAsync(repo, store ?? s.Storage, new ForgetOptions { Ids = ids.Take(2).ToArray() });
        return (s, repo);
    }

    [Fact]
    public async Task The_budget_repacks_the_emptiest_packs_first_and_no_more_than_it_needs()
    {
        var (s, repo) = await PartlyUsedAsync();
        await using var _ = s;
        var all = (await Pruner.PlanAsync(repo, s.Storage, Grace48h with { MaxUnused = UnusedBudget.Percent(0) })).Packs
            .Where(p => p.Action == PackAction.Repack).ToList();
        Assert.True(all.Count >= 2, $"the scenario should leave several partly used packs, not {all.Count}");

        // A byte budget that the emptiest pack alone meets: only it is repacked.
        var emptiest = all.MaxBy(p => (double)p.Unused / p.Size)!;
        long total = all.Sum(p => p.Unused);
        var plan = await Pruner.PlanAsync(repo, s.Storage, Grace48h with { MaxUnused = UnusedBudget.Bytes(total - emptiest.Unused) });
        Assert.Equal(emptiest.Pack, Assert.Single(plan.Packs, p => p.Action == PackAction.Repack).Pack);
        Assert.Equal(total - emptiest.Unused, plan.BytesUnusedAfter);
        Assert.All(plan.Packs.Where(p => p.Action == PackAction.Keep), p => Assert.Contains("within --max-unused", p.Reason));

        // The default, 5 %: whatever is repacked, what stays is within it, and every pack kept with unused space is fuller
        // than every pack repacked.
        var byDefault = await Pruner.PlanAsync(repo, s.Storage, Grace48h);
        Assert.True(byDefault.BytesUnusedAfter <= byDefault.UnusedLimit);
        Assert.Equal((long)(5.0 / 95 * byDefault.BytesUsed), byDefault.UnusedLimit);
        var repacked = byDefault.Packs.Where(p => p.Action == PackAction.Repack).ToList();
        foreach (var k in byDefault.Packs.Where(p => p.Action == PackAction.Keep))
            Assert.All(repacked, r => Assert.True((double)r.Unused / r.Size >= (double)k.Unused / k.Size));
        Assert.Equal(repacked.Sum(p => p.Used), byDefault.BytesToRepack);
        Assert.True(byDefault.BytesToDownload >= byDefault.BytesToRepack && byDefault.BytesToUpload >= byDefault.BytesToRepack);

        // --max-repack-size: packs that would pass the cap wait for the next run, and say so.
        var capped = await Pruner.PlanAsync(repo, s.Storage, Grace48h with { MaxUnused = UnusedBudget.Percent(0), MaxRepackSize = emptiest.Size });
        Assert.Equal(emptiest.Pack, Assert.Single(capped.Packs, p => p.Action == PackAction.Repack).Pack);
        Assert.Contains(capped.Packs, p => p.Action == PackAction.Keep && p.Reason.Contains("--max-repack-size", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_prune_with_the_default_budget_the_unused_space_measured_from_the_packs_is_within_it()
    {
        var (s, repo) = await PartlyUsedAsync();
        await using var _ = s;
        var (usedBefore, unusedBefore) = await MeasureAsync(s.Storage, repo);
        Assert.True(unusedBefore > 5.0 / 95 * usedBefore, $"the scenario should start over budget: {unusedBefore} unused, {usedBefore} used");
        var report = await Pruner.RunAsync(repo, s.Storage, new PruneOptions { Grace = TimeSpan.Zero });
        Assert.True(report.PacksRepacked > 0);
        var (used, unused) = await MeasureAsync(s.Storage, repo);
        Assert.True(unused <= 5.0 / 95 * used, $"{unused} unused, {used} used after prune");
        Assert.Equal(usedBefore, used);
    }

    [Fact]
    public async Task A_dry_run_lists_what_expired_marks_would_delete_and_the_next_run_deletes_exactly_that()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var first = await s.BackupAsync(repo, s.MakeTree("a", 4, 60_000, 21));
        await s.BackupAsync(repo, s.MakeTree("b", 2, 60_000, 22));
        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        var marking = await Pruner.RunAsync(repo, s.Storage, Grace48h);
        Assert.True(marking.PacksMarked > 0);
        Assert.All(marking.Plan!.Packs, p => Assert.False(p.DeletedThisRun));

        var waiting = await Pruner.RunAsync(repo, s.Storage, Grace48h with { DryRun = true });
        Assert.Equal(marking.PacksMarked, waiting.Plan!.Count(PackAction.Pending));
        Assert.All(waiting.Plan.Packs.Where(p => p.Action == PackAction.Pending), p => Assert.Contains("deleted by a prune after", p.Reason));

        s.Clock.Advance(TimeSpan.FromHours(49));
        var before = await SnapshotAsync(s.Storage);
        var dry = await Pruner.RunAsync(repo, s.Storage, Grace48h with { DryRun = true });
        Assert.Equal(before, await SnapshotAsync(s.Storage));
        Assert.Equal(marking.PacksMarked, dry.Plan!.Count(PackAction.Delete));
        Assert.Equal(1, dry.Plan.MarksExpired);

        long data = s.StoredBytes("data/");
        var run = await Pruner.RunAsync(repo, s.Storage, Grace48h);
        Assert.Equal(dry.Plan.PacksToDelete, run.PacksDeleted);
        Assert.Equal(dry.Plan.BytesToDelete, data - s.StoredBytes("data/"));
        Assert.Empty(s.Storage.ListAsync(PruneMark.Prefix).ToBlockingEnumerable());
    }

    [Theory]
    [InlineData("5%", 5.0, null)]
    [InlineData("0.5%", 0.5, null)]
    [InlineData("unlimited", 100.0, null)]
    [InlineData("100M", null, 100L << 20)]
    [InlineData("100MiB", null, 100L << 20)]
    [InlineData("2G", null, 2L << 30)]
    [InlineData("4096", null, 4096L)]
    public void Budgets_parse_as_a_share_or_a_size(string text, double? percent, long? size)
    {
        var b = UnusedBudget.Parse(text);
        Assert.Equal(percent, b.Percentage);
        Assert.Equal(size, b.Size);
    }

    [Fact]
    public void A_share_of_the_repository_is_unused_over_used_plus_unused_as_restic_computes_it()
    {
        // 5 % of what stays: with 95 bytes used, 5 may be unused (5 / (95 + 5)).
        Assert.Equal(5, UnusedBudget.Percent(5).LimitFor(95));
        Assert.Equal(0, UnusedBudget.Percent(0).LimitFor(1_000));
        Assert.Equal(long.MaxValue, UnusedBudget.Parse("unlimited").LimitFor(1_000));
        Assert.Equal(123, UnusedBudget.Bytes(123).LimitFor(1_000_000));
        Assert.Throws<ArgumentException>(() => UnusedBudget.Parse("101%"));
        Assert.Throws<ArgumentException>(() => UnusedBudget.Parse("much"));
    }
}

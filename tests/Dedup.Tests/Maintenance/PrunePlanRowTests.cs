using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Index;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// The plan's compact rows (docs/performance.md, "Scale"): a row's reason is a shared sentence formatted when read, and
/// must read as the sentence the planner used to build per pack; the plan's totals are the sums over its rows and the
/// listing; claims grouped by pack through a sorted array find what a dictionary of lists found.
/// </summary>
public sealed class PrunePlanRowTests
{
    private static readonly PruneOptions Grace48h = new() { Grace = TimeSpan.FromHours(48) };

    [Fact]
    public void A_shared_reason_formats_each_row_with_its_own_share_and_says_grace_0_only_where_the_pack_goes_this_run()
    {
        var id = ObjectId.HashOf("pack"u8);
        var repacked = PackReason.AfterShare("; repacked, emptiest first, to meet --max-unused 5%");
        Assert.Equal("33.3% unused; repacked, emptiest first, to meet --max-unused 5%",
            new PackPlan(id, PackAction.Repack, 3_000, 2_000, 1_000, false, repacked).Reason);
        Assert.Equal("12.5% unused; repacked, emptiest first, to meet --max-unused 5%; deleted at once (grace 0)",
            new PackPlan(id, PackAction.Repack, 800, 700, 100, true, repacked).Reason);
        var unused = PackReason.Of("no trusted snapshot uses it");
        Assert.Equal("no trusted snapshot uses it", new PackPlan(id, PackAction.Mark, 10, 0, 10, false, unused).Reason);
        Assert.Equal("no trusted snapshot uses it; deleted at once (grace 0)", new PackPlan(id, PackAction.Mark, 10, 0, 10, true, unused).Reason);
        // A pack an expired mark deletes says why in its own sentence: nothing is appended.
        Assert.Equal("marked x", new PackPlan(id, PackAction.Delete, 10, 0, 0, true, PackReason.Of("marked x")).Reason);
    }

    [Fact]
    public async Task Every_row_of_a_real_plan_reads_as_the_sentence_built_per_pack_before()
    {
        var (s, repo) = await PrunePlanTests.PartlyUsedAsync();
        await using var _ = s;
        var options = Grace48h with { MaxUnused = UnusedBudget.Percent(0) };
        var all = await Pruner.PlanAsync(repo, s.Storage, options);
        var repacks = all.Packs.Where(p => p.Action == PackAction.Repack).ToList();
        Assert.True(repacks.Count >= 2, $"the scenario should leave several partly used packs, not {repacks.Count}");
        // The sentences as the planner formatted them for every pack before (same culture, same expression).
        foreach (var p in repacks)
            Assert.Equal($"{100.0 * p.Unused / p.Size:0.#}% unused; repacked, emptiest first, to meet --max-unused {options.MaxUnused}", p.Reason);

        var emptiest = repacks.MaxBy(p => (double)p.Unused / p.Size)!;
        var capped = await Pruner.PlanAsync(repo, s.Storage, options with { MaxRepackSize = emptiest.Size });
        var keeps = capped.Packs.Where(p => p.Action == PackAction.Keep).ToList();
        Assert.NotEmpty(keeps);
        foreach (var p in keeps)
            Assert.Equal($"{100.0 * p.Unused / p.Size:0.#}% unused; --max-repack-size {emptiest.Size} bytes is reached for this run", p.Reason);

        var within = await Pruner.PlanAsync(repo, s.Storage, Grace48h with { MaxUnused = UnusedBudget.Bytes(repacks.Sum(p => p.Unused)) });
        Assert.Contains(within.Packs, p => p.Action == PackAction.Keep);
        foreach (var p in within.Packs.Where(p => p.Action == PackAction.Keep))
            Assert.Equal($"{100.0 * p.Unused / p.Size:0.#}% unused; the repository is within --max-unused {within.Options.MaxUnused}", p.Reason);

        // Grace 0: what is marked goes at once, and its reason says so after the sentence it had.
        var now = await Pruner.PlanAsync(repo, s.Storage, options with { Grace = TimeSpan.Zero });
        var goes = now.Packs.Where(p => p.Action == PackAction.Repack).ToList();
        Assert.NotEmpty(goes);
        Assert.All(goes, p => Assert.True(p.DeletedThisRun));
        foreach (var p in goes)
            Assert.Equal($"{100.0 * p.Unused / p.Size:0.#}% unused; repacked, emptiest first, to meet --max-unused {options.MaxUnused}; deleted at once (grace 0)", p.Reason);
    }

    [Fact]
    public async Task Archived_packs_read_as_before_and_the_listings_time_survives_into_the_minimum_duration_reason()
    {
        var store = new ArchivingMemoryStorage(TimeProvider.System);
        var (s, repo) = await PrunePlanTests.PartlyUsedAsync(store);
        await using var _ = s;
        // Every pack to GLACIER but the tree packs the kept snapshot reads (prune must walk its trees): the ones a plan
        // with every pack hot marks stay archived.
        var unused = (await Pruner.PlanAsync(repo, store, Grace48h)).Packs.Where(p => p.Action == PackAction.Mark).Select(p => p.Pack).ToHashSet();
        await store.FreezeAllPacksAsync();
        foreach (var c in repo.Index.Claims().Where(c => c.Type == BlobType.Tree && !unused.Contains(c.Id))) store.Heat(Layout.Pack(c.Id));
        var plan = await Pruner.PlanAsync(repo, store, Grace48h with { MaxUnused = UnusedBudget.Percent(0) }, archive: store);

        var partly = plan.Packs.Where(p => p.Action == PackAction.Keep && p.Used > 0).ToList();
        Assert.True(partly.Count >= 2, $"the scenario should leave several partly used packs, not {partly.Count}");
        foreach (var p in partly)
            Assert.Equal($"{100.0 * p.Unused / p.Size:0.#}% unused, but archived in GLACIER: never repacked (that would need a retrieval)", p.Reason);

        // Unused packs stored (by the store's clock) after the plan's time wait out GLACIER's minimum duration from then.
        var waiting = plan.Packs.Where(p => p.Action == PackAction.Keep && p.Used == 0).ToList();
        Assert.NotEmpty(waiting);
        foreach (var p in waiting)
        {
            var stored = (await store.StatAsync(Layout.Pack(p.Pack)))!.Value.LastModified;
            var until = stored + StorageClasses.MinimumStorageDuration("GLACIER");
            Assert.Equal($"no trusted snapshot uses it, but it is in GLACIER since {stored:u}: marked by a prune after {until:u} "
                         + "(minimum storage duration; --ignore-min-storage-duration marks it now)", p.Reason);
        }
        Assert.DoesNotContain(plan.Packs, p => p.Action is PackAction.Repack or PackAction.Mark);
    }

    [Property(Arbitrary = [typeof(PrunePlanTests.Histories)], MaxTest = 10)]
    public void The_plans_totals_are_the_sums_over_its_rows_and_the_listing(PrunePlanTests.History h) => TotalsAsync(h).GetAwaiter().GetResult();

    private static async Task TotalsAsync(PrunePlanTests.History h)
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await PrunePlanTests.BuildAsync(s, admin, h);
        var plan = await Pruner.PlanAsync(admin, s.Storage, (h.GraceZero ? new PruneOptions { Grace = TimeSpan.Zero } : Grace48h) with { DryRun = true });
        var listed = await Pruner.ListPacksAsync(s.Storage, default);
        var marked = admin.Marks.SelectMany(m => m.Packs).ToHashSet();
        var rows = plan.Packs;

        Assert.Equal(listed.Count, plan.PacksStored);
        Assert.Equal(listed.Values.Sum(p => p.Size), plan.BytesStored);
        Assert.Equal(listed.Where(p => marked.Contains(p.Key)).Sum(p => p.Value.Size), plan.BytesMarked);
        Assert.Equal(rows.Count(p => p.DeletedThisRun), plan.PacksToDelete);
        Assert.Equal(rows.Where(p => p.DeletedThisRun).Sum(p => p.Size), plan.BytesToDelete);
        Assert.Equal(rows.Where(p => p.Action == PackAction.Repack).Sum(p => p.Used), plan.BytesToRepack);
        // No archive classes and no blind domains here: every unused byte of an unmarked pack is in a row, and what
        // stays unused is what the kept rows hold.
        Assert.Equal(plan.BytesUnused + plan.BytesOrphaned, rows.Where(p => p.Action is PackAction.Mark or PackAction.Repack or PackAction.Keep).Sum(p => p.Unused));
        Assert.Equal(plan.BytesUnusedAfter, rows.Where(p => p.Action == PackAction.Keep).Sum(p => p.Unused));
        Assert.Equal(plan.BytesStored - plan.BytesMarked - plan.BytesOrphaned, plan.BytesUsed + plan.BytesUnused + plan.BytesOverhead);
        foreach (var action in Enum.GetValues<PackAction>())
        {
            Assert.Equal(rows.Count(p => p.Action == action), plan.Count(action));
            Assert.Equal(rows.Where(p => p.Action == action).Sum(p => p.Size), plan.Bytes(action));
        }
        Assert.Equal(rows.Count, rows.Select(p => p.Pack).Distinct().Count());
        // Printed in a fixed order: by action, largest first, then by pack ID.
        Assert.Equal(rows.OrderBy(p => p.Action).ThenByDescending(p => p.Size).ThenBy(p => p.Pack).Select(p => p.Pack), rows.Select(p => p.Pack));
    }

    public static class Layouts
    {
        /// <summary>Claims: each of up to 40 claims names one of 8 packs and one of 3 domains.</summary>
        public static Arbitrary<(int Pack, int Domain)[]> Arbitrary() =>
            Gen.ArrayOf(from pack in Gen.Choose(0, 7) from domain in Gen.Choose(0, 2) select (pack, domain)).Select(a => a.Take(40).ToArray()).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Layouts)])]
    public void Claims_grouped_through_a_sorted_array_are_the_claims_of_each_pack_in_number_order((int Pack, int Domain)[] layout)
    {
        var table = new IndexTable();
        var packs = Enumerable.Range(0, 9).Select(i => ObjectId.HashOf([(byte)i])).ToArray();
        var domains = Enumerable.Range(0, 3).Select(i =>
        {
            var bytes = new byte[DomainId.Size];
            bytes[0] = (byte)(i + 1);
            return new DomainId(bytes);
        }).ToArray();
        int blob = 0;
        foreach (var (pack, domain) in layout)
        {
            // Each claim distinct (its own blob), so the table keeps every one.
            var blobs = new[] { new IndexBlob(ObjectId.HashOf(BitConverter.GetBytes(blob++)), 0, 100, 80) };
            table.AddPack(new IndexPack(packs[pack], BlobType.Data, new byte[IndexCodec.WrappedKeySize], blobs), domains[domain]);
        }
        var claims = table.Claims();
        var expected = Enumerable.Range(0, claims.Count).GroupBy(c => claims[c].Id).ToDictionary(g => g.Key, g => g.Order().ToList());

        var grouped = new ClaimsByPack(claims);
        Assert.Equal(expected.Count, grouped.PackCount);
        var groups = grouped.Groups().ToList();
        Assert.Equal(expected.Keys.Order(), groups.Select(g => g.Pack));
        foreach (var (pack, numbers) in groups) Assert.Equal(expected[pack], numbers.ToList());
        foreach (var pack in packs)
        {
            Assert.Equal(expected.TryGetValue(pack, out var want) ? want : new List<int>(), grouped.Of(pack).ToList());
            Assert.Equal(expected.ContainsKey(pack), grouped.Contains(pack));
        }
    }
}

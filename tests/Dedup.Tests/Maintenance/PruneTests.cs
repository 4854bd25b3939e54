using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Maintenance;
using Xunit;

namespace Dedup.Tests.Maintenance;

public sealed class PruneTests
{
    private static readonly PruneOptions Grace48h = new() { Grace = TimeSpan.FromHours(48) };

    [Fact]
    public async Task Forget_then_prune_with_grace_zero_reclaims_space_and_keeps_the_rest_restorable()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var a = s.MakeTree("a", 8, 100_000, 1);
        var b = s.MakeTree("b", 8, 100_000, 2);
        var first = await s.BackupAsync(repo, a);
        s.Clock.Advance(TimeSpan.FromMinutes(1));
        var second = await s.BackupAsync(repo, b);
        long before = s.StoredBytes("data/");

        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        var report = await Pruner.RunAsync(repo, s.Storage, new PruneOptions { Grace = TimeSpan.Zero });

        Assert.True(report.PacksDeleted > 0, "nothing was deleted");
        Assert.True(s.StoredBytes("data/") < before * 0.7, $"data went from {before} to {s.StoredBytes("data/")}");
        var fresh = await s.OpenAsync();
        await fresh.LoadIndexAsync();
        var (target, result) = await s.RestoreAsync(fresh, second.SnapshotId.ToString());
        Assert.Empty(result.Failures);
        Scenario.AssertSameTree(b, Path.Join(target, b));
        Assert.Empty(s.Storage.ListAsync(PruneMark.Prefix).ToBlockingEnumerable());
    }

    [Fact]
    public async Task A_mark_deletes_nothing_until_the_grace_period_has_passed()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var first = await s.BackupAsync(repo, s.MakeTree("a", 4, 100_000, 1));
        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        long before = s.StoredBytes("data/");

        var marking = await Pruner.RunAsync(repo, s.Storage, Grace48h);
        Assert.True(marking.PacksMarked > 0);
        Assert.Equal(0, marking.PacksDeleted);
        Assert.Equal(before, s.StoredBytes("data/"));

        s.Clock.Advance(TimeSpan.FromHours(47));
        Assert.Equal(0, (await Pruner.RunAsync(repo, s.Storage, Grace48h)).PacksDeleted);
        s.Clock.Advance(TimeSpan.FromHours(2));
        var deleting = await Pruner.RunAsync(repo, s.Storage, Grace48h);
        Assert.Equal(marking.PacksMarked, deleting.PacksDeleted);
        Assert.Equal(0, s.StoredBytes("data/"));
    }

    [Fact]
    public async Task Clients_treat_blobs_only_in_marked_packs_as_absent_and_store_them_again()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var tree = s.MakeTree("a", 4, 100_000, 1);
        var first = await s.BackupAsync(repo, tree);
        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        await Pruner.RunAsync(repo, s.Storage, Grace48h); // marks every pack

        var client = await s.OpenAsync();
        var again = await s.BackupAsync(client, tree);
        Assert.True(again.Snapshot.Summary.BytesAdded >= 400_000, "the blobs in marked packs were deduplicated against");

        s.Clock.Advance(TimeSpan.FromHours(49));
        var report = await Pruner.RunAsync(repo, s.Storage, Grace48h);
        Assert.True(report.PacksDeleted > 0, Describe(report));
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var (target, result) = await s.RestoreAsync(reader, again.SnapshotId.ToString());
        Assert.Empty(result.Failures);
        Scenario.AssertSameTree(tree, Path.Join(target, tree));
    }

    /// <summary>
    /// The interleaving the protocol exists for: a backup reads the index, a prune marks packs, the backup then
    /// finishes referring to blobs in those packs. The next prune must keep them, and every snapshot restores.
    /// </summary>
    [Fact]
    public async Task A_backup_that_read_the_index_before_a_mark_keeps_its_packs_alive()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var payload = new byte[300_000];
        new Random(7).NextBytes(payload);
        var old = await s.BackupAsync(admin, "/ignored", stdin: new MemoryStream(payload));
        await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = [old.SnapshotId.ToString()] });

        // The slow backup: announces itself and loads the index, then waits inside its input.
        var gate = new GateStream(payload);
        var client = await s.OpenAsync();
        var running = Task.Run(() => s.BackupAsync(client, "/ignored", host: "slow", stdin: gate));
        await gate.Started.Task;

        var marking = await Pruner.RunAsync(admin, s.Storage, Grace48h);
        Assert.True(marking.PacksMarked > 0);
        gate.Release.SetResult();
        var slow = await running;
        Assert.True(slow.Snapshot.Summary.BytesAdded < 10_000, "the slow backup did not deduplicate against the (now marked) packs");

        s.Clock.Advance(TimeSpan.FromHours(49));
        var report = await Pruner.RunAsync(admin, s.Storage, Grace48h);
        Assert.True(report.PacksRecovered > 0, "the marked packs the slow backup needs were not recovered");

        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var target = Path.Join(s.Work, "out");
        var snap = await reader.Snapshots.LoadAsync(slow.SnapshotId);
        var result = await Archiver.Restore.Restorer.RunAsync(reader, snap, new Archiver.Restore.RestoreOptions { Target = target }, new Archiver.Restore.RestoreProgress());
        Assert.Empty(result.Failures);
        Assert.Equal(payload, File.ReadAllBytes(Path.Join(target, "stream")));
    }

    [Fact]
    public async Task A_mark_waits_while_a_backup_that_started_before_it_is_still_running()
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var old = await s.BackupAsync(admin, "/ignored", stdin: new MemoryStream(new byte[50_000]));
        await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = [old.SnapshotId.ToString()] });
        var gate = new GateStream(new byte[10]);
        var client = await s.OpenAsync();
        var running = Task.Run(() => s.BackupAsync(client, "/ignored", host: "slow", stdin: gate));
        await gate.Started.Task;

        await Pruner.RunAsync(admin, s.Storage, Grace48h);
        s.Clock.Advance(TimeSpan.FromHours(49));
        var waiting = await Pruner.RunAsync(admin, s.Storage, new PruneOptions { Grace = TimeSpan.FromHours(48), MaxBackupAge = TimeSpan.FromDays(7) });
        Assert.Equal(0, waiting.PacksDeleted);
        Assert.Equal(1, waiting.MarksPending);
        Assert.Contains(waiting.Notes, n => n.Contains("slow", StringComparison.Ordinal));

        gate.Release.SetResult();
        await running;
        var done = await Pruner.RunAsync(admin, s.Storage, new PruneOptions { Grace = TimeSpan.FromHours(48), MaxBackupAge = TimeSpan.FromDays(7) });
        Assert.True(done.PacksDeleted > 0);
    }

    [Fact]
    public async Task Reloading_the_index_after_a_mark_moves_lookups_to_unmarked_copies()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var first = await s.BackupAsync(repo, "/ignored", stdin: new MemoryStream(new byte[70_000]));
        var oldPacks = s.Storage.ListAsync("data/").ToBlockingEnumerable().Select(o => o.Name).ToHashSet();
        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        await Pruner.RunAsync(repo, s.Storage, Grace48h); // marks the old packs; this process's index knew them unmarked

        await s.BackupAsync(await s.OpenAsync(), "/ignored", stdin: new MemoryStream(new byte[70_000])); // stores the blobs again
        await repo.LoadIndexAsync();
        var blob = repo.Index.Blobs().First(b => b.Location.Type == global::Dedup.Format.BlobType.Data).Id;
        Assert.True(repo.Index.Contains(blob, Dedup.Format.DomainId.Repository));
        Assert.True(repo.Index.TryGet(blob, Dedup.Format.DomainId.Repository, out var location));
        Assert.DoesNotContain(global::Dedup.Format.Layout.Pack(location.PackId), oldPacks);
    }

    private static string Describe(PruneReport r) =>
        $"deleted={r.PacksDeleted} marked={r.PacksMarked} pending={r.MarksPending} completed={r.MarksCompleted} recovered={r.PacksRecovered} notes={string.Join("; ", r.Notes)}";

    [Fact]
    public async Task Dry_run_changes_nothing()
    {
        await using var s = await Scenario.CreateAsync();
        var repo = await s.OpenAsync();
        var first = await s.BackupAsync(repo, s.MakeTree("a", 4, 50_000, 3));
        await Forget.RunAsync(repo, s.Storage, new ForgetOptions { Ids = [first.SnapshotId.ToString()] });
        var names = s.Storage.ListAsync("").ToBlockingEnumerable().Select(o => o.Name).Order().ToList();
        var report = await Pruner.RunAsync(repo, s.Storage, new PruneOptions { Grace = TimeSpan.Zero, DryRun = true });
        Assert.True(report.PacksUnused > 0);
        Assert.Equal(names, s.Storage.ListAsync("").ToBlockingEnumerable().Select(o => o.Name).Order().ToList());
    }
}

/// <summary>A stream that signals when first read and then blocks until released, to hold a backup mid-run.</summary>
internal sealed class GateStream(byte[] data) : MemoryStream(data)
{
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Started.TrySetResult();
        await Release.Task.WaitAsync(cancellationToken);
        return base.Read(buffer.Span);
    }
}

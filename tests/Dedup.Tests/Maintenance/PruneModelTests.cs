using Dedup.Archiver.Restore;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// Model-based test of the lock-free protocol: random sequences of backups from three hosts (some held open across
/// other operations, as a slow backup would be), forgets, prunes and clock jumps through the grace period, checked
/// against a model that is just "snapshot → the bytes it holds". Nothing finished may ever be lost, and once nothing
/// refers to data and the grace period has passed twice, the space must actually be reclaimed.
/// </summary>
public sealed class PruneModelTests
{
    public enum Kind { Backup, StartSlowBackup, FinishSlowBackup, ForgetOldest, ForgetKeepLastPerHost, Prune, AdvanceHour, AdvanceDays }

    public readonly record struct Op(Kind Kind, int Host, int Content)
    {
        public override string ToString() => $"{Kind}(h{Host},c{Content})";
    }

    public static class Ops
    {
        public static Arbitrary<Op[]> Sequences() =>
            (from kind in Gen.Elements(Enum.GetValues<Kind>())
             from host in Gen.Choose(0, 2)
             from content in Gen.Choose(0, 5)
             select new Op(kind, host, content))
                .ArrayOf()
                .Where(a => a.Length is > 3 and < 25)
                .ToArbitrary();
    }

    private static readonly PruneOptions Options = new() { Grace = TimeSpan.FromHours(48), MaxBackupAge = TimeSpan.FromHours(24) };

    /// <summary>Content number k: the same bytes on every host, so hosts deduplicate against each other.</summary>
    private static byte[] Content(int k)
    {
        var data = new byte[40_000 + k * 9_000];
        new Random(1000 + k).NextBytes(data);
        return data;
    }

    [Property(Arbitrary = [typeof(Ops)], MaxTest = 25)]
    public void Nothing_finished_is_ever_lost_and_space_is_reclaimed(Op[] ops) => RunAsync(ops).GetAwaiter().GetResult();

    private static async Task RunAsync(Op[] ops)
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var model = new List<(string Id, int Host, int Content)>();
        (Task<Archiver.Backup.BackupResult> Task, GateStream Gate, int Host, int Content)? slow = null;
        string trace = string.Join(" ", ops.Select(o => o.ToString()));

        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case Kind.Backup:
                    var r = await s.BackupAsync(await s.OpenAsync(), "/x", $"h{op.Host}", new MemoryStream(Content(op.Content)));
                    model.Add((r.SnapshotId.ToString(), op.Host, op.Content));
                    break;
                case Kind.StartSlowBackup when slow is null:
                    var gate = new GateStream(Content(op.Content));
                    var client = await s.OpenAsync();
                    var task = Task.Run(() => s.BackupAsync(client, "/x", $"h{op.Host}", gate));
                    await gate.Started.Task;
                    slow = (task, gate, op.Host, op.Content);
                    break;
                case Kind.FinishSlowBackup when slow is not null:
                    slow.Value.Gate.Release.SetResult();
                    var done = await slow.Value.Task;
                    model.Add((done.SnapshotId.ToString(), slow.Value.Host, slow.Value.Content));
                    slow = null;
                    break;
                case Kind.ForgetOldest when model.Count > 0:
                    await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = [model[0].Id] });
                    model.RemoveAt(0);
                    break;
                case Kind.ForgetKeepLastPerHost when model.Count > 0:
                    var result = await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 }, GroupBy = ["host"] });
                    var removed = result.Groups.SelectMany(g => g.Items).Where(i => !i.Keep).Select(i => i.Id).ToHashSet();
                    model.RemoveAll(m => removed.Contains(m.Id));
                    break;
                case Kind.Prune:
                    await Pruner.RunAsync(admin, s.Storage, Options);
                    break;
                case Kind.AdvanceHour:
                    s.Clock.Advance(TimeSpan.FromHours(1));
                    break;
                case Kind.AdvanceDays:
                    s.Clock.Advance(TimeSpan.FromHours(30));
                    break;
            }
            if (op.Kind == Kind.Prune) await AssertRestorableAsync(s, model, trace);
        }

        if (slow is not null)
        {
            slow.Value.Gate.Release.SetResult();
            var done = await slow.Value.Task;
            model.Add((done.SnapshotId.ToString(), slow.Value.Host, slow.Value.Content));
        }
        await AssertRestorableAsync(s, model, trace);

        // Reclaim: forget everything, let two grace periods pass with prunes in between; no pack may remain.
        if (model.Count > 0) await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = model.Select(m => m.Id).ToArray() });
        for (int i = 0; i < 3; i++)
        {
            await Pruner.RunAsync(admin, s.Storage, Options);
            s.Clock.Advance(TimeSpan.FromHours(49));
        }
        await Pruner.RunAsync(admin, s.Storage, Options);
        Assert.True(s.StoredBytes("data/") == 0, $"{s.StoredBytes("data/")} bytes of packs remain with no snapshot left; ops: {trace}");
    }

    private static async Task AssertRestorableAsync(Scenario s, List<(string Id, int Host, int Content)> model, string trace)
    {
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        var ids = (await reader.Snapshots.ListAsync()).Select(x => x.Id.ToString()).ToHashSet();
        foreach (var (id, _, content) in model)
        {
            Assert.True(ids.Contains(id), $"snapshot {id[..8]} vanished; ops: {trace}");
            var target = Path.Join(s.Work, "r-" + Guid.NewGuid().ToString("n")[..8]);
            var snap = await reader.Snapshots.LoadAsync(Dedup.Format.ObjectId.Parse(id));
            var result = await Restorer.RunAsync(reader, snap, new RestoreOptions { Target = target }, new RestoreProgress());
            if (result.Failures.Count > 0) Assert.Fail($"snapshot {id[..8]} lost data: {result.Failures[0].Reason}; ops: {trace}");
            Assert.True(Content(content).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(target, "stream"))), $"snapshot {id[..8]} restored wrong bytes; ops: {trace}");
            Directory.Delete(target, true);
        }
    }
}

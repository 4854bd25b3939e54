using Dedup.Archiver.Check;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;

namespace Dedup.Tests.Reliability;

/// <summary>A random list of fault rules, printed readably when a property fails.</summary>
public sealed record FaultSchedule(FaultRule[] Rules, int Seed)
{
    public override string ToString() => $"seed {Seed}: " + string.Join("; ", Rules.Select(r => r.ToString()));
}

/// <summary>Generators of fault schedules for <see cref="StorageFaultProperties"/>.</summary>
public static class FaultSchedules
{
    // Weighted towards what a backup touches most, so that most rules fire.
    private static readonly string[] Patterns = ["*", "*", "*", "data/*", "data/*", "data/*", "index/*", "snapshots/*", "inflight/*", "marks/*"];

    private static Gen<FaultRule> Rule(Gen<StorageOp> ops, Gen<FaultKind> kinds, int maxTimes) =>
        from op in ops
        from kind in kinds
        from pattern in Gen.Elements(Patterns)
        from after in Gen.Elements(0, 0, 0, 1, 2, 3, 5, 8)
        from times in Gen.Choose(1, maxTimes)
        from keep in Gen.Choose(0, 3000)
        from p in Gen.Elements(1.0, 1.0, 0.5, 0.2)
        select new FaultRule { Operations = op, Kind = kind, NamePattern = pattern, AfterSuccesses = after, Times = times, KeepBytes = keep, Probability = p };

    /// <summary>Any fault a store can produce, except silently storing wrong bytes (which no client can notice at write time).</summary>
    public static Gen<FaultRule> AnyRule { get; } = Gen.OneOf(
        Rule(Gen.Constant(StorageOp.Put), Gen.Elements(FaultKind.Transient, FaultKind.LandThenTransient, FaultKind.AccessDenied, FaultKind.Full, FaultKind.Permanent, FaultKind.Latency), 4),
        Rule(Gen.Constant(StorageOp.Read), Gen.Elements(FaultKind.Transient, FaultKind.Permanent, FaultKind.ShortReads, FaultKind.TruncatedStream, FaultKind.FailMidStream, FaultKind.FlipBytes, FaultKind.Latency), 4),
        Rule(Gen.Elements(StorageOp.List, StorageOp.Stat), Gen.Elements(FaultKind.Transient, FaultKind.Permanent, FaultKind.AccessDenied), 3));

    /// <summary>Only faults that retrying (or looping over a stream) overcomes.</summary>
    public static Gen<FaultRule> TransientRule { get; } = Gen.OneOf(
        Rule(Gen.Constant(StorageOp.Put), Gen.Elements(FaultKind.Transient, FaultKind.LandThenTransient, FaultKind.Latency), 2),
        Rule(Gen.Constant(StorageOp.Read), Gen.Elements(FaultKind.Transient, FaultKind.ShortReads, FaultKind.Latency), 2),
        Rule(Gen.Elements(StorageOp.List, StorageOp.Stat), Gen.Constant(FaultKind.Transient), 2));

    private static Gen<FaultSchedule> Schedule(Gen<FaultRule> rule) =>
        from n in Gen.Choose(1, 5)
        from rules in Gen.ArrayOf(rule, n)
        from seed in Gen.Choose(0, 1_000_000)
        select new FaultSchedule(rules, seed);

    public static Arbitrary<FaultSchedule> Schedules() => Schedule(AnyRule).ToArbitrary();
}

/// <summary>Only-transient schedules, as their own type so the property can ask for them.</summary>
public sealed record TransientSchedule(FaultSchedule Schedule)
{
    public override string ToString() => Schedule.ToString();
}

public static class TransientSchedules
{
    public static Arbitrary<TransientSchedule> Schedules() =>
        (from n in Gen.Choose(1, 5)
         from rules in Gen.ArrayOf(FaultSchedules.TransientRule, n)
         from seed in Gen.Choose(0, 1_000_000)
         select new TransientSchedule(new FaultSchedule(rules, seed))).ToArbitrary();
}

/// <summary>
/// Random fault schedules during a real backup (<c>Archiver.RunAsync</c>) of a small tree into a repository that already
/// holds one snapshot. After every run, failed or not, every snapshot in the store loads, its trees walk, and every blob it
/// refers to is indexed and reads back verified; check finds no error; and a clean backup afterwards completes.
/// Cases are few (each is a real backup) but every one injects several faults.
/// </summary>
public sealed class StorageFaultProperties(Xunit.Abstractions.ITestOutputHelper output)
{

    [Property(MaxTest = 30, Arbitrary = [typeof(FaultSchedules)])]
    public void No_fault_schedule_leaves_a_snapshot_that_refers_to_missing_data(FaultSchedule schedule) =>
        Task.Run(() => RunAsync(schedule, expectSuccess: false)).GetAwaiter().GetResult();

    [Property(MaxTest = 20, Arbitrary = [typeof(TransientSchedules)])]
    public void Under_transient_faults_every_backup_completes_and_restores_identical(TransientSchedule schedule) =>
        Task.Run(() => RunAsync(schedule.Schedule, expectSuccess: true)).GetAwaiter().GetResult();

    [Fact]
    public async Task A_snapshot_whose_put_landed_before_a_permanent_fault_is_complete_though_the_backup_failed()
    {
        var schedule = new FaultSchedule(
        [
            new FaultRule { Operations = StorageOp.Put, Kind = FaultKind.LandThenTransient, NamePattern = "snapshots/*", Times = 1 },
            new FaultRule { Operations = StorageOp.Put, Kind = FaultKind.Permanent, NamePattern = "snapshots/*", Times = 1 },
        ], Seed: 7);
        var (error, injected) = await RunAsync(schedule, expectSuccess: false);
        Assert.NotNull(error);
        Assert.Equal(["LandThenTransient put snapshots/", "Permanent put snapshots/"], injected.Select(line => line[..(line.IndexOf('/') + 1)]));
    }

    private async Task<(Exception? Error, IReadOnlyCollection<string> Injected)> RunAsync(FaultSchedule schedule, bool expectSuccess)
    {
        await using var t = await TestRepo.InMemoryAsync();
        using var source = new TempDir("dedup-src");
        var files = DataGen.FileTree(source.Path, schedule.Seed, 120_000);
        await BackupAsync(t.Repo, source.Path);
        // Change the tree so the faulty run has new data and new trees to store, and a parent to compare with.
        File.WriteAllBytes(Path.Join(source.Path, "new file"), DataGen.RandomBytes(schedule.Seed + 1, 2_600_000)); // 3 packs
        File.WriteAllBytes(Path.Join(source.Path, files[2]), DataGen.CompressibleText(schedule.Seed + 2, 40_000));

        var faulty = new FaultInjectingStorage(t.Storage, schedule.Seed) { Enabled = false }.AddRange(schedule.Rules);
        // Each rule fires at most 4 times, and rules can stack on one call: retries must outlast all of them together.
        var attempts = 1 + schedule.Rules.Where(r => r.Kind is FaultKind.Transient or FaultKind.LandThenTransient).Sum(r => r.Times);
        Exception? error = null;
        await using (var repo = await Dedup.Repository.Repository.OpenAsync(faulty.WithRetries(FastRetries(attempts)), System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)))
        {
            faulty.Enabled = true;
            try
            {
                var result = await BackupAsync(repo, source.Path);
                if (expectSuccess)
                {
                    using var target = new TempDir("dedup-restore");
                    var restored = await RestoreAsync(repo, result.SnapshotId, target.Path);
                    if (restored.Failures.Count > 0) throw new Xunit.Sdk.XunitException($"{schedule}: restore failed: {restored.Failures[0]}");
                    if (!DataGen.Digest(source.Path).SequenceEqual(DataGen.Digest(Path.Join(target.Path, source.Path))))
                        throw new Xunit.Sdk.XunitException($"{schedule}: restored tree differs");
                }
            }
            catch (Exception e) when (!expectSuccess && IsDocumented(e))
            {
                error = e;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{schedule}: {(expectSuccess ? "failed under transient faults" : "undocumented exception")} after {faulty.FaultsInjected} faults: {e}");
            }
            faulty.Enabled = false;
        }
        output.WriteLine($"{schedule}: {faulty.FaultsInjected} faults injected; {(error is null ? "backup completed" : "backup failed: " + error.Message)}");

        int snapshots;
        try
        {
            snapshots = await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{schedule}: after {(error is null ? "a successful" : "a failed")} run ({error?.Message}), the store is inconsistent: {e}");
        }
        // A failed run stores no snapshot, unless its snapshot put landed and only the answer was lost (a retry then met a
        // permanent fault): the snapshot is then complete, and the verification above has walked it.
        var snapshotLanded = faulty.Injected.Any(line => line.StartsWith($"{FaultKind.LandThenTransient} put snapshots/", StringComparison.Ordinal));
        var expected = error is null || snapshotLanded ? 2 : 1;
        if (snapshots != expected) throw new Xunit.Sdk.XunitException($"{schedule}: {snapshots} snapshots after the run (error: {error?.Message})");

        await using (var check = await Dedup.Repository.Repository.OpenAsync(t.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)))
        {
            var r = await Checker.RunAsync(check, new CheckOptions());
            if (!r.IsOk) throw new Xunit.Sdk.XunitException($"{schedule}: check fails after the run: {string.Join("; ", r.Errors)}");
        }
        // And the next backup, with the store healthy again, completes on top of whatever the faulty run left.
        await using var next = await t.ReopenAsync();
        await BackupAsync(next, source.Path);
        await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage);
        return (error, faulty.Injected);
    }

}

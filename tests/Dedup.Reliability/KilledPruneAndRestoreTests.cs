using System.Diagnostics;
using Dedup.Archiver.Platform;
using Dedup.Reliability.Infra;
using Xunit;
using Xunit.Abstractions;

namespace Dedup.Reliability;

/// <summary>
/// Issue 5, "Killed prunes and restores": `forget --prune` and `restore` processes are killed with SIGKILL at random
/// moments; the re-run completes the work, `check` passes, and nothing kept or already restored is lost, duplicated
/// or corrupted.
/// </summary>
public sealed class KilledPruneAndRestoreTests(ITestOutputHelper output)
{
    /// <summary>No backup runs during these prunes, so grace and max backup age 0 let one run do all its work (marks,
    /// deletions, orphans left by the killed run) and a dry run afterwards must find nothing left to do.</summary>
    private static readonly string[] ForgetPrune = ["forget", "--keep-last", "1", "--prune", "--grace", "0", "--max-backup-age", "0s", "--json"];

    [Fact]
    public Task LocalBackend_KilledPrunes_AreFinishedByTheRerun() => PruneAsync("local", 6);

    [Fact]
    public Task S3Backend_KilledPrunes_AreFinishedByTheRerun() => PruneAsync("s3", 3);

    [Fact]
    public Task LocalBackend_KilledRestores_AreFinishedByTheRerun() => RestoreAsync("local", 6);

    [Fact]
    public Task S3Backend_KilledRestores_AreFinishedByTheRerun() => RestoreAsync("s3", 3);

    private async Task PruneAsync(string backend, int kills)
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync(backend, "killprune", seed);
        var rng = new Random(seed);
        var data = repo.NewDataSet("src", 12L << 20);
        await repo.BackupAsync(data, "initial backup");

        async Task TwoMoreSnapshotsAsync(string label)
        {
            // Half the data changes each time: the forgotten snapshots leave unused packs and packs to repack.
            data.Mutate(0.5);
            await repo.BackupAsync(data, label + " a");
            data.Mutate(0.5);
            await repo.BackupAsync(data, label + " b");
        }

        await TwoMoreSnapshotsAsync("before the measured prune");
        var measured = await repo.OkAsync(ForgetPrune, admin: true);
        KeepOnlyLatest(repo);
        await AssertNothingLeftToPruneAsync(repo, "after the measured prune");

        int done = 0, rounds = 0, missed = 0;
        var stages = new List<string>();
        // The estimate follows the runs that finished before their kill: unkilled runs of the same kind.
        var estimate = measured.Elapsed;
        while (done < kills)
        {
            rounds++;
            Assert.True(rounds <= kills * 3, $"{repo.Context} only {done} of {kills} prune kills landed in {rounds - 1} rounds; measured run {measured.Elapsed.TotalSeconds:0.00} s");
            await TwoMoreSnapshotsAsync($"round {rounds}");
            var beforeSnapshots = await repo.SnapshotIdsAsync();
            var beforeData = await repo.Backend.ListAsync("data");
            // A random moment, or a few milliseconds after the first snapshot is deleted or the first mark is stored: process
            // start-up dominates a small prune, so random moments alone would rarely land inside its work.
            var mode = (done % 3) switch { 1 => "snapshots", 2 => "marks", _ => "random" };
            var delay = TimeSpan.FromMilliseconds(mode == "random" ? estimate.TotalMilliseconds * (0.03 + (0.8 * rng.NextDouble())) : rng.Next(0, 60));
            var ctx = $"prune kill {done + 1} (round {rounds}, {(mode == "random" ? "" : $"on the first {mode} change + ")}{delay.TotalMilliseconds:0} ms)";
            CliResult killed;
            using (var p = repo.Start(ForgetPrune, admin: true))
            {
                var marksBefore = await repo.Backend.ListAsync("marks");
                var clock = Stopwatch.StartNew();
                if (mode == "snapshots")
                    while (!p.HasExited && (await repo.SnapshotIdsAsync()).Count >= beforeSnapshots.Count && clock.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(3);
                if (mode == "marks") await KilledBackupTests.WaitForNewObjectAsync(repo.Backend, "marks", marksBefore, p, TimeSpan.FromMinutes(1));
                await Task.Delay(delay);
                p.Kill();
                killed = await p.WaitAsync();
            }
            if (!killed.Killed)
            {
                Assert.True(killed.ExitCode == 0, $"{repo.Context} {ctx}: forget --prune failed on its own: {killed}");
                KeepOnlyLatest(repo);
                missed++;
                estimate = (estimate * 0.5) + (killed.Elapsed * 0.5);
                continue;
            }
            done++;
            var afterSnapshots = await repo.SnapshotIdsAsync();
            var afterData = await repo.Backend.ListAsync("data");
            var marks = await repo.Backend.ListAsync("marks");
            var stage = $"{beforeSnapshots.Count - afterSnapshots.Count} snapshots forgotten, {afterData.Except(beforeData).Count()} packs written, "
                        + $"{beforeData.Except(afterData).Count()} deleted, {marks.Count} marks";
            stages.Add(stage);
            ctx += $" [{stage}]";

            // The killed prune left a valid repository: check passes, and every snapshot still there restores.
            await repo.CheckAsync(ctx);
            var latest = repo.Snapshots[^1];
            var live = await repo.LiveSnapshotIdsAsync(ctx);
            Assert.Contains(latest.Id, live);
            Assert.True(live.IsSubsetOf(afterSnapshots), $"{repo.Context} {ctx}: 'snapshots' lists a snapshot that is not stored");
            await repo.RestoreAndVerifyAsync(latest, ctx + ", latest snapshot after the kill");
            var stillThere = repo.Snapshots.Where(s => s != latest && live.Contains(s.Id)).ToList();
            if (stillThere.Count > 0) await repo.RestoreAndVerifyAsync(stillThere[rng.Next(stillThere.Count)], ctx + ", a snapshot not yet forgotten");

            // The re-run completes the work.
            await repo.OkAsync(ForgetPrune, admin: true, context: " " + ctx + ", re-run");
            KeepOnlyLatest(repo);
            Assert.Equal([latest.Id], (await repo.SnapshotIdsAsync()).ToList());
            await repo.CheckAsync(ctx + ", after the re-run");
            await repo.RestoreAndVerifyAsync(latest, ctx + ", after the re-run");
            await AssertNothingLeftToPruneAsync(repo, ctx + ", after the re-run");
        }
        await repo.CheckAsync("final", readData: true);
        output.WriteLine($"{backend}: seed {seed}; {done} prune kills in {rounds} rounds ({missed} finished first); measured prune {measured.Elapsed.TotalSeconds:0.00} s; "
                         + $"{total.Elapsed.TotalSeconds:0} s in all; state at each kill: {string.Join(" | ", stages)}");
    }

    private static void KeepOnlyLatest(TestRepository repo)
    {
        var latest = repo.Snapshots[^1];
        repo.Snapshots.Clear();
        repo.Snapshots.Add(latest);
    }

    private static async Task AssertNothingLeftToPruneAsync(TestRepository repo, string ctx)
    {
        var dry = (await repo.OkAsync(["prune", "--dry-run", "--grace", "0", "--max-backup-age", "0s", "--json"], admin: true)).Json();
        long unused = dry.GetProperty("packs_unused").GetInt64(), repack = dry.GetProperty("packs_to_repack").GetInt64(), orphans = dry.GetProperty("orphan_packs").GetInt64();
        Assert.True(unused == 0 && repack == 0 && orphans == 0,
            $"{repo.Context} {ctx}: prune left work undone: {unused} unused packs, {repack} to repack, {orphans} orphans ({dry})");
        var marks = await repo.Backend.ListAsync("marks");
        Assert.True(marks.Count == 0, $"{repo.Context} {ctx}: {marks.Count} prune marks left behind");
    }

    private async Task RestoreAsync(string backend, int kills)
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync(backend, "killrestore", seed);
        var rng = new Random(seed);
        var data = repo.NewDataSet("src", 24L << 20);
        var (snap, _) = await repo.BackupAsync(data, "the snapshot");

        var measuredTarget = repo.Dir.Combine("measured");
        var measured = await repo.OkAsync(["restore", snap.Id, "--target", measuredTarget]);
        repo.VerifyRestored(snap, measuredTarget, "unkilled restore");
        TestRepository.TryDeleteDirectory(measuredTarget);

        int done = 0, rounds = 0, missed = 0;
        var states = new List<string>();
        var estimate = measured.Elapsed;
        while (done < kills)
        {
            rounds++;
            Assert.True(rounds <= kills * 3, $"{repo.Context} only {done} of {kills} restore kills landed in {rounds - 1} rounds; measured run {measured.Elapsed.TotalSeconds:0.00} s");
            var target = repo.Dir.Combine($"target-{rounds}");
            // Every other kill comes when a random number of files is complete, so that most kills land mid-restore.
            int afterFiles = done % 2 == 1 ? rng.Next(1, data.Files.Count) : 0;
            var delay = TimeSpan.FromMilliseconds(afterFiles > 0 ? 0 : estimate.TotalMilliseconds * (0.03 + (0.8 * rng.NextDouble())));
            var ctx = $"restore kill {done + 1} (round {rounds}, {(afterFiles > 0 ? $"after {afterFiles} files" : $"after {delay.TotalMilliseconds:0} ms")})";
            CliResult killed;
            using (var p = repo.Start(["restore", snap.Id, "--target", target]))
            {
                var clock = Stopwatch.StartNew();
                while (afterFiles > 0 && !p.HasExited && CompleteFiles(target) < afterFiles && clock.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(2);
                await Task.Delay(delay);
                p.Kill();
                killed = await p.WaitAsync();
            }
            if (!killed.Killed)
            {
                Assert.True(killed.ExitCode == 0, $"{repo.Context} {ctx}: restore failed on its own: {killed}");
                repo.VerifyRestored(snap, target, ctx + ", finished before the kill");
                missed++;
                estimate = (estimate * 0.5) + (killed.Elapsed * 0.5);
                TestRepository.TryDeleteDirectory(target);
                continue;
            }
            done++;

            // What the killed run finished: each complete file is left as it is by the re-run (same inode, same bytes).
            var written = Directory.Exists(target)
                ? Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".dedup-partial", StringComparison.Ordinal)
                    && new FileInfo(f).LinkTarget is null).ToDictionary(f => f, Inode)
                : [];
            int partials = Directory.Exists(target) ? Directory.EnumerateFiles(target, "*.dedup-partial", SearchOption.AllDirectories).Count() : 0;
            var state = $"{written.Count} files complete, {partials} partial";
            states.Add(state);
            ctx += $" [{state}]";

            var rerun = await repo.RunAsync(["restore", snap.Id, "--target", target, "--json"]);
            Assert.True(rerun.ExitCode == 0, $"{repo.Context} {ctx}: the re-run into the same target did not finish the restore: {rerun}");
            repo.VerifyRestored(snap, target, ctx + ", after the re-run");
            foreach (var (file, inode) in written)
                Assert.True(Inode(file) == inode, $"{repo.Context} {ctx}: {file}, complete before the re-run, was written again");
            TestRepository.TryDeleteDirectory(target);
        }
        output.WriteLine($"{backend}: seed {seed}; {done} restore kills in {rounds} rounds ({missed} finished first); measured restore {measured.Elapsed.TotalSeconds:0.00} s; "
                         + $"{total.Elapsed.TotalSeconds:0} s in all; state at each kill: {string.Join(" | ", states)}");
    }

    private static int CompleteFiles(string target)
    {
        try
        {
            return Directory.Exists(target) ? Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Count(f => !f.EndsWith(".dedup-partial", StringComparison.Ordinal)) : 0;
        }
        catch (IOException)
        {
            return 0; // a folder appeared or vanished while we looked
        }
    }

    /// <summary>Inode and ctime: a file written again (temp file + rename) has a new inode; one touched in place, a new ctime.</summary>
    private static (ulong Inode, long CTimeNs) Inode(string path)
    {
        var st = PosixFile.LStat(path);
        return (st.Inode, st.CTimeNs);
    }
}

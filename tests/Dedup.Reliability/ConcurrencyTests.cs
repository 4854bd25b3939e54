using System.Diagnostics;
using Dedup.Reliability.Infra;
using Xunit;
using Xunit.Abstractions;

namespace Dedup.Reliability;

/// <summary>
/// Issue 5, "Concurrency": several backup processes write to one repository at once — from different hosts and from
/// the same host (sharing its cache folder), with overlapping data, two of them storing the same new data — while a
/// prune marks packs. Every finished snapshot restores identical and `check --read-data` is clean; and a later prune
/// with no grace, run when nothing else runs, deletes nothing that those snapshots need.
/// </summary>
public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    [Fact]
    public Task LocalBackend_ConcurrentBackupsAndPrune() => RunAsync("local");

    [Fact]
    public Task S3Backend_ConcurrentBackupsAndPrune() => RunAsync("s3");

    private async Task RunAsync(string backend)
    {
        var total = Stopwatch.StartNew();
        int seed = TestRepository.NewSeed();
        await using var repo = await TestRepository.CreateAsync(backend, "concurrent", seed);
        var rng = new Random(seed);
        var shared = repo.NewDataSet("shared", 8L << 20, 1);
        var uniqueA = repo.NewDataSet("unique-a", 3L << 20, 2);
        var uniqueB = repo.NewDataSet("unique-b", 3L << 20, 3);
        var uniqueA2 = repo.NewDataSet("unique-a2", 3L << 20, 4);

        // The shared data is backed up once and that snapshot forgotten: its packs are unused, so the prune below
        // marks them while the backups deduplicate against them.
        var (old, _) = await repo.BackupAsync(shared, "old snapshot", host: "old-host");
        await repo.OkAsync(["forget", old.Id], admin: true);
        repo.Snapshots.Clear();
        // New data that two processes store at the same moment.
        var fresh = repo.NewDataSet("fresh", 6L << 20, 5);

        var jobs = new (string Host, DataSet[] Data)[]
        {
            ("web1", [shared, uniqueA]),
            ("web2", [shared, uniqueB]),
            ("web1", [shared, uniqueA2]), // the same host at the same time, with the same cache folder
            ("web1", [fresh]),
            ("web3", [fresh]),
        };
        var digests = jobs.Select(j => j.Data.Select(d => (d.Root, d.Digest())).ToList()).ToArray();
        var processes = jobs.Select(j => repo.Start(TestRepository.BackupArgs(j.Data.Select(d => d.Root), j.Host))).ToList();
        var pruneDelay = TimeSpan.FromMilliseconds(rng.Next(0, 400));
        await Task.Delay(pruneDelay);
        var ctx = $"5 backups with a prune started {pruneDelay.TotalMilliseconds:0} ms later";
        using var prune = repo.Start(["prune", "--json"], admin: true);
        var results = await Task.WhenAll(processes.Select(p => p.WaitAsync()));
        var pruned = await prune.WaitAsync();
        foreach (var p in processes) p.Dispose();

        Assert.True(pruned.ExitCode == 0, $"{repo.Context} {ctx}: the concurrent prune failed: {pruned}");
        for (int i = 0; i < jobs.Length; i++)
        {
            Assert.True(results[i].ExitCode == 0, $"{repo.Context} {ctx}: backup {i} (host {jobs[i].Host}) failed: {results[i]}");
            repo.Snapshots.Add(new KnownSnapshot(results[i].Json().GetProperty("snapshot_id").GetString()!, digests[i], $"backup {i} (host {jobs[i].Host})"));
        }
        long marked = pruned.Json().GetProperty("packs_marked").GetInt64();

        await VerifyAllAsync(repo, ctx);

        // Nothing runs now: a prune without grace deletes every mark's packs except the ones a snapshot needs.
        var final = await repo.OkAsync(["prune", "--grace", "0", "--json"], admin: true);
        long deleted = final.Json().GetProperty("packs_deleted").GetInt64();
        await VerifyAllAsync(repo, ctx + ", then prune --grace 0");

        output.WriteLine($"{backend}: seed {seed}; {ctx}: the concurrent prune marked {marked} packs (of the forgotten snapshot), the later prune deleted "
                         + $"{deleted}; {repo.Snapshots.Count} snapshots restored twice; backups took "
                         + string.Join(", ", results.Select(r => $"{r.Elapsed.TotalSeconds:0.0}")) + $" s; prune {pruned.Elapsed.TotalSeconds:0.0} s; {total.Elapsed.TotalSeconds:0} s in all");
    }

    private static async Task VerifyAllAsync(TestRepository repo, string ctx)
    {
        await Parallel.ForEachAsync(repo.Snapshots, new ParallelOptions { MaxDegreeOfParallelism = 2 },
            async (s, _) => await repo.RestoreAndVerifyAsync(s, ctx));
        await repo.CheckAsync(ctx, readData: true);
    }
}

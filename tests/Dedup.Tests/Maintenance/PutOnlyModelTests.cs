using System.Text;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Restore;
using Dedup.Maintenance;
using Dedup.Maintenance.Prune;
using Dedup.Repository.Keys;
using Dedup.Repository.PutOnly;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// The prune model with put-only writers (spec prune-protocol "Put-only writers"): two hosts that never read the
/// repository back up from their enrolment and local state, are killed mid-way (and resume within or past the resume
/// window), lose the response to their snapshot PUT (unknown outcome), or lose their local state, interleaved with the
/// admin's forgets (by policy and by ID) and prunes (default grace) and clock jumps. Every snapshot a host finished
/// and the admin kept must restore byte for byte after every prune.
/// </summary>
public sealed class PutOnlyModelTests
{
    public enum PKind { Backup, KilledBackup, LostResponseBackup, LoseState, ForgetKeepLast, ForgetOldest, Prune, PrunePastGrace, AdvanceHour, AdvanceDays }

    public readonly record struct POp(PKind Kind, int Host, int Content)
    {
        public override string ToString() => $"{Kind}(h{Host},c{Content})";
    }

    public static class Ops
    {
        public static Arbitrary<POp[]> Sequences() =>
            (from kind in Gen.Frequency((5, Gen.Constant(PKind.Backup)), (2, Gen.Elements(PKind.KilledBackup, PKind.LostResponseBackup)),
                 (1, Gen.Constant(PKind.LoseState)), (3, Gen.Elements(PKind.ForgetKeepLast, PKind.ForgetOldest)), (3, Gen.Elements(PKind.Prune, PKind.PrunePastGrace)),
                 (2, Gen.Elements(PKind.AdvanceHour, PKind.AdvanceDays)))
             from host in Gen.Choose(0, 1)
             from content in Gen.Choose(0, 3)
             select new POp(kind, host, content))
                .ArrayOf()
                .Where(a => a.Length is > 4 and < 30)
                .ToArbitrary();
    }

    /// <summary>Content k shares its first part with every other content, so dedup (and wrong dedup) has something to bite.</summary>
    private static byte[] Content(int k)
    {
        var data = new byte[60_000 + k * 20_000];
        new Random(7).NextBytes(data.AsSpan(0, 40_000));
        new Random(1000 + k).NextBytes(data.AsSpan(40_000));
        return data;
    }

    [Property(Arbitrary = [typeof(Ops)], MaxTest = 25)]
    public void Put_only_writers_never_lose_what_they_finished(POp[] ops) => RunAsync(ops).GetAwaiter().GetResult();

    /// <summary>
    /// The sequence the rule exists for, fixed: content 1 leaves the host's newest snapshot, the admin forgets the old
    /// one and prune deletes what only it used; content 1 comes back. A host that deduplicated against anything but its
    /// newest snapshot would now refer to deleted packs.
    /// </summary>
    [Fact]
    public Task Content_that_returns_after_forget_and_prune_is_stored_again() => RunAsync([
        new(PKind.Backup, 0, 1), new(PKind.Backup, 0, 2), new(PKind.ForgetOldest, 0, 0), new(PKind.PrunePastGrace, 0, 0),
        new(PKind.Backup, 0, 1), new(PKind.PrunePastGrace, 0, 0),
        // The same around an unknown outcome and a kill.
        new(PKind.LostResponseBackup, 0, 3), new(PKind.Backup, 0, 2), new(PKind.ForgetKeepLast, 0, 0), new(PKind.PrunePastGrace, 0, 0),
        new(PKind.KilledBackup, 0, 1), new(PKind.AdvanceDays, 0, 0), new(PKind.Backup, 0, 3), new(PKind.PrunePastGrace, 0, 0),
    ]);

    private static async Task RunAsync(POp[] ops)
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        var passwords = new[] { "h0 password"u8.ToArray(), "h1 password"u8.ToArray() };
        var enrolments = new Enrollment[2];
        for (int h = 0; h < 2; h++)
            enrolments[h] = await Enrollment.CreateAsync(admin, await KeyManager.AddAsync(admin, passwords[h], KeyKind.WriteOnly, $"h{h}", "svc", TestRepo.CheapKdf), null);
        var model = new List<(string Id, int Host, int Content)>();
        string trace = string.Join(" ", ops.Select(o => o.ToString()));

        async Task<BackupResult> Backup(int host, int content, HostFaults faults)
        {
            await using var repo = Repo.OpenEnrolled(faults, enrolments[host], passwords[host], s.Clock);
            return await Archiver.Backup.Archiver.RunAsync(repo, new BackupOptions
            {
                Host = $"h{host}", Stdin = new MemoryStream(Content(content)), StdinFileName = "stream",
                StateDirectory = Path.Join(s.Work, $"state-h{host}"), CacheDirectory = Path.Join(s.Work, $"cache-h{host}"),
            }, new BackupProgress());
        }

        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case PKind.Backup:
                    model.Add(((await Backup(op.Host, op.Content, new HostFaults(s.Storage))).SnapshotId.ToString(), op.Host, op.Content));
                    break;
                case PKind.KilledBackup:
                    // Killed before its first or its second pack: a backup that needed only one pack finishes.
                    var killed = new HostFaults(s.Storage) { DataPutsBeforeKill = op.Content % 2 };
                    try
                    {
                        model.Add(((await Backup(op.Host, op.Content, killed)).SnapshotId.ToString(), op.Host, op.Content));
                        Assert.Equal(1, killed.DataPutsBeforeKill);
                    }
                    catch (StorageUnavailableException)
                    {
                        Assert.True(killed.Killed, $"the backup failed but the kill never fired; ops: {trace}");
                    }
                    break;
                case PKind.LostResponseBackup:
                    var lost = new HostFaults(s.Storage) { LoseSnapshotResponse = true };
                    await Assert.ThrowsAnyAsync<StorageException>(() => Backup(op.Host, op.Content, lost));
                    // It landed: a finished snapshot the host does not know about, which must be kept restorable too.
                    model.Add((lost.LostSnapshot!, op.Host, op.Content));
                    break;
                case PKind.LoseState:
                    var dir = Path.Join(s.Work, $"state-h{op.Host}");
                    if (Directory.Exists(dir)) Directory.Delete(dir, true);
                    break;
                case PKind.ForgetKeepLast when model.Count > 0:
                    var result = await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
                    var removed = result.Groups.SelectMany(g => g.Items).Where(i => !i.Keep).Select(i => i.Id).ToHashSet();
                    model.RemoveAll(m => removed.Contains(m.Id));
                    break;
                case PKind.ForgetOldest:
                    // The oldest snapshot of the host that is not its newest (forget refuses a writer's newest).
                    var mine = model.Where(m => m.Host == op.Host).ToList();
                    if (mine.Count < 2) break;
                    await Forget.RunAsync(admin, s.Storage, new ForgetOptions { Ids = [mine[0].Id] });
                    model.Remove(mine[0]);
                    break;
                case PKind.Prune:
                    await Pruner.RunAsync(admin, s.Storage, new PruneOptions());
                    await AssertRestorableAsync(s, model, trace);
                    break;
                case PKind.PrunePastGrace:
                    // A prune that marks, and one past the grace period that deletes.
                    await Pruner.RunAsync(admin, s.Storage, new PruneOptions());
                    s.Clock.Advance(TimeSpan.FromHours(49));
                    await Pruner.RunAsync(admin, s.Storage, new PruneOptions());
                    await AssertRestorableAsync(s, model, trace);
                    break;
                case PKind.AdvanceHour:
                    s.Clock.Advance(TimeSpan.FromHours(1));
                    break;
                case PKind.AdvanceDays:
                    s.Clock.Advance(TimeSpan.FromHours(30));
                    break;
            }
            // Storage times of one writer's snapshots differ (S3 times have one-second resolution; backups of one path
            // set are never that close in practice): forget's "newest" is then the host's newest.
            s.Clock.Advance(TimeSpan.FromMinutes(1));
        }
        // Past every grace period, with prunes in between: still all there.
        for (int i = 0; i < 2; i++)
        {
            await Pruner.RunAsync(admin, s.Storage, new PruneOptions());
            s.Clock.Advance(TimeSpan.FromHours(49));
        }
        await Pruner.RunAsync(admin, s.Storage, new PruneOptions());
        await AssertRestorableAsync(s, model, trace);
    }

    private static async Task AssertRestorableAsync(Scenario s, List<(string Id, int Host, int Content)> model, string trace)
    {
        var reader = await s.OpenAsync();
        await reader.LoadIndexAsync();
        foreach (var (id, _, content) in model)
        {
            var target = Path.Join(s.Work, "r-" + Guid.NewGuid().ToString("n")[..8]);
            var snap = await reader.Snapshots.LoadAsync(Dedup.Format.ObjectId.Parse(id));
            var result = await Restorer.RunAsync(reader, snap, new RestoreOptions { Target = target }, new RestoreProgress());
            if (result.Failures.Count > 0) Assert.Fail($"snapshot {id[..8]} lost data: {result.Failures[0].Reason}; ops: {trace}");
            Assert.True(Content(content).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Join(target, "stream"))), $"snapshot {id[..8]} restored wrong bytes; ops: {trace}");
            Directory.Delete(target, true);
        }
    }

    /// <summary>A host's store: puts only (the library wraps it in PutOnlyStorage anyway), with a kill or a lost response.</summary>
    private sealed class HostFaults(IStorage inner) : IStorage
    {
        private int _dataPuts;
        public int? DataPutsBeforeKill { get; init; }
        public bool LoseSnapshotResponse { get; init; }
        public bool Killed { get; private set; }
        public string? LostSnapshot { get; private set; }
        public string Location => inner.Location;

        public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (Killed) throw new StorageUnavailableException("killed");
            if (name.StartsWith("data/", StringComparison.Ordinal) && Interlocked.Increment(ref _dataPuts) > DataPutsBeforeKill)
            {
                Killed = true;
                throw new StorageUnavailableException("killed");
            }
            var outcome = await inner.PutAsync(name, data, cancellationToken);
            if (LoseSnapshotResponse && name.StartsWith("snapshots/", StringComparison.Ordinal))
            {
                LostSnapshot = name["snapshots/".Length..];
                throw new StorageUnavailableException("response lost");
            }
            return outcome;
        }

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a put-only host read " + name);

        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a put-only host stat'ed " + name);

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("a put-only host listed " + prefix);
    }
}

using Dedup.Maintenance.Rollback;
using Dedup.Storage;
using Dedup.TestKit;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Storage;

/// <summary>
/// Reading as of a time and rolling back, against a model: random histories of puts, overwrites and deletes (with
/// equal times, as a coarse server clock gives) on the in-memory versioned-bucket emulation. The view at T must equal
/// the replay of the operations up to T; a rollback to T must make the current state equal it and lose no version.
/// </summary>
public sealed class AsOfStorageTests
{
    /// <summary>"data/aa/x" is a prefix of "data/aa/xy": resolving one name must not pick the other's versions.</summary>
    private static readonly string[] Names = ["config", "keys/k1", "data/aa/x", "data/aa/xy", "snapshots/s1"];

    private static readonly DateTimeOffset Start = new(2026, 5, 18, 10, 0, 0, TimeSpan.Zero);

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = Start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>One step: wait Step milliseconds (0: the same time as the last), then write Value to the name, or delete it (Value 0).</summary>
    private sealed record Op(int Name, int Value, int Step);

    private sealed record History(List<Op> Ops, int AtMs)
    {
        public override string ToString() => $"at {AtMs} ms: " + string.Join(", ", Ops.Select(o => $"+{o.Step} {Names[o.Name]}={o.Value}"));
    }

    private static Gen<History> Histories =>
        from ops in Gen.ListOf(from n in Gen.Choose(0, Names.Length - 1) from v in Gen.Choose(0, 3) from s in Gen.Choose(0, 2) select new Op(n, v, s))
        let total = ops.Sum(o => o.Step)
        from at in Gen.Choose(-1, total + 1)
        select new History(ops.ToList(), at);

    private static (VersionedMemoryStorage Store, ManualClock Clock) Replay(IEnumerable<Op> ops)
    {
        var clock = new ManualClock();
        var store = new VersionedMemoryStorage { Clock = clock };
        foreach (var op in ops)
        {
            clock.Now += TimeSpan.FromMilliseconds(op.Step);
            if (op.Value == 0) store.DeleteAsync(Names[op.Name]).GetAwaiter().GetResult();
            else store.Overwrite(Names[op.Name], Bytes(op));
        }
        return (store, clock);
    }

    /// <summary>The model: the operations up to the moment, replayed into a plain map.</summary>
    private static SortedDictionary<string, byte[]> ModelAt(IEnumerable<Op> ops, DateTimeOffset moment)
    {
        var state = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var now = Start;
        foreach (var op in ops)
        {
            now += TimeSpan.FromMilliseconds(op.Step);
            if (now > moment) break;
            if (op.Value == 0) state.Remove(Names[op.Name]);
            else state[Names[op.Name]] = Bytes(op);
        }
        return state;
    }

    /// <summary>Distinct bytes per operation value and name, of differing lengths.</summary>
    private static byte[] Bytes(Op op) => Enumerable.Repeat((byte)(op.Name * 16 + op.Value), op.Value + op.Name).ToArray();

    private static async Task<SortedDictionary<string, byte[]>> ReadAllAsync(IStorage storage)
    {
        var state = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        await foreach (var o in storage.ListAsync(""))
        {
            using var s = await storage.OpenReadAsync(o.Name);
            using var m = new MemoryStream();
            await s.CopyToAsync(m);
            Assert.Equal(o.Size, m.Length);
            state[o.Name] = m.ToArray();
        }
        return state;
    }

    private static bool SameState(SortedDictionary<string, byte[]> a, SortedDictionary<string, byte[]> b) =>
        a.Keys.SequenceEqual(b.Keys) && a.All(kv => kv.Value.AsSpan().SequenceEqual(b[kv.Key]));

    [Property(MaxTest = 300)]
    public Property The_view_at_a_moment_lists_and_reads_exactly_what_the_operations_up_to_it_left() =>
        Prop.ForAll(Histories.ToArbitrary(), h =>
        {
            var (store, _) = Replay(h.Ops);
            var moment = Start + TimeSpan.FromMilliseconds(h.AtMs);
            var versionsBefore = store.AllVersionIds();
            var view = new AsOfStorage(store, moment);
            var model = ModelAt(h.Ops, moment);
            var listed = ReadAllAsync(view).GetAwaiter().GetResult();
            // A fresh view resolves each name on its own (no listing first): stat and read agree with the model too.
            var fresh = new AsOfStorage(store, moment);
            var statsAgree = Names.All(n => fresh.StatAsync(n).GetAwaiter().GetResult() is { } o
                ? model.TryGetValue(n, out var b) && o.Size == b.Length && o.LastModified <= moment
                : !model.ContainsKey(n));
            return SameState(listed, model) && statsAgree && store.AllVersionIds().SequenceEqual(versionsBefore);
        });

    [Property(MaxTest = 300)]
    public Property A_rollback_makes_the_current_state_the_one_at_the_moment_and_removes_no_version_with_data() =>
        Prop.ForAll(Histories.ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (h, hideNewer) =>
        {
            var (store, clock) = Replay(h.Ops);
            var moment = Start + TimeSpan.FromMilliseconds(h.AtMs);
            clock.Now += TimeSpan.FromSeconds(1); // the rollback runs later than every operation
            var dataVersions = store.DataVersions;
            var before = ReadAllAsync(store).GetAwaiter().GetResult();
            var outcome = VersionRollback.RunAsync(store, "", moment, dryRun: false, hideNewer, _ => { }).GetAwaiter().GetResult();
            var model = ModelAt(h.Ops, moment);
            var now = ReadAllAsync(store).GetAwaiter().GetResult();
            // Without --remove-newer, names created since stay as they were.
            var expected = new SortedDictionary<string, byte[]>(model, StringComparer.Ordinal);
            if (!hideNewer)
                foreach (var (name, bytes) in before.Where(kv => !model.ContainsKey(kv.Key))) expected[name] = bytes;
            var again = VersionRollback.PlanAsync(store, "", moment).ToBlockingEnumerable().ToList();
            return (SameState(now, expected) && store.DataVersions >= dataVersions
                    && again.All(c => c.Kind == RollbackKind.Newer && !hideNewer)
                    && outcome.NewerHidden == (hideNewer ? outcome.Newer : 0))
                .Label($"now [{string.Join(",", now.Keys)}] expected [{string.Join(",", expected.Keys)}], replan {string.Join(",", again.Select(c => c.Kind + " " + c.Name))}");
        });

    [Property(MaxTest = 200)]
    public Property A_dry_run_changes_nothing_and_reports_what_the_real_run_then_does() =>
        Prop.ForAll(Histories.ToArbitrary(), h =>
        {
            var (store, clock) = Replay(h.Ops);
            var moment = Start + TimeSpan.FromMilliseconds(h.AtMs);
            clock.Now += TimeSpan.FromSeconds(1);
            var ids = store.AllVersionIds();
            var planned = new List<RollbackChange>();
            VersionRollback.RunAsync(store, "", moment, dryRun: true, hideNewer: true, planned.Add).GetAwaiter().GetResult();
            var unchanged = store.AllVersionIds().SequenceEqual(ids);
            var applied = new List<RollbackChange>();
            VersionRollback.RunAsync(store, "", moment, dryRun: false, hideNewer: true, applied.Add).GetAwaiter().GetResult();
            static string Show(RollbackChange c) => $"{c.Kind} {c.Name} {c.AsOf?.VersionId} {c.Current.VersionId} {string.Join('/', c.MarkersAbove.Select(m => m.VersionId))}";
            return unchanged && planned.Select(Show).SequenceEqual(applied.Select(Show));
        });

    /// <summary>Copies back wait at a gate that opens only when <paramref name="together"/> of them are in flight at once.</summary>
    private sealed class GatedCopies(VersionedMemoryStorage inner, int together) : IVersionedStorage
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _entered;
        public int MostAtOnce;
        private int _now;

        public string Location => inner.Location;
        public IAsyncEnumerable<StoredVersion> ListVersionsAsync(string prefix, CancellationToken ct = default) => inner.ListVersionsAsync(prefix, ct);
        public Task<Stream> OpenReadVersionAsync(string name, string versionId, long offset = 0, long length = -1, CancellationToken ct = default) =>
            inner.OpenReadVersionAsync(name, versionId, offset, length, ct);
        public Task DeleteVersionAsync(string name, string versionId, CancellationToken ct = default) => inner.DeleteVersionAsync(name, versionId, ct);
        public Task AddDeleteMarkerAsync(string name, CancellationToken ct = default) => inner.AddDeleteMarkerAsync(name, ct);

        public async Task CopyVersionToCurrentAsync(string name, string versionId, CancellationToken ct = default)
        {
            var now = Interlocked.Increment(ref _now);
            lock (_open) MostAtOnce = Math.Max(MostAtOnce, now);
            if (Interlocked.Increment(ref _entered) == together) _open.SetResult();
            // Bounds a failure (copies applied one at a time never open the gate); the passing run never waits on it.
            await _open.Task.WaitAsync(TimeSpan.FromMinutes(1), ct);
            Interlocked.Decrement(ref _now);
            await inner.CopyVersionToCurrentAsync(name, versionId, ct);
        }
    }

    [Fact]
    public async Task Rollback_applies_changes_side_by_side_and_reports_each_once()
    {
        var clock = new ManualClock();
        var store = new VersionedMemoryStorage { Clock = clock };
        string[] names = ["index/a", "index/b", "snapshots/c", "snapshots/d"];
        foreach (var n in names) await store.PutAsync(n, new byte[] { 1 });
        var moment = clock.Now;
        clock.Now += TimeSpan.FromSeconds(1);
        foreach (var n in names) store.Overwrite(n, [6, 6]);

        var gated = new GatedCopies(store, together: names.Length);
        var reported = new List<string>();
        var outcome = await VersionRollback.RunAsync(gated, "", moment, dryRun: false, hideNewer: false, c => reported.Add(c.Name), parallel: names.Length);

        Assert.Equal(names.Length, gated.MostAtOnce);
        Assert.Equal(names.Length, outcome.Reverted);
        Assert.Equal(names, reported.Order(StringComparer.Ordinal));
        foreach (var n in names)
        {
            using var s = await store.OpenReadAsync(n);
            Assert.Equal(1, s.ReadByte());
            Assert.Equal(-1, s.ReadByte());
        }
    }

    [Fact]
    public async Task A_name_only_deleted_since_comes_back_as_its_very_version_with_its_original_time()
    {
        var clock = new ManualClock();
        var store = new VersionedMemoryStorage { Clock = clock };
        await store.PutAsync("snapshots/s1", new byte[] { 1, 2, 3 });
        var original = (await store.StatAsync("snapshots/s1"))!.Value;
        var moment = clock.Now;
        clock.Now += TimeSpan.FromSeconds(5);
        await store.DeleteAsync("snapshots/s1");
        await store.DeleteAsync("snapshots/s1");
        clock.Now += TimeSpan.FromSeconds(5);

        var change = Assert.Single(VersionRollback.PlanAsync(store, "", moment).ToBlockingEnumerable());
        Assert.Equal(RollbackKind.Restore, change.Kind);
        Assert.True(change.RemovesDeleteMarkers);
        Assert.Equal(2, change.MarkersAbove.Count);
        await VersionRollback.ApplyAsync(store, change, hideNewer: false);
        Assert.Equal(original, await store.StatAsync("snapshots/s1"));
    }

    [Fact]
    public async Task A_name_overwritten_and_then_deleted_gets_a_copy_of_the_old_version_not_the_attackers()
    {
        var clock = new ManualClock();
        var store = new VersionedMemoryStorage { Clock = clock };
        await store.PutAsync("index/i1", new byte[] { 1 });
        var moment = clock.Now;
        clock.Now += TimeSpan.FromSeconds(1);
        store.Overwrite("index/i1", [6, 6, 6]);
        await store.DeleteAsync("index/i1");

        var change = Assert.Single(VersionRollback.PlanAsync(store, "", moment).ToBlockingEnumerable());
        Assert.Equal(RollbackKind.Restore, change.Kind);
        Assert.False(change.RemovesDeleteMarkers);
        await VersionRollback.ApplyAsync(store, change, hideNewer: false);
        using var s = await store.OpenReadAsync("index/i1");
        Assert.Equal(1, s.ReadByte());
        Assert.Equal(-1, s.ReadByte());
    }

    [Fact]
    public async Task The_view_writes_nothing_and_names_seen_by_a_listing_are_read_without_another_listing()
    {
        var store = new VersionedMemoryStorage();
        foreach (var n in Names) await store.PutAsync(n, new byte[] { 7 });
        var view = new AsOfStorage(store, DateTimeOffset.UtcNow.AddMinutes(1));
        await Assert.ThrowsAsync<ReadOnlyStorageException>(() => view.PutAsync("data/aa/new", new byte[] { 1 }));
        await Assert.ThrowsAsync<ReadOnlyStorageException>(() => view.DeleteAsync("config"));
        Assert.Equal(Names.Length, await view.ListAsync("").CountAsync());
        foreach (var n in Names) (await view.OpenReadAsync(n)).Dispose();
        Assert.Equal(0, view.SingleNameListings);
        Assert.Null(await view.StatAsync("data/aa/absent"));
        Assert.Equal(1, view.SingleNameListings);
        Assert.Equal(Names.Length, store.AllVersionIds().Count);
    }
}

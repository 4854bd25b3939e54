using System.Security.Cryptography;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Keys;
using Dedup.Maintenance.Prune;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.TestKit;
using Dedup.Tests.Adversarial;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// Model-based tests of the lock-free protocol. The first: random sequences of backups from three hosts (some held open across
/// other operations, as a slow backup would be), forgets, prunes and clock jumps through the grace period, checked
/// against a model that is just "snapshot → the bytes it holds". Nothing finished may ever be lost, and once nothing
/// refers to data and the grace period has passed twice, the space must actually be reclaimed. The second
/// (<see cref="Malicious_writers_never_cost_honest_data"/>) adds a compromised writer.
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
        var slowStarted = DateTimeOffset.MinValue;
        async Task FinishSlowAsync()
        {
            slow!.Value.Gate.Release.SetResult();
            var done = await slow.Value.Task;
            model.Add((done.SnapshotId.ToString(), slow.Value.Host, slow.Value.Content));
            slow = null;
        }
        // The protocol covers backups that run at most the max backup age (spec prune-protocol.md, "one case not
        // covered"): a slow backup finishes before the clock would carry it past that, as the malicious model does.
        async Task AdvanceAsync(TimeSpan by)
        {
            if (slow is not null && s.Clock.GetUtcNow() + by - slowStarted >= Options.MaxBackupAge) await FinishSlowAsync();
            s.Clock.Advance(by);
        }
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
                    slowStarted = s.Clock.GetUtcNow();
                    break;
                case Kind.FinishSlowBackup when slow is not null:
                    await FinishSlowAsync();
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
                    await AdvanceAsync(TimeSpan.FromHours(1));
                    break;
                case Kind.AdvanceDays:
                    await AdvanceAsync(TimeSpan.FromHours(30));
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

    // ---- A compromised writer ----------------------------------------------------------------------------------------

    /// <summary>
    /// Honest: a full-key host (h0, repository domain) and two write-only hosts (h1, h2, a domain each) back up; slow
    /// backups span other operations. <see cref="MKind.BreakIn"/> hands h2's key and append-only credentials to an
    /// attacker, whose later operations do what that key allows: forged claims (garbage packs, a key of its own, shifted
    /// offsets), back-dated, future-dated, forged-host, dangling and foreign-tree snapshots (claiming the other domains'
    /// real blobs at their real locations), junk index files, snapshots, markers and marks, and snapshots naming
    /// another host's running backup as their session. The admin forgets (by ID and by policy), prunes, revokes h2.
    /// </summary>
    public enum MKind
    {
        Backup, StartSlowBackup, FinishSlowBackup, ForgetOldest, ForgetKeepLastPerHost, Prune, AdvanceHours, AdvanceDay,
        BreakIn, ForgeClaims, OddlyDatedSnapshots, ForgedHostSnapshot, DanglingSnapshot, ForeignTreeSnapshot, Junk, StealSession, Revoke,
    }

    public readonly record struct MOp(MKind Kind, int Host, int Content)
    {
        public override string ToString() => $"{Kind}(h{Host},c{Content})";
    }

    public static class MaliciousOps
    {
        private static Gen<MOp> Op(Gen<MKind> kinds) =>
            from kind in kinds
            from host in Gen.Choose(0, 2)
            from content in Gen.Choose(0, 3)
            select new MOp(kind, host, content);

        private static readonly Gen<MKind> Honest = Gen.Frequency(
            (6, Gen.Constant(MKind.Backup)), (2, Gen.Elements(MKind.StartSlowBackup, MKind.FinishSlowBackup)),
            (2, Gen.Elements(MKind.ForgetOldest, MKind.ForgetKeepLastPerHost)), (2, Gen.Constant(MKind.Prune)),
            (2, Gen.Elements(MKind.AdvanceHours, MKind.AdvanceDay)));

        private static readonly Gen<MKind> Any = Gen.Frequency(
            (6, Honest),
            (7, Gen.Elements(MKind.ForgeClaims, MKind.OddlyDatedSnapshots, MKind.ForgedHostSnapshot, MKind.DanglingSnapshot,
                MKind.ForeignTreeSnapshot, MKind.Junk, MKind.StealSession)),
            (1, Gen.Constant(MKind.Revoke)));

        /// <summary>Honest operations, the break-in, then honest and malicious operations mixed.</summary>
        public static Arbitrary<MOp[]> Sequences() =>
            (from before in Op(Honest).ArrayOf().Where(a => a.Length is >= 2 and <= 7)
             from after in Op(Any).ArrayOf().Where(a => a.Length is >= 3 and <= 14)
             select before.Append(new MOp(MKind.BreakIn, 2, 0)).Concat(after).ToArray())
                .ToArbitrary();
    }

    /// <summary>Grace shorter than the max backup age, so that backup markers, and attacks on them, matter.</summary>
    private static readonly PruneOptions ShortGrace = new() { Grace = TimeSpan.FromHours(2), MaxBackupAge = TimeSpan.FromHours(24) };

    /// <summary>Content k of host h: distinct per host, so that data restored from another domain is recognised.</summary>
    private static byte[] HostContent(int host, int k)
    {
        var data = new byte[30_000 + k * 7_000];
        new Random(7000 + 100 * host + k).NextBytes(data);
        return data;
    }

    [Property(Arbitrary = [typeof(MaliciousOps)], MaxTest = 15)]
    public void Malicious_writers_never_cost_honest_data(MOp[] ops) => RunMaliciousAsync(ops).GetAwaiter().GetResult();

    private sealed class World(Scenario s, Dedup.Repository.Repository admin, Dedup.Repository.Repository[] hosts, ObjectId web2Key)
    {
        public Scenario S { get; } = s;
        public Dedup.Repository.Repository Admin { get; } = admin;
        public Dedup.Repository.Repository[] Hosts { get; } = hosts;
        public ObjectId Web2Key { get; } = web2Key;
        public Attacker? Attacker { get; set; }
        public bool Revoked { get; set; }
        /// <summary>Finished honest snapshots: ID, host, content.</summary>
        public List<(string Id, int Host, int Content)> Model { get; } = [];
        public (Task<Archiver.Backup.BackupResult> Task, GateStream Gate, int Host, int Content)? Slow { get; set; }
        public string Trace { get; set; } = "";
    }

    private static async Task RunMaliciousAsync(MOp[] ops)
    {
        await using var s = await Scenario.CreateAsync();
        var admin = await s.OpenAsync();
        await KeyManager.AddAsync(admin, "h1"u8.ToArray(), KeyKind.WriteOnly, "h1", "svc", TestRepo.CheapKdf);
        var web2Key = await KeyManager.AddAsync(admin, "h2"u8.ToArray(), KeyKind.WriteOnly, "h2", "svc", TestRepo.CheapKdf);
        var hosts = new[] { admin, await s.OpenAsync("h1", new AppendOnlyStorage(s.Storage)), await s.OpenAsync("h2", new AppendOnlyStorage(s.Storage)) };
        var w = new World(s, admin, hosts, web2Key) { Trace = string.Join(" ", ops.Select(o => o.ToString())) };

        foreach (var op in ops)
        {
            await StepAsync(w, op);
            if (op.Kind == MKind.Prune) await AssertHonestAndConfinedAsync(w);
        }
        await FinishSlowAsync(w);
        for (int i = 0; i < 2; i++)
        {
            await Pruner.RunAsync(admin, s.Storage, ShortGrace);
            s.Clock.Advance(TimeSpan.FromHours(3));
        }
        await AssertHonestAndConfinedAsync(w);
    }

    private static async Task StepAsync(World w, MOp op)
    {
        var s = w.S;
        var a = w.Attacker;
        // h2 is honest until the break-in; afterwards its key is the attacker's, and what it backs up is not "honest".
        bool honest = op.Host != 2 || a is null;
        switch (op.Kind)
        {
            case MKind.Backup:
                var r = await BackupAsync(w.Hosts[op.Host], op.Host, HostContent(op.Host, op.Content));
                if (honest) w.Model.Add((r.SnapshotId.ToString(), op.Host, op.Content));
                break;
            case MKind.StartSlowBackup when w.Slow is null && honest:
                var gate = new GateStream(HostContent(op.Host, op.Content));
                var host = w.Hosts[op.Host];
                var task = Task.Run(() => BackupAsync(host, op.Host, gate));
                await gate.Started.Task;
                w.Slow = (task, gate, op.Host, op.Content);
                break;
            case MKind.FinishSlowBackup:
                await FinishSlowAsync(w);
                break;
            case MKind.ForgetOldest when w.Model.Count > 0:
                try
                {
                    await Forget.RunAsync(w.Admin, s.Storage, new ForgetOptions { Ids = [w.Model[0].Id] });
                    w.Model.RemoveAt(0);
                }
                catch (RepositoryException)
                {
                    // The newest snapshot of a writer and path set is not forgotten by ID.
                }
                break;
            case MKind.ForgetKeepLastPerHost:
                var result = await Forget.RunAsync(w.Admin, s.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 }, GroupBy = ["host"] });
                var removed = result.Groups.SelectMany(g => g.Items).Where(i => !i.Keep).Select(i => i.Id).ToHashSet();
                w.Model.RemoveAll(m => removed.Contains(m.Id));
                break;
            case MKind.Prune:
                await Pruner.RunAsync(w.Admin, s.Storage, ShortGrace);
                break;
            case MKind.AdvanceHours:
                s.Clock.Advance(TimeSpan.FromHours(3));
                break;
            case MKind.AdvanceDay:
                // A backup never runs longer than the max backup age: that is what the protocol assumes.
                await FinishSlowAsync(w);
                s.Clock.Advance(TimeSpan.FromHours(25));
                break;
            case MKind.BreakIn when a is null:
                var storage = new AppendOnlyStorage(s.Storage);
                w.Attacker = new Attacker(await s.OpenAsync("h2", storage), storage);
                w.Hosts[2] = w.Attacker.Repo;
                break;
            case MKind.Revoke when a is not null && !w.Revoked:
                // The admin revokes once backups in progress are done (a backup of h2's that finishes after its key was
                // removed is, rightly, not trusted), and later than what they stored: an object stored at the very
                // instant of the revocation counts as stored after it.
                await FinishSlowAsync(w);
                s.Clock.Advance(TimeSpan.FromMinutes(1));
                await KeyMaintenance.RemoveAsync(w.Admin, s.Storage, w.Web2Key);
                w.Revoked = true;
                break;
            case MKind.ForgeClaims when a is not null:
                await ForgeClaimsAsync(a, op.Content);
                break;
            case MKind.OddlyDatedSnapshots when a is not null:
                var now = s.Clock.GetUtcNow();
                foreach (var t in new[] { now.AddDays(-1 - op.Content), now.AddHours(-23), now.AddMinutes(59), now.AddYears(70) })
                    await a.PutSnapshotAsync(a.Info(t, await OwnTreeAsync(a), host: "h2", path: "/stream"));
                break;
            case MKind.ForgedHostSnapshot when a is not null:
                await a.PutSnapshotAsync(a.Info(s.Clock.GetUtcNow().AddMinutes(30), await OwnTreeAsync(a), host: op.Host == 2 ? "h0" : $"h{op.Host}", path: "/stream"));
                break;
            case MKind.DanglingSnapshot when a is not null:
                await a.PutSnapshotAsync(a.Info(s.Clock.GetUtcNow(), [PruneTrustTests.RandomId()], host: "h2", path: "/stream"));
                break;
            case MKind.ForeignTreeSnapshot when a is not null:
                await ForeignTreeSnapshotAsync(w, a, op.Host == 2 ? 1 : op.Host);
                break;
            case MKind.Junk when a is not null:
                await a.PutAsync(Layout.IndexPrefix, RandomNumberGenerator.GetBytes(300 + op.Content));
                await a.PutAsync(Layout.SnapshotsPrefix, RandomNumberGenerator.GetBytes(300 + op.Content));
                await a.PutAsync(BackupMarker.Prefix, RandomNumberGenerator.GetBytes(300 + op.Content));
                await a.PutAsync(PruneMark.Prefix, RandomNumberGenerator.GetBytes(300 + op.Content));
                await a.PutMarkerAsync("h2", s.Clock.GetUtcNow());
                break;
            case MKind.StealSession when a is not null:
                var mine = a.Repo.Keys.SigningKey.PublicKey;
                foreach (var m in s.Storage.ListAsync(BackupMarker.Prefix).ToBlockingEnumerable())
                {
                    await using var stream = await a.Storage.OpenReadAsync(m.Name);
                    var head = new byte[70];
                    if (await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false) < head.Length || head.AsSpan(5, 65).SequenceEqual(mine)) continue;
                    await a.PutSnapshotAsync(a.Info(s.Clock.GetUtcNow(), await OwnTreeAsync(a), host: "h2", path: "/stream") with { Session = m.Name[BackupMarker.Prefix.Length..] });
                }
                break;
        }
    }

    private static Task<Archiver.Backup.BackupResult> BackupAsync(Dedup.Repository.Repository repo, int host, byte[] content) =>
        BackupAsync(repo, host, new MemoryStream(content));

    private static Task<Archiver.Backup.BackupResult> BackupAsync(Dedup.Repository.Repository repo, int host, Stream stdin) =>
        Archiver.Backup.Archiver.RunAsync(repo, new Archiver.Backup.BackupOptions { Paths = ["/stream"], Host = $"h{host}", Stdin = stdin, StdinFileName = "stream" },
            new Archiver.Backup.BackupProgress());

    private static async Task FinishSlowAsync(World w)
    {
        if (w.Slow is not { } slow) return;
        slow.Gate.Release.SetResult();
        var done = await slow.Task;
        w.Model.Add((done.SnapshotId.ToString(), slow.Host, slow.Content));
        w.Slow = null;
    }

    /// <summary>A tree of the attacker's own domain (one it stored), or a missing one when it has none.</summary>
    private static async Task<ObjectId[]> OwnTreeAsync(Attacker a)
    {
        var own = await a.OwnBlobsAsync();
        return [.. own.Where(b => b.Location.Type == BlobType.Tree).Select(b => b.Id).Take(1).DefaultIfEmpty(PruneTrustTests.RandomId())];
    }

    /// <summary>Garbage packs claiming its own blob IDs, its genuine packs with a key of its own, and with offsets shifted.</summary>
    private static async Task ForgeClaimsAsync(Attacker a, int variant)
    {
        var own = await a.OwnBlobsAsync();
        if (own.Count == 0) return;
        var forged = new List<IndexPack>();
        foreach (var type in new[] { BlobType.Data, BlobType.Tree })
        {
            var claimed = own.Where(b => b.Location.Type == type && (b.Id.Prefix64 + (ulong)variant) % 2 == 0).Select(b => (b.Id, b.Location.RawLength)).ToList();
            if (claimed.Count > 0) forged.Add(await a.PutGarbagePackAsync(type, claimed));
        }
        foreach (var claim in own.GroupBy(b => b.Location.Claim))
        {
            var first = claim.First().Location;
            var blobs = claim.Select(b => new IndexBlob(b.Id, b.Location.Offset, b.Location.StoredLength, b.Location.RawLength)).ToArray();
            forged.Add(new IndexPack(first.PackId, first.Type, a.WrapKeyOfItsOwn(), blobs));
            forged.Add(new IndexPack(first.PackId, first.Type, first.WrappedKey, blobs.Select(b => b with { Offset = b.Offset + 16 }).ToArray()));
        }
        await a.PutIndexAsync([.. forged]);
    }

    /// <summary>
    /// The strongest attacker: the test hands it another host's root trees and every location of that host's blobs;
    /// it writes a snapshot of its own host with those roots and claims those IDs in its own domain at those locations.
    /// </summary>
    private static async Task ForeignTreeSnapshotAsync(World w, Attacker a, int victim)
    {
        var cheat = await w.S.OpenAsync();
        await cheat.LoadIndexAsync();
        var theirs = (await cheat.Snapshots.LoadAllAsync((_, _) => { })).LastOrDefault(x => x.IsTrusted && x.Info.Host == $"h{victim}");
        if (theirs is null) return;
        var domain = theirs.Domain;
        var claims = cheat.Index.Blobs().Where(b => b.Location.Domain == domain).GroupBy(b => b.Location.Claim).Select(g =>
            new IndexPack(g.First().Location.PackId, g.First().Location.Type, g.First().Location.WrappedKey,
                g.Select(b => new IndexBlob(b.Id, b.Location.Offset, b.Location.StoredLength, b.Location.RawLength)).ToArray())).ToArray();
        if (claims.Length > 0) await a.PutIndexAsync(claims);
        await a.PutSnapshotAsync(a.Info(w.S.Clock.GetUtcNow(), SnapshotWalker.RootTree(theirs.Info), host: "h2", path: "/stream"));
    }

    /// <summary>
    /// Every finished honest snapshot still exists and restores byte for byte; and no trusted snapshot, the attacker's
    /// included, restores any byte another domain stored.
    /// </summary>
    private static async Task AssertHonestAndConfinedAsync(World w)
    {
        var reader = await w.S.OpenAsync();
        await reader.LoadIndexAsync();
        var all = await reader.Snapshots.LoadAllAsync((_, _) => { });
        var byId = all.ToDictionary(x => x.Id.ToString());
        foreach (var (id, host, content) in w.Model)
        {
            Assert.True(byId.TryGetValue(id, out var snap), $"honest snapshot {id[..8]} of h{host} vanished; ops: {w.Trace}");
            Assert.True(snap!.IsTrusted, $"honest snapshot {id[..8]} of h{host} is no longer trusted; ops: {w.Trace}");
            var files = await RestoreFilesAsync(w, reader, snap, mustSucceed: true);
            Assert.True(files.Count == 1 && HostContent(host, content).AsSpan().SequenceEqual(files[0]), $"snapshot {id[..8]} of h{host} restored wrong bytes; ops: {w.Trace}");
        }
        var honestIds = w.Model.Select(m => m.Id).ToHashSet();
        foreach (var snap in all.Where(x => x.IsTrusted && !honestIds.Contains(x.Id.ToString())))
        {
            // Which hosts share the snapshot's domain: its own host's contents may come back, nobody else's.
            int ownHost = snap.Domain.IsRepository ? 0 : snap.Domain == w.Hosts[1].Keys.Own.Id ? 1 : 2;
            foreach (var bytes in await RestoreFilesAsync(w, reader, snap, mustSucceed: false))
                for (int h = 0; h < 3; h++)
                    for (int k = 0; k < 4; k++)
                        Assert.False(h != ownHost && HostContent(h, k).AsSpan().SequenceEqual(bytes),
                            $"snapshot {snap.Id.ToShortString()} of domain {snap.Domain.ToShortString()} restored content {k} of h{h}; ops: {w.Trace}");
        }
    }

    private static async Task<List<byte[]>> RestoreFilesAsync(World w, Dedup.Repository.Repository reader, LoadedSnapshot snap, bool mustSucceed)
    {
        var target = Path.Join(w.S.Work, "r-" + Guid.NewGuid().ToString("n")[..8]);
        var result = await Restorer.RunAsync(reader, snap, new RestoreOptions { Target = target }, new RestoreProgress());
        if (mustSucceed && result.Failures.Count > 0) Assert.Fail($"snapshot {snap.Id.ToShortString()} lost data: {result.Failures[0].Reason}; ops: {w.Trace}");
        if (!Directory.Exists(target)) return [];
        var files = Directory.GetFiles(target, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        Directory.Delete(target, true);
        return files;
    }
}

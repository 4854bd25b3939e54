using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Dedup.Archiver.Check;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Keys;
using Dedup.Maintenance.Prune;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using Dedup.Storage;
using Dedup.TestKit;
using Dedup.Tests.Maintenance;
using Xunit;

namespace Dedup.Tests.Adversarial;

/// <summary>
/// Objects the admin cannot read. A client credential that may put objects can choose how they are stored: on AWS S3 an
/// object put with <c>x-amz-storage-class: DEEP_ARCHIVE</c> (or GLACIER) answers every GET with 403 InvalidObjectState
/// until someone restores it, and the S3 backend reports a 403 as access denied. The client policy does not restrict the
/// storage class, so a compromised host can plant such objects under any prefix.
/// </summary>
public sealed class UnreadableObjectTests
{
    /// <summary>
    /// The attacker keeps web1's old snapshot, plants an unreadable object under tombstones/ and, once the admin forgot
    /// the snapshot, uploads it again: a replay that the tombstone must keep buried. Where one unreadable tombstone
    /// emptied the admin's whole graveyard, the replayed snapshot became web1's latest and forget --keep-last 1 dropped
    /// web1's genuine newest. It also plants unreadable objects under revocations/, keys/, index/ and inflight/, each of
    /// which stopped every admin command (no key list, no revocation, no load of the index, no prune). Each unreadable
    /// object is skipped like a damaged one: no command stops, and no tombstone or revocation is lost.
    /// </summary>
    [Fact]
    public async Task Unreadable_planted_objects_neither_suppress_tombstones_nor_stop_the_admin()
    {
        await using var f = await Fleet.CreateAsync();
        var old = await f.BackupAsync(f.Web1, "web1", Fleet.Content(61));
        var attacker = await f.BreakInAsync();
        var saved = await attacker.ReadAsync(Layout.Snapshot(old.SnapshotId));
        f.Clock.Advance(TimeSpan.FromDays(1));
        var current = await f.BackupAsync(f.Web1, "web1", Fleet.Content(62));
        var web2 = await f.BackupAsync(f.Web2, "web2", Fleet.Content(63));
        await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Ids = [old.SnapshotId.ToString()] });
        Assert.NotEmpty(f.Names(Tombstone.Prefix));

        // The admin's store, where objects put in an archive storage class cannot be read; and the attacker's handle on
        // it, which puts everything it puts in that class.
        var store = new ArchiveClassStorage(f.S.Storage);
        var archiving = new AppendOnlyStorage(store.PuttingArchived);
        string[] prefixes = [Tombstone.Prefix, Revocation.Prefix, Layout.KeysPrefix, Layout.IndexPrefix, BackupMarker.Prefix];
        foreach (var prefix in prefixes)
        {
            var junk = RandomNumberGenerator.GetBytes(200);
            Assert.Equal(PutOutcome.Created, await archiving.PutAsync(prefix + ObjectId.HashOf(junk), junk));
        }
        f.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(PutOutcome.Created, await attacker.Storage.PutAsync(Layout.Snapshot(old.SnapshotId), saved));

        await using var admin = await f.S.OpenAsync(Scenario.Password, store);
        await admin.LoadIndexAsync();
        Assert.Equal(current.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", new SnapshotFilter { Host = "web1" })).Id);
        var keys = await KeyManager.ListAsync(admin);
        Assert.Contains(keys, k => k.Id == f.Web2Key);
        var check = await Checker.RunAsync(admin, new CheckOptions());
        Assert.Contains(check.Problems, p => p.ObjectName == Layout.Snapshot(old.SnapshotId));

        var forget = await Forget.RunAsync(admin, store, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
        Assert.Contains(forget.Groups.SelectMany(g => g.Items), i => i.Id == current.SnapshotId.ToString() && i.Keep);
        await KeyMaintenance.RemoveAsync(admin, store, f.Web2Key);
        var reports = new List<PruneReport>();
        for (int i = 0; i < 3; i++)
        {
            reports.Add(await Pruner.RunAsync(admin, store, Fleet.Prune48h));
            f.Clock.Advance(Fleet.Prune48h.Grace + TimeSpan.FromHours(1));
        }
        Assert.True(reports.Sum(r => r.PacksDeleted) > 0, "prune deleted nothing: the forgotten snapshot's pack should have gone");
        // Every planted object was really asked for, and refused.
        Assert.All(prefixes, p => Assert.Contains(store.RefusedReads, n => n.StartsWith(p, StringComparison.Ordinal)));
        await f.AssertRestoresAsync(current.SnapshotId, Fleet.Content(62));
        await f.AssertRestoresAsync(web2.SnapshotId, Fleet.Content(63));
    }

    /// <summary>
    /// A store in which objects put through <see cref="PuttingArchived"/> are in an archive storage class: listed like any
    /// other, but every read of them is refused, as the S3 backend reports AWS's 403 InvalidObjectState.
    /// </summary>
    private sealed class ArchiveClassStorage(MemoryStorage inner) : IMaintenanceStorage
    {
        private readonly ConcurrentDictionary<string, bool> _archived = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _refused = new();

        public string Location => inner.Location;
        public IReadOnlyCollection<string> RefusedReads => _refused.ToArray();

        /// <summary>A handle whose puts set the archive storage class (what the attacker's own S3 client does).</summary>
        public IStorage PuttingArchived => new Archiving(this);

        public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(name, data, cancellationToken);

        public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
        {
            if (_archived.ContainsKey(name))
            {
                _refused.Enqueue(name);
                throw new StorageAccessDeniedException($"{Location}: access denied for read of '{name}' (S3 error InvalidObjectState, HTTP 403).") { Operation = "read" };
            }
            return inner.OpenReadAsync(name, offset, length, cancellationToken);
        }

        public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => inner.StatAsync(name, cancellationToken);

        public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var o in inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) yield return o;
        }

        public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
        {
            _archived.TryRemove(name, out _);
            return inner.DeleteAsync(name, cancellationToken);
        }

        public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) => inner.AbortIncompleteUploadsAsync(olderThan, cancellationToken);

        private sealed class Archiving(ArchiveClassStorage store) : IStorage
        {
            public string Location => store.Location;

            public async Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
            {
                var outcome = await store.PutAsync(name, data, cancellationToken).ConfigureAwait(false);
                if (outcome == PutOutcome.Created) store._archived[name] = true;
                return outcome;
            }

            public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
                store.OpenReadAsync(name, offset, length, cancellationToken);

            public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) => store.StatAsync(name, cancellationToken);

            public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => store.ListAsync(prefix, cancellationToken);
        }
    }
}

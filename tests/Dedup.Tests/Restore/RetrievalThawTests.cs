using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Dedup.Tests.Restore;

/// <summary><see cref="Retrieval.ThawAsync"/>: each pack is handed out once, as soon as a poll finds it readable.</summary>
public sealed class RetrievalThawTests
{
    /// <summary>An archive whose objects each thaw a fixed time after their retrieval request; counts the requests.</summary>
    private sealed class ScriptedArchive(TimeProvider clock, IReadOnlyDictionary<string, TimeSpan> thawAfter) : IArchiveStorage
    {
        private readonly Dictionary<string, DateTimeOffset> _readyAt = [];
        public int Requests;

        public Task<ArchiveState> GetArchiveStateAsync(string name, CancellationToken cancellationToken = default)
        {
            lock (_readyAt)
            {
                if (!thawAfter.ContainsKey(name)) return Task.FromResult(new ArchiveState(ArchiveStatus.Hot, null, 10));
                if (!_readyAt.TryGetValue(name, out var at)) return Task.FromResult(new ArchiveState(ArchiveStatus.Archived, "GLACIER", 10));
                return Task.FromResult(clock.GetUtcNow() >= at
                    ? new ArchiveState(ArchiveStatus.Restored, "GLACIER", 10, at.AddDays(1))
                    : new ArchiveState(ArchiveStatus.Restoring, "GLACIER", 10));
            }
        }

        public Task RequestRestoreAsync(string name, RetrievalTier tier, int days, CancellationToken cancellationToken = default)
        {
            lock (_readyAt)
            {
                Requests++;
                if (thawAfter.TryGetValue(name, out var after)) _readyAt.TryAdd(name, clock.GetUtcNow() + after);
            }
            return Task.CompletedTask;
        }

        public IAsyncEnumerable<(StoredObject Object, string StorageClass)> ListNonDefaultClassAsync(string prefix, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }

    private static ObjectId Id(byte b) { var bytes = new byte[32]; bytes[0] = b; return new ObjectId(bytes); }

    [Fact]
    public async Task Packs_come_out_in_the_poll_that_finds_them_readable_each_once_and_hot_ones_first()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var interval = TimeSpan.FromMinutes(20);
        ObjectId hot = Id(1), fast = Id(2), slow = Id(3);
        var archive = new ScriptedArchive(clock, new Dictionary<string, TimeSpan>
        {
            [Layout.Pack(fast)] = TimeSpan.FromMinutes(10), // readable at the first poll
            [Layout.Pack(slow)] = TimeSpan.FromMinutes(50), // readable at the third
        });
        var plan = await Retrieval.PlanAsync(archive, [hot, fast, slow], 2);
        await Retrieval.RequestAsync(archive, plan, RetrievalTier.Standard, 1, 2);
        Assert.Equal(2, archive.Requests);

        var progress = new List<(int, int)>();
        var batches = new List<IReadOnlyList<ObjectId>>();
        await using var thaw = Retrieval.ThawAsync(archive, plan, RetrievalTier.Standard, 1, clock, interval, 2, (r, t) => progress.Add((r, t))).GetAsyncEnumerator();
        for (int poll = 0; ; poll++)
        {
            var next = thaw.MoveNextAsync();
            // Between polls the iterator waits on the clock's timer, and nothing else moves it on; after the last pack it ends at once.
            if (poll > 0 && batches.Sum(b => b.Count) < 3)
            {
                Assert.False(next.IsCompleted);
                clock.Advance(interval);
            }
            if (!await next) break;
            batches.Add(thaw.Current.Select(p => p.Pack).ToList());
        }

        Assert.Equal([[hot], [fast], [], [slow]], batches);
        Assert.Equal([(1, 3), (2, 3), (2, 3), (3, 3)], progress);
        // Packs already being retrieved are not asked for again (only archived ones, e.g. a copy that expired meanwhile).
        Assert.Equal(2, archive.Requests);
    }
}

using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Storage;
using Dedup.TestKit;
using Dedup.Tests.Storage;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;

namespace Dedup.Tests.Repository;

/// <summary>
/// The pack-oriented read path (issue #14): ranges merged per pack, one request each, each blob verified once and handed
/// to every consumer, other locations tried when a copy fails, cut reads resumed by the one retry layer, and memory
/// bounded by the ranges in flight. Against the fault-injecting store and the real S3 server.
/// </summary>
public sealed class PackStreamerTests
{
    /// <summary>Blobs of 20–60 KB written by one writer into one pack, in order; returns their IDs and plaintexts.</summary>
    private static async Task<List<(ObjectId Id, byte[] Plain)>> WriteBlobsAsync(Dedup.Repository.Repository repo, int count, int seed)
    {
        var blobs = new List<(ObjectId, byte[])>();
        var random = new Random(seed);
        await using (var writer = repo.StartWriting())
        {
            for (int i = 0; i < count; i++)
            {
                var plain = DataGen.RandomBytes(seed * 1000 + i, 20_000 + random.Next(40_000));
                blobs.Add((await writer.SaveAsync(BlobType.Data, plain), plain));
            }
            await writer.FlushAsync();
        }
        await repo.LoadIndexAsync();
        return blobs;
    }

    /// <summary>Streams the blobs (each wanted by its index in the list) and returns what was delivered, by consumer.</summary>
    private static async Task<(Dictionary<int, byte[]> Delivered, List<(WantedBlob Blob, Exception Error)> Failed)> StreamAsync(
        PackStreamer streamer, DomainId domain, IEnumerable<(ObjectId Id, int Consumer)> wants)
    {
        var delivered = new Dictionary<int, byte[]>();
        var failed = new List<(WantedBlob, Exception)>();
        await streamer.StreamAsync(wants.Select(w => (new WantedBlob(w.Id, domain), w.Consumer)), (_, plain, consumers, _) =>
        {
            lock (delivered)
                foreach (var c in consumers) Assert.True(delivered.TryAdd(c, plain.ToArray()), $"consumer {c} got a blob twice");
            return ValueTask.CompletedTask;
        }, (blob, error, _) =>
        {
            lock (failed) failed.Add((blob, error));
        });
        return (delivered, failed);
    }

    [Fact]
    public async Task Neighbouring_blobs_are_one_request_and_gaps_above_the_threshold_split_the_range()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var blobs = await WriteBlobsAsync(t.Repo, 12, seed: 1);
        var domain = t.Repo.Keys.For(DomainId.Repository).Id;
        // Every other blob: the gaps (one blob each, under 60 KB) are read through with the default threshold...
        var every = blobs.Where((_, i) => i % 2 == 0).Select((b, i) => (b.Id, i)).ToList();
        var merged = t.Repo.Streamer();
        var (got, failed) = await StreamAsync(merged, domain, every);
        Assert.Empty(failed);
        Assert.Equal(1, merged.Stats.Requests);
        Assert.All(every, w => Assert.Equal(blobs[w.i * 2].Plain, got[w.i]));
        // ...and each is a request of its own when no gap may be read through.
        var split = t.Repo.Streamer(new PackStreamerOptions { GapThreshold = 0 });
        (got, failed) = await StreamAsync(split, domain, every);
        Assert.Empty(failed);
        Assert.Equal(every.Count, split.Stats.Requests);
        Assert.True(split.Stats.BytesRead < merged.Stats.BytesRead);
    }

    [Fact]
    public async Task A_blob_wanted_by_many_consumers_is_read_and_verified_once_and_handed_to_each()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var blobs = await WriteBlobsAsync(t.Repo, 3, seed: 2);
        var domain = t.Repo.Keys.For(DomainId.Repository).Id;
        var streamer = t.Repo.Streamer();
        var (got, failed) = await StreamAsync(streamer, domain, Enumerable.Range(0, 50).Select(c => (blobs[1].Id, c)));
        Assert.Empty(failed);
        Assert.Equal(50, got.Count);
        Assert.All(got.Values, v => Assert.Equal(blobs[1].Plain, v));
        Assert.Equal(1, streamer.Stats.BlobsOpened);
        Assert.Equal(1, streamer.Stats.Requests);
    }

    [Fact]
    public async Task A_blob_in_two_packs_comes_from_its_other_copy_when_the_first_is_damaged_and_a_lost_blob_is_reported_once()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var domain = t.Repo.Keys.For(DomainId.Repository).Id;
        var plain = DataGen.RandomBytes(77, 30_000);
        var id = t.Repo.Keys.For(domain).BlobId(plain);
        // The same blob stored twice, by two writers: two packs, two index entries.
        for (int i = 0; i < 2; i++)
        {
            await using var writer = t.Repo.StartWriting();
            await writer.AddAsync(BlobType.Data, id, plain);
            await writer.FlushAsync();
        }
        await t.Repo.LoadIndexAsync();
        var locations = t.Repo.Index.Locations(id, domain);
        Assert.Equal(2, locations.Select(l => l.PackId).Distinct().Count());
        await DamageAsync(t, locations[0]);

        var streamer = t.Repo.Streamer();
        var (got, failed) = await StreamAsync(streamer, domain, [(id, 0), (id, 1)]);
        Assert.Empty(failed);
        Assert.Equal(plain, got[0]);
        Assert.Equal(plain, got[1]);
        Assert.Equal(1, streamer.Stats.Fallbacks);
        Assert.Equal(1, streamer.Stats.BlobsOpened);

        // With both copies damaged the blob is reported once, with the best copy's error, and nothing is delivered.
        await DamageAsync(t, locations[1]);
        var (none, lost) = await StreamAsync(t.Repo.Streamer(), domain, [(id, 0), (id, 1)]);
        Assert.Empty(none);
        var single = Assert.Single(lost);
        Assert.Equal(id, single.Blob.Id);
        Assert.Contains(Layout.Pack(locations[0].PackId), single.Error.Message);
    }

    /// <summary>Flips a byte inside the blob's stored bytes, as a disk fault would.</summary>
    private static async Task DamageAsync(TestRepo t, BlobLocation loc)
    {
        var name = Layout.Pack(loc.PackId);
        var bytes = await t.ReadObjectAsync(name);
        bytes[loc.Offset + loc.StoredLength / 2] ^= 0x40;
        await t.ReplaceObjectAsync(name, bytes);
    }

    [Fact]
    public async Task A_cut_at_every_range_boundary_is_resumed_and_the_blobs_are_byte_identical() =>
        await CutsAtEveryBoundaryAsync(await TestRepo.InMemoryAsync(), boundaries: 10);

    [Fact]
    public async Task A_cut_at_range_boundaries_over_the_real_S3_server_is_resumed_and_byte_identical()
    {
        var location = S3TestEnvironment.FreshLocation(purpose: "packstreamer");
        using var s3 = S3TestEnvironment.Storage(location, S3TestEnvironment.Admin);
        try
        {
            await CutsAtEveryBoundaryAsync(await TestRepo.OnStorageAsync(s3), boundaries: 4);
        }
        finally
        {
            await S3TestEnvironment.CleanUpAsync(location);
        }
    }

    /// <summary>
    /// One merged range over a pack's blobs, cut once at each blob boundary (and in the middle of the blob after it):
    /// the fault fires, the store's one retry layer reopens at the offset reached, and every blob is delivered whole.
    /// </summary>
    private static async Task CutsAtEveryBoundaryAsync(TestRepo t, int boundaries)
    {
        await using var _ = t;
        var blobs = await WriteBlobsAsync(t.Repo, 10, seed: 3);
        var domain = t.Repo.Keys.For(DomainId.Repository).Id;
        var locs = blobs.Select(b => t.Repo.Index.Locations(b.Id, domain)[0]).ToList();
        long start = locs.Min(l => l.Offset);
        var cuts = locs.OrderBy(l => l.Offset).SelectMany(l => new[] { l.Offset - start, l.Offset - start + l.StoredLength / 2 })
            .Where(c => c > 0).Take(boundaries * 2).Select(c => (int)c).ToList();
        Assert.Equal(Math.Min(boundaries * 2, 2 * blobs.Count - 1), cuts.Count); // the first blob starts the range: no cut at 0
        foreach (var cut in cuts)
        {
            var faulty = new FaultInjectingStorage(t.Storage);
            faulty.Add(new FaultRule { Operations = StorageOp.Read, NamePattern = "data/*", Kind = FaultKind.FailMidStream, KeepBytes = cut, Times = 1 });
            await using var repo = await TestRepo.OpenAsync(faulty.WithRetries(FastRetries(3)));
            var streamer = repo.Streamer();
            var (got, failed) = await StreamAsync(streamer, domain, blobs.Select((b, i) => (b.Id, i)));
            Assert.Equal(1, faulty.FaultsInjected);
            Assert.Empty(failed);
            Assert.Equal(1, streamer.Stats.Requests);
            for (int i = 0; i < blobs.Count; i++) Assert.Equal(blobs[i].Plain, got[i]);
        }
    }

    [Fact]
    public async Task Memory_is_bounded_by_the_ranges_in_flight_not_by_the_number_of_blobs()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var blobs = new List<(ObjectId Id, byte[] Plain)>();
        for (int p = 0; p < 4; p++) blobs.AddRange(await WriteBlobsAsync(t.Repo, 40, seed: 10 + p));
        var domain = t.Repo.Keys.For(DomainId.Repository).Id;
        const int maxRange = 128 * 1024;
        var streamer = t.Repo.Streamer(new PackStreamerOptions { RangesInFlight = 2, MaxRangeBytes = maxRange });
        long heldByConsumers = 0, peakHeld = 0;
        await streamer.StreamAsync(blobs.Select((b, i) => (new WantedBlob(b.Id, domain), i)), (_, plain, _, _) =>
        {
            // A probe: buffers the streamer holds, counted while a consumer holds one.
            long held = Interlocked.Increment(ref heldByConsumers);
            long seen;
            while ((seen = Interlocked.Read(ref peakHeld)) < held && Interlocked.CompareExchange(ref peakHeld, held, seen) != seen) { }
            Interlocked.Decrement(ref heldByConsumers);
            return ValueTask.CompletedTask;
        }, (_, e, _) => throw e);
        Assert.Equal(160, streamer.Stats.BlobsOpened);
        Assert.True(streamer.Stats.Requests >= 40, $"{streamer.Stats.Requests} requests: the ranges were not cut");
        Assert.InRange(streamer.Stats.PeakRangesInFlight, 1, 2);
        Assert.InRange(streamer.Stats.PeakBytesInFlight, 1, 2 * maxRange);
        Assert.InRange(peakHeld, 1, 2);
    }
}

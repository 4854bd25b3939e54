using Dedup.Repository.Trust;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Maintenance;
using Dedup.Repository.Snapshots;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Maintenance;

/// <summary>
/// What each kind of key can and cannot open, over random content and random choices of which key writes:
/// a full key opens everything anyone wrote; a write-only key can write every kind of object a backup writes and
/// read the index, but cannot open a blob, a snapshot or a backup marker, nor create a prune mark, whoever wrote them.
/// </summary>
public sealed class KeyHierarchyProperties
{
    public static class Inputs
    {
        public static Arbitrary<(byte[] Data, bool WriterIsWriteOnly)> Cases() =>
            (from length in Gen.Choose(0, 50_000)
             from seed in Gen.Choose(0, int.MaxValue)
             from writeOnly in Gen.Elements(true, false)
             select (Testing(length, seed), writeOnly)).ToArbitrary();

        private static byte[] Testing(int length, int seed)
        {
            var b = new byte[length];
            new Random(seed).NextBytes(b);
            if (seed % 2 == 0) Array.Fill(b, (byte)'a', 0, length / 2); // half the cases compress
            return b;
        }
    }

    [Property(Arbitrary = [typeof(Inputs)], MaxTest = 20)]
    public void Each_key_opens_exactly_what_its_kind_allows((byte[] Data, bool WriterIsWriteOnly) input) => RunAsync(input.Data, input.WriterIsWriteOnly).GetAwaiter().GetResult();

    private static async Task RunAsync(byte[] data, bool writerIsWriteOnly)
    {
        await using var s = await Scenario.CreateAsync();
        var full = await s.OpenAsync();
        await KeyManager.AddAsync(full, System.Text.Encoding.UTF8.GetBytes("w"), KeyKind.WriteOnly, "host-w", "u", new Argon2Parameters(64, 1, 1));
        var writeOnly = await s.OpenAsync("w");
        var writer = writerIsWriteOnly ? writeOnly : full;

        // The writer stores a blob, indexes it and writes a snapshot and a marker.
        ObjectId blob;
        await using (var w = writer.StartWriting())
        {
            blob = await w.SaveAsync(BlobType.Data, data);
            await w.FlushAsync();
        }
        var snapshot = await writer.Snapshots.SaveAsync(new SnapshotInfo { Time = s.Clock.Now, Host = "host-w", Paths = ["/p"], Tree = [blob.ToString()] });
        var marker = await writer.WriteBackupMarkerAsync("host-w");

        foreach (var repo in new[] { full, writeOnly }) await repo.LoadIndexAsync();

        // The full key reads every domain's index; the write-only key only its own domain's, which is what its
        // deduplication needs, and nothing of the full keys' domain.
        var domain = writer.Keys.Own.Id;
        Assert.True(full.Index.Contains(blob, domain));
        Assert.Equal(writerIsWriteOnly, writeOnly.Index.Contains(blob, domain));
        Assert.Equal(writerIsWriteOnly ? 0 : 1, writeOnly.IndexReport.OtherDomains);

        // The full key opens everything, whoever wrote it.
        using (var plain = await full.Blobs.ReadAsync(blob, domain)) Assert.True(plain.Span.SequenceEqual(data));
        var loaded = await full.Snapshots.LoadAsync(snapshot);
        Assert.Equal(writerIsWriteOnly ? SignerTrust.CertifiedWriter : SignerTrust.Repository, loaded.Header.Trust);
        var markerBytes = await StoredObjects.ReadAllAsync(s.Storage, BackupMarker.Prefix + marker, 4096, default);
        var trust = await full.GetTrustAsync();
        Assert.Equal("host-w", BackupMarker.Open(markerBytes, marker, default, full.Keys, trust, "m").Host);

        // The write-only key opens none of it, not even what it wrote itself.
        await Assert.ThrowsAsync<MissingCapabilityException>(() => writeOnly.Blobs.ReadAsync(blob, writeOnly.Keys.Own.Id));
        await Assert.ThrowsAsync<MissingCapabilityException>(() => writeOnly.Snapshots.LoadAsync(snapshot));
        Assert.Throws<MissingCapabilityException>(() => BackupMarker.Open(markerBytes, marker, default, writeOnly.Keys, trust, "m"));
        Assert.Throws<MissingCapabilityException>(() => PruneMark.Seal(s.Clock.Now, [blob], writeOnly.Keys));
        await Assert.ThrowsAsync<MissingCapabilityException>(() => KeyManager.AddAsync(writeOnly, System.Text.Encoding.UTF8.GetBytes("x"), KeyKind.Full, "h", "u", new Argon2Parameters(64, 1, 1)));

        // And nothing it can read contains the plaintext: every stored object, scanned for a 32-byte window of the data.
        if (data.Length < 64) return;
        var probe = data.AsSpan(data.Length - 32, 32).ToArray(); // from the random half

        await foreach (var obj in s.Storage.ListAsync(""))
        {
            var bytes = await StoredObjects.ReadAllAsync(s.Storage, obj.Name, int.MaxValue, default);
            Assert.True(bytes.AsSpan().IndexOf(probe) < 0, $"{obj.Name} holds plaintext");
        }
    }
}

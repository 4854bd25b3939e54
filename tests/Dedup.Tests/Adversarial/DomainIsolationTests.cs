using System.Text;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Trust;
using Dedup.Tests.Maintenance;
using Xunit;

namespace Dedup.Tests.Adversarial;

/// <summary>Each write-only key is confined to its dedup domain: it can neither reach another domain's data through a snapshot nor confirm it.</summary>
public sealed class DomainIsolationTests
{
    /// <summary>
    /// Spec 18, attack 3. The test cheats with the admin key to hand the attacker web1's tree and data blob IDs and
    /// their exact locations (pack, offset, lengths, wrapped key), the strongest attacker there is. It writes snapshots
    /// of its own host whose roots are web1's trees, and trees of its own that list web1's files, and claims web1's blob
    /// IDs in its own domain at web1's real locations. The admin's "restore web2" yields nothing of web1's.
    /// </summary>
    [Fact]
    public async Task A_snapshot_cannot_reach_another_domains_data()
    {
        await using var f = await Fleet.CreateAsync();
        var folder = f.S.MakeTree("web1", 3, 50_000, 7);
        var web1 = await f.BackupTreeAsync(f.Web1, "web1", folder);
        var web1Domain = f.Web1.Keys.Own.Id;
        var (web1Trees, web1Data) = await f.BlobsOfAsync(web1.SnapshotId);
        var web1Root = web1.Snapshot.Tree.Select(ObjectId.Parse).ToList();
        var cheat = await f.FreshAdminAsync();
        var locations = web1Trees.Concat(web1Data).Select(id => (id, cheat.Index.Locations(id, web1Domain).Single())).ToList();

        var attacker = await f.BreakInAsync();
        var rootsAsIs = await attacker.PutSnapshotAsync(attacker.Info(f.Clock.GetUtcNow(), web1Root));
        ObjectId tree;
        await using (var writer = attacker.Repo.StartWriting())
        {
            tree = (await TreeWriter.SaveAsync(writer, [
                new TreeNode { Name = "home", Type = NodeType.Directory, Content = web1Root },
                new TreeNode { Name = "stolen", Type = NodeType.File, Size = 150_000, Content = web1Data }], default))[0];
            await writer.FlushAsync();
        }
        var ownTrees = await attacker.PutSnapshotAsync(attacker.Info(f.Clock.GetUtcNow(), [tree], path: "/srv"));
        await attacker.PutIndexAsync([.. locations.GroupBy(l => (l.Item2.PackId, l.Item2.Type)).Select(g =>
            new IndexPack(g.Key.PackId, g.Key.Type, g.First().Item2.WrappedKey,
                g.Select(l => new IndexBlob(l.id, l.Item2.Offset, l.Item2.StoredLength, l.Item2.RawLength)).ToArray()))]);

        var admin = await f.FreshAdminAsync();
        foreach (var s in new[] { rootsAsIs, ownTrees })
            Assert.Equal(SignerTrust.CertifiedWriter, (await admin.Snapshots.LoadAsync(s)).Header.Trust);
        // Web1's IDs now resolve in web2's domain, to web1's own ciphertext: it decrypts, and fails the blob-ID check.
        foreach (var (id, _) in locations)
        {
            Assert.NotEmpty(admin.Index.Locations(id, attacker.Domain.Id));
            var e = await Assert.ThrowsAsync<CorruptObjectException>(() => admin.Blobs.ReadAsync(id, attacker.Domain.Id));
            Assert.Contains("does not hash to its ID", e.Message);
        }

        var web1Bytes = Directory.GetFiles(folder).Select(File.ReadAllBytes).ToList();
        foreach (var s in new[] { rootsAsIs, ownTrees })
        {
            var target = Path.Join(f.S.Work, "rebuild-web2-" + s.ToShortString());
            var result = await Restorer.RunAsync(admin, await admin.Snapshots.LoadAsync(s), new RestoreOptions { Target = target }, new RestoreProgress());
            Assert.NotEmpty(result.Failures);
            var restored = Directory.Exists(target) ? Directory.GetFiles(target, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList() : [];
            foreach (var data in web1Bytes)
                Assert.DoesNotContain(restored, r => Contains(r, data.AsSpan(1000, 64)) || Contains(r, data.AsSpan(40_000, 64)));
        }

        // Prune keeps web1 whole (the attacker's claims are of its own domain), and web1 restores.
        var reports = await f.PruneTwicePastGraceAsync();
        Assert.True(reports[0].DanglingSnapshots >= 1, $"{reports[0].DanglingSnapshots} dangling snapshots reported");
        var web1Target = await f.RestoreAsync(web1.SnapshotId);
        Scenario.AssertSameTree(folder, Path.Join(web1Target, folder));
    }

    /// <summary>
    /// Spec 18, attack 5. web1 stores a small secret. The attacker hashes ten thousand guesses (one of them right) with
    /// its blob-ID key and searches its index and every byte of every object it can read. Nothing matches, and other
    /// domains' index files do not open with its keys. The same search finds the secret where web2 itself stored it
    /// before the break-in, so the search works.
    /// </summary>
    [Fact]
    public async Task A_write_only_key_cannot_confirm_other_hosts_content()
    {
        await using var f = await Fleet.CreateAsync();
        var secret = Encoding.UTF8.GetBytes("db_password=Summer004217\n");
        await f.BackupAsync(f.Web1, "web1", secret, ".env");
        await f.BackupAsync(f.Web1, "web1", Fleet.Content(3, 300_000));
        var web1Domain = f.Web1.Keys.Own.Id;
        var ownSecret = Encoding.UTF8.GetBytes("api_token=Winter771923\n");
        await f.BackupAsync(f.Web2, "web2", ownSecret, ".env");

        var attacker = await f.BreakInAsync();
        await attacker.Repo.LoadIndexAsync();
        Assert.True(attacker.Repo.IndexReport.OtherDomains > 0, "the attacker's load saw no other domain's index files");
        var everything = await attacker.ReadEverythingAsync();
        Assert.Contains(everything, o => o.Name.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal));

        // Every 8-byte window of every object, to find a blob ID anywhere in what it can read without scanning per guess.
        var windows = new HashSet<ulong>();
        foreach (var (_, bytes) in everything)
            for (int i = 0; i + 8 <= bytes.Length; i++) windows.Add(BitConverter.ToUInt64(bytes, i));
        int Search(Func<int, string> guess)
        {
            int found = 0;
            for (int i = 0; i < 10_000; i++)
            {
                var id = attacker.Domain.BlobId(Encoding.UTF8.GetBytes(guess(i)));
                var bytes = id.ToArray();
                bool inStore = windows.Contains(BitConverter.ToUInt64(bytes)) && everything.Any(o => o.Bytes.AsSpan().IndexOf(bytes) >= 0);
                if (attacker.Repo.Index.Contains(id, attacker.Domain.Id) || inStore) found++;
            }
            return found;
        }
        Assert.Equal(0, Search(i => $"db_password=Summer00{i:0000}\n"));
        Assert.Equal(1, Search(i => $"api_token=Winter77{i:0000}\n"));

        // web1's index files: readable bytes, but they name a domain whose keys the attacker cannot derive or use.
        var web1Files = everything.Where(o => o.Name.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal))
            .Where(o => IndexFile.ReadHeader(o.Bytes, o.Name).Domain == web1Domain).ToList();
        Assert.NotEmpty(web1Files);
        Assert.False(attacker.Repo.Keys.CanUse(web1Domain));
        Assert.Throws<MissingCapabilityException>(() => attacker.Repo.Keys.For(web1Domain));
        foreach (var (name, bytes) in web1Files)
        {
            Assert.Throws<CorruptObjectException>(() => IndexFile.Open(bytes, attacker.Domain, SignerTrust.CertifiedWriter, name, _ => { }));
            var relabelled = PruneTrustTests.WithDomain(bytes, 5, attacker.Domain.Id);
            Assert.Throws<CorruptObjectException>(() => IndexFile.Open(relabelled, attacker.Domain, SignerTrust.CertifiedWriter, name, _ => { }));
        }
    }

    private static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}

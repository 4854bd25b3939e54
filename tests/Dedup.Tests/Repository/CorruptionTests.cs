using Dedup.Archiver.Backup;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Repository;

/// <summary>
/// Any single changed byte in a stored object is detected: reading it gives CorruptObjectException (or, for key
/// files, the password no longer opens it), never wrong data and never another exception type.
/// </summary>
public sealed class CorruptionTests
{
    private static async Task<TestRepo> RepoWithBackupAsync()
    {
        var t = await TestRepo.InMemoryAsync();
        using var dir = new TempDir();
        DataGen.FileTree(dir.Path, 7, 300_000);
        await Dedup.Archiver.Backup.Archiver.RunAsync(t.Repo, new BackupOptions { Paths = [dir.Path], Workers = 2 }, new BackupProgress());
        return t;
    }

    /// <summary>Positions to flip: every byte of small objects, a spread sample (with both ends) of large ones.</summary>
    private static IEnumerable<int> Positions(int length, int max = 400)
    {
        if (length <= max) return Enumerable.Range(0, length);
        var rng = new Random(length);
        int edge = max / 4;
        return Enumerable.Range(0, edge).Concat(Enumerable.Range(length - edge, edge))
            .Concat(Enumerable.Range(0, max - 2 * edge).Select(_ => rng.Next(length))).Distinct();
    }

    [Fact]
    public async Task Flipped_bytes_in_index_files_are_detected()
    {
        await using var t = await RepoWithBackupAsync();
        foreach (var name in await t.ListAsync(Layout.IndexPrefix))
        {
            var good = await t.ReadObjectAsync(name);
            Assert.True(Layout.TryParseId(name, out _));
            foreach (int i in Positions(good.Length))
            {
                var bad = (byte[])good.Clone();
                bad[i] ^= 0x10;
                // Both the name check and, past it, the envelope must refuse the bytes.
                Assert.NotEqual(ObjectId.HashOf(good), ObjectId.HashOf(bad));
                Assert.False(LoaderAccepts(bad, t.Repo, name), $"a flip at {i} of {good.Length} was accepted");
            }
        }
    }

    [Fact]
    public async Task Flipped_bytes_in_packs_are_detected_by_the_verifier()
    {
        await using var t = await RepoWithBackupAsync();
        var table = t.Repo.Index;
        foreach (var name in (await t.ListAsync(Layout.DataPrefix)).Take(3))
        {
            Assert.True(Layout.TryParseId(name, out var id));
            var good = await t.ReadObjectAsync(name);
            var info = table.Claims().Single(p => p.Id == id);
            var indexed = new IndexPack(id, info.Type, info.WrappedKey, table.Blobs().Where(b => b.Location.PackId == id)
                .Select(b => new IndexBlob(b.Id, b.Location.Offset, b.Location.StoredLength, b.Location.RawLength)).OrderBy(b => b.Offset).ToArray());
            Assert.True(Dedup.Repository.Packs.PackVerifier.Verify(good, id, indexed, info.Domain, t.Repo.Keys).IsIntact);
            foreach (int i in Positions(good.Length, 120))
            {
                var bad = (byte[])good.Clone();
                bad[i] ^= 0x01;
                var result = Dedup.Repository.Packs.PackVerifier.Verify(bad, id, indexed, info.Domain, t.Repo.Keys);
                Assert.False(result.HashMatches);
                // Past the name check, the damage shows in the header or in exactly the blob that holds the byte.
                Assert.True(result.HeaderProblem is not null || result.BadBlobs.Count == 1 || result.IndexMismatches.Count > 0,
                    $"flip at {i} of {good.Length} went unnoticed past the hash");
            }
        }
    }

    [Fact]
    public async Task Flipped_bytes_in_snapshots_are_detected()
    {
        await using var t = await RepoWithBackupAsync();
        var name = (await t.ListAsync(Layout.SnapshotsPrefix)).Single();
        Assert.True(Layout.TryParseId(name, out var id));
        var good = await t.ReadObjectAsync(name);
        var trust = await t.Repo.GetTrustAsync();
        foreach (int i in Positions(good.Length))
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x80;
            try
            {
                var (header, _) = Dedup.Repository.Snapshots.SnapshotEnvelope.Open(bad, id, name, t.Repo.Keys, trust, DateTimeOffset.UnixEpoch);
                // The only parts outside the AEAD are covered by the signature: a flip there must leave it untrusted.
                Assert.Equal(Dedup.Repository.Trust.SignerTrust.Untrusted, header.Trust);
            }
            catch (CorruptObjectException)
            {
            }
            await t.ReplaceObjectAsync(name, bad);
            await Assert.ThrowsAsync<CorruptObjectException>(() => t.Repo.Snapshots.LoadAsync(id));
            await t.ReplaceObjectAsync(name, good);
        }
    }

    [Fact]
    public async Task Flipped_bytes_in_key_files_are_detected_or_refuse_the_password()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var name = (await t.ListAsync(Layout.KeysPrefix)).Single();
        var good = await t.ReadObjectAsync(name);
        foreach (int i in Positions(good.Length, 150))
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x04;
            await t.ReplaceObjectAsync(name, bad);
            var ex = await Record.ExceptionAsync(() => TestRepo.OpenAsync(t.Storage));
            Assert.True(ex is CorruptObjectException or WrongPasswordException, $"flip at {i}: {ex}");
            await t.ReplaceObjectAsync(name, good);
        }
        await using var reopened = await TestRepo.OpenAsync(t.Storage);
    }

    [Fact]
    public async Task A_tampered_config_is_detected_at_open()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var good = await t.ReadObjectAsync(Layout.Config);
        var config = RepositoryConfig.Parse(good);
        var tampered = (config with { PackSize = config.PackSize * 2 }).Serialize();
        await t.ReplaceObjectAsync(Layout.Config, tampered);
        var ex = await Assert.ThrowsAsync<CorruptObjectException>(() => Repo.OpenAsync(t.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)));
        Assert.Equal(Layout.Config, ex.ObjectName);

        foreach (int i in Positions(good.Length, 100))
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x02;
            await t.ReplaceObjectAsync(Layout.Config, bad);
            await Assert.ThrowsAsync<CorruptObjectException>(() => Repo.OpenAsync(t.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)));
        }
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_WrongPasswordException()
    {
        await using var t = await TestRepo.InMemoryAsync();
        await Assert.ThrowsAsync<WrongPasswordException>(() => Repo.OpenAsync(t.Storage, System.Text.Encoding.UTF8.GetBytes("not the password")));
    }

    [Fact]
    public async Task Password_bytes_are_used_as_given()
    {
        // Two byte strings that a lossy UTF-8 decode would make equal (both invalid sequences become U+FFFD).
        var storage = new MemoryStorage();
        await Repo.InitAsync(storage, new byte[] { 0x70, 0xC3 }, TestRepo.Options);
        await using (await Repo.OpenAsync(storage, new byte[] { 0x70, 0xC3 })) { }
        await Assert.ThrowsAsync<WrongPasswordException>(() => Repo.OpenAsync(storage, new byte[] { 0x70, 0xC4 }));
        await Assert.ThrowsAsync<WrongPasswordException>(() => Repo.OpenAsync(storage, "p\uFFFD"u8.ToArray()));
    }

    [Fact]
    public async Task An_empty_store_is_not_a_repository()
    {
        await Assert.ThrowsAsync<RepositoryNotFoundException>(() => Repo.OpenAsync(new MemoryStorage(), System.Text.Encoding.UTF8.GetBytes("x")));
    }

    /// <summary>Whether the index loader would take the file's claims: its signer trusted for its domain, and its envelope opening.</summary>
    private static bool LoaderAccepts(byte[] bytes, Repo repo, string name)
    {
        try
        {
            var header = IndexFile.ReadHeader(bytes, name);
            var signer = repo.GetTrustAsync().GetAwaiter().GetResult().Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, DateTimeOffset.UnixEpoch);
            if (!signer.IsTrusted || !repo.Keys.CanUse(header.Domain)) return false;
            IndexFile.Open(bytes, repo.Keys.For(header.Domain), signer.Trust, name, _ => { });
            return true;
        }
        catch (CorruptObjectException)
        {
            return false;
        }
    }
}

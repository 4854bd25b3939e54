using Dedup.Archiver.Restore;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Storage;

namespace Dedup.Fuzz.Targets;

/// <summary>
/// The whole "open the repository, then restore" path on a damaged repository (issue 5): the fixture repository
/// with one pack, index file or snapshot replaced by the input, then open, load the index, load every snapshot
/// and restore each into a temporary folder, as <c>dedup restore</c> does.
/// Input: byte 0 picks the object (modulo the count); the rest replaces it. A pack or snapshot is stored under
/// its old name (so a ranged read meets the damage, as with bit rot). An index file's bytes are the index
/// plaintext, sealed with the repository's index key and stored under its own hash: an index poisoned by a
/// holder of a write-only key, which the restore must survive. A restore may fail a file (it reports it in its
/// result); only the repository's documented exceptions may escape to the CLI.
/// </summary>
public sealed class RestoreTarget : IFuzzTarget
{
    public string Name => "restore";

    public void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return;
        var fixture = RestoreFixture.Shared;
        var mutable = fixture.Mutable;
        var (name, _) = mutable[data[0] % mutable.Count];
        var payload = data[1..].ToArray();
        var target = Path.Combine(Path.GetTempPath(), $"dedup-fuzz-restore-{Guid.NewGuid():N}");
        try
        {
            RunAsync(fixture, name, payload, target).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is CorruptObjectException or RepositoryException or StorageException or BlobMissingException)
        {
        }
        finally
        {
            if (Directory.Exists(target)) Directory.Delete(target, true);
        }
    }

    /// <summary>The path under test; public so that a test can show the undamaged fixture restores completely.</summary>
    public static async Task<List<RestoreResult>> RunAsync(RestoreFixture fixture, string replaced, byte[] payload, string target)
    {
        var storage = new MemoryStorage();
        foreach (var (name, bytes) in fixture.Objects)
            if (name != replaced) await storage.PutAsync(name, bytes);
        bool isIndex = replaced.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal);
        if (!isIndex) await storage.PutAsync(replaced, payload);

        await using var repo = await Repository.Repository.OpenAsync(storage, System.Text.Encoding.UTF8.GetBytes(RestoreFixture.Password));
        if (isIndex)
        {
            var packs = new List<IndexPack>();
            IndexCodec.Read(payload, "index/fuzz", packs.Add);
            var sealedIndex = IndexFile.Seal(packs, repo.Keys.Own, repo.Keys);
            await storage.PutAsync(Layout.Index(ObjectId.HashOf(sealedIndex)), sealedIndex);
        }
        await repo.LoadIndexAsync();
        var results = new List<RestoreResult>();
        foreach (var snapshot in await repo.Snapshots.LoadAllAsync())
        {
            var options = new RestoreOptions { Target = target, Workers = 2, Overwrite = OverwriteMode.Always, RestoreOwners = false };
            results.Add(await Restorer.RunAsync(repo, snapshot, options, new RestoreProgress()));
        }
        return results;
    }

    public IEnumerable<byte[]> Seeds() => SeedsAsync().GetAwaiter().GetResult();

    private static async Task<List<byte[]>> SeedsAsync()
    {
        var fixture = RestoreFixture.Shared;
        var storage = new MemoryStorage();
        foreach (var (name, bytes) in fixture.Objects) await storage.PutAsync(name, bytes);
        await using var repo = await Repository.Repository.OpenAsync(storage, System.Text.Encoding.UTF8.GetBytes(RestoreFixture.Password));
        var seeds = new List<byte[]>();
        var mutable = fixture.Mutable;
        for (int i = 0; i < mutable.Count; i++)
        {
            var (name, bytes) = mutable[i];
            if (name.StartsWith(Layout.IndexPrefix, StringComparison.Ordinal))
            {
                var packs = new List<IndexPack>();
                IndexFile.Open(bytes, repo.Keys.For(IndexFile.ReadHeader(bytes, name).Domain), Dedup.Repository.Trust.SignerTrust.Repository, name, packs.Add);
                using var plain = new PooledBufferWriter();
                IndexCodec.Write(plain, packs);
                bytes = plain.WrittenSpan.ToArray();
            }
            seeds.Add([(byte)i, .. bytes]);
        }
        return seeds;
    }
}

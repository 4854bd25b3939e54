using Dedup.Archiver.Backup;
using Dedup.Archiver.Restore;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;
using Dedup.TestKit;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Reliability;

/// <summary>Shared steps of the reliability tests: backing up a small tree, verifying what is stored, restoring.</summary>
internal static class ReliabilityHelpers
{
    /// <summary>Retries without real waiting, so that tests with many transient faults stay fast.</summary>
    public static RetryPolicy FastRetries(int attempts) =>
        new() { MaxAttempts = attempts, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) };

    public static BackupOptions Options(string path) =>
        new() { Paths = [path], Workers = 2, UploadConcurrency = 2, Host = "testhost", Username = "tester" };

    public static Task<BackupResult> BackupAsync(Repo repo, string path, CancellationToken ct = default) =>
        Dedup.Archiver.Backup.Archiver.RunAsync(repo, Options(path), new BackupProgress(), ct);

    /// <summary>The exceptions a user may see from the library; anything else is a bug (it would print a stack trace).</summary>
    public static bool IsDocumented(Exception e) =>
        e is StorageException or CorruptObjectException or RepositoryException;

    /// <summary>
    /// The key property: every snapshot in the store loads, every tree below it decodes, and every blob any of them refers
    /// to is indexed and reads back verified. Returns the number of snapshots; throws with the first violation.
    /// </summary>
    public static async Task<int> VerifyNoSnapshotRefersToMissingDataAsync(IStorage storage)
    {
        await using var repo = await TestRepo.OpenAsync(storage);
        var ids = await repo.Snapshots.ListAsync();
        var seenTrees = new HashSet<ObjectId>();
        var seenBlobs = new HashSet<ObjectId>();
        foreach (var (id, _) in ids)
        {
            var snapshot = await repo.Snapshots.LoadAsync(id);
            foreach (var t in SnapshotWalker.RootTree(snapshot.Info))
                await ReadAsync(repo, snapshot.Domain, t, BlobType.Tree, seenTrees, $"root tree of {id}");
            await foreach (var entry in SnapshotWalker.WalkAsync(repo, snapshot))
            {
                var type = entry.Node.Type == NodeType.Directory ? BlobType.Tree : BlobType.Data;
                foreach (var b in entry.Node.Content)
                    await ReadAsync(repo, snapshot.Domain, b, type, type == BlobType.Tree ? seenTrees : seenBlobs, $"{entry.Path} in snapshot {id}");
            }
        }
        return ids.Count;
    }

    private static async Task ReadAsync(Repo repo, Dedup.Format.DomainId domain, ObjectId id, BlobType type, HashSet<ObjectId> seen, string where)
    {
        if (!seen.Add(id)) return;
        if (!repo.Index.TryGet(id, domain, out var loc)) throw new InvalidOperationException($"blob {id} of {where} is in no index");
        if (loc.Type != type) throw new InvalidOperationException($"blob {id} of {where} is a {loc.Type} blob, expected {type}");
        using var _ = await repo.Blobs.ReadAsync(id, domain);
    }

    public static async Task<RestoreResult> RestoreAsync(Repo repo, ObjectId snapshot, string target, bool overwrite = false)
    {
        var loaded = await repo.Snapshots.LoadAsync(snapshot);
        return await Restorer.RunAsync(repo, loaded, new RestoreOptions { Target = target, Workers = 2, Overwrite = overwrite ? OverwriteMode.Always : OverwriteMode.Never, RestoreOwners = false }, new RestoreProgress());
    }

    /// <summary>Every file, directory and link below <paramref name="dir"/>, recursively (never following links).</summary>
    public static List<string> Everything(string dir) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).ToList()
            : [];
}

using Dedup.Archiver.Backup;
using Dedup.Archiver.Trees;
using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Tests.Backup;

/// <summary>Backing up through the library and reading back what a snapshot holds, by path relative to the source folder.</summary>
internal static class BackupTestSupport
{
    public static BackupOptions Options(params string[] paths) =>
        new() { Paths = paths, Workers = 2, UploadConcurrency = 2, Host = "testhost", Username = "tester" };

    public static Task<BackupResult> BackupAsync(Repo repo, BackupOptions options) =>
        Dedup.Archiver.Backup.Archiver.RunAsync(repo, options, new BackupProgress());

    /// <summary>Every entry of the snapshot below <paramref name="root"/> (an absolute source path), keyed by its path relative to it.</summary>
    public static async Task<Dictionary<string, TreeNode>> EntriesAsync(Repo repo, SnapshotInfo info, string root)
    {
        var prefix = root.TrimEnd('/') + "/";
        var entries = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        await foreach (var e in SnapshotWalker.WalkAsync(repo, info, repo.Keys.Own.Id))
            if (e.Path.StartsWith(prefix, StringComparison.Ordinal)) entries[e.Path[prefix.Length..]] = e.Node;
        return entries;
    }

    public static async Task<List<string>> PathsAsync(Repo repo, SnapshotInfo info, string root) =>
        (await EntriesAsync(repo, info, root)).Keys.Order(StringComparer.Ordinal).ToList();

    public static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public static void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}

using System.Text.Json.Nodes;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Cache;
using Dedup.Archiver.Filtering;
using Dedup.Cli.Cli;
using Dedup.Format;
using BackupRunner = Dedup.Archiver.Backup.Archiver;

namespace Dedup.Cli.Commands;

public static class BackupCommand
{
    public static readonly Verb Verb = new("backup", "[options] PATH...",
        "Back up files and directories, or standard input, into a new snapshot.",
        """
        Only what changed since the parent snapshot is read and stored. A file is unchanged when its size, mtime,
        ctime and inode match the parent's. Files that vanish or cannot be read are listed on stderr and left
        out; the snapshot is still saved, marked incomplete, and the exit code is 3.
        Patterns: '*', '?' and '[abc]' match within a name, '**' any number of directories; a pattern starting
        with '/' is anchored at the root, others match at any depth.
        Example: mysqldump db | dedup backup --stdin --stdin-filename db.sql
        """,
        [
            new("tag", null, "TAG", "add a tag; TAG may be a comma-separated list", Repeatable: true),
            new("host", null, "NAME", "host name to record (default: this machine's; for a write-only key, the host it was made for)"),
            new("exclude", 'e', "PATTERN", "leave out paths matching PATTERN", Repeatable: true),
            new("exclude-file", null, "FILE", "read exclude patterns from FILE, one per line ('#' starts a comment)", Repeatable: true),
            new("one-file-system", 'x', null, "do not cross into other file systems"),
            new("stdin", null, null, "back up standard input as one file"),
            new("stdin-filename", null, "NAME", "the file name for --stdin (default 'stdin')"),
            new("parent", null, "SNAPSHOT", "compare with this snapshot (default: the latest of the same host and paths)"),
            new("no-cache", null, null, "do not use the local cache (its default place: see 'dedup help environment')"),
        ],
        0, int.MaxValue, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var a = ctx.Args;
        bool stdin = a.Has("stdin");
        if (stdin && a.Positionals.Count > 0) throw new UsageException("give either --stdin or paths, not both");
        if (!stdin && a.Positionals.Count == 0) throw new UsageException("give at least one PATH to back up, or --stdin: dedup backup [options] PATH...");
        if (a.Has("no-cache") && a.Has("cache-dir")) throw new UsageException("give either --no-cache or --cache-dir, not both");
        if (!stdin && a.Has("stdin-filename")) throw new UsageException("--stdin-filename only goes with --stdin");

        var excludes = a.GetAll("exclude").ToList();
        foreach (var file in a.GetAll("exclude-file")) excludes.AddRange(PathFilter.ReadFile(file));
        var options = new BackupOptions
        {
            Paths = a.Positionals,
            Host = a.Get("host") ?? Environment.MachineName,
            Tags = a.GetList("tag"),
            Excludes = excludes.Where(p => p.Trim().Length > 0 && !p.TrimStart().StartsWith('#')).ToList(),
            OneFileSystem = a.Has("one-file-system"),
            StdinFileName = a.Get("stdin-filename") ?? "stdin",
            // The cache is what lets a write-only key (which cannot read its parent snapshot) skip unchanged files,
            // and it saves a full key from downloading the parent's trees, so it is on unless asked otherwise.
            CacheDirectory = a.Has("no-cache") ? null : a.Get("cache-dir") ?? TreeCache.DefaultBase(),
        };
        if (!stdin) foreach (var p in options.Paths) CheckExists(p);

        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        // A write-only key backs up as the host it was certified for, unless told otherwise (which the archiver refuses).
        if (a.Get("host") is null && repo.Keys.CertifiedHost(repo.Config.SigningPublicKeyBytes) is { } certified)
            options = options with { Host = certified };
        if (a.Get("parent") is { } parent)
        {
            options = options with
            {
                Parent = ObjectId.TryParse(parent, out var full) ? full
                    : (await repo.Snapshots.ResolveAsync(parent, null, ctx.Cancellation).ConfigureAwait(false)).Id,
            };
        }
        var progress = new BackupProgress();
        BackupResult result;
        await using (var input = stdin ? Console.OpenStandardInput() : null)
        using (new ProgressLine(ctx, t => $"{progress.Files} files, {progress.Directories} dirs, {Text.Bytes(progress.BytesProcessed)} scanned, "
                                          + $"{Text.Bytes(progress.BytesAdded)} added, {ProgressLine.RateAndEta(progress.BytesRead, 0, t)}, {Text.Duration(t)}"
                                          + (progress.Errors > 0 ? $", {progress.Errors} errors" : "")))
        {
            result = await BackupRunner.RunAsync(repo, options with { Stdin = input }, progress, ctx.Cancellation).ConfigureAwait(false);
            ctx.WarnDamagedIndex(repo);
        }

        foreach (var f in result.Failures) ctx.Warn($"could not back up {f.Path}: {f.Reason}");
        Report(ctx, result);
        if (!result.Incomplete) return ExitCodes.Ok;
        ctx.Warn($"snapshot {result.SnapshotId.ToShortString()} was saved but is incomplete: {result.Failures.Count} path(s) could not be read (listed above)");
        return ExitCodes.Partial;
    }

    private static void CheckExists(string path)
    {
        // A typo in a path would otherwise produce a snapshot that silently lacks it.
        if (!File.Exists(path) && !Directory.Exists(path) && !IsLink(path))
            throw new UsageException($"{path} does not exist; check the path");
    }

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Report(CliContext ctx, BackupResult result)
    {
        var s = result.Snapshot.Summary;
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["message_type"] = "summary",
                ["snapshot_id"] = result.SnapshotId.ToString(),
                ["short_id"] = result.SnapshotId.ToShortString(),
                ["incomplete"] = result.Incomplete,
                ["files_new"] = s.FilesNew, ["files_changed"] = s.FilesChanged, ["files_unmodified"] = s.FilesUnmodified,
                ["files_failed"] = s.FilesFailed,
                ["dirs_new"] = s.DirsNew, ["dirs_changed"] = s.DirsChanged, ["dirs_unmodified"] = s.DirsUnmodified,
                ["bytes_read"] = s.BytesRead, ["bytes_total"] = s.BytesTotal, ["bytes_added"] = s.BytesAdded,
                ["bytes_added_stored"] = s.BytesAddedStored, ["blobs_added"] = s.BlobsAdded,
                ["duration_seconds"] = s.DurationSeconds,
                ["failures"] = new JsonArray(result.Failures.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["reason"] = f.Reason }).ToArray()),
            });
            return;
        }
        ctx.Say($"Files:     {s.FilesNew} new, {s.FilesChanged} changed, {s.FilesUnmodified} unmodified" + (s.FilesFailed > 0 ? $", {s.FilesFailed} failed" : ""));
        ctx.Say($"Dirs:      {s.DirsNew} new, {s.DirsChanged} changed, {s.DirsUnmodified} unmodified");
        ctx.Say($"Data:      {Text.Bytes(s.BytesRead)} read of {Text.Bytes(s.BytesTotal)}, {Text.Bytes(s.BytesAdded)} added ({Text.Bytes(s.BytesAddedStored)} stored)");
        ctx.Say($"Duration:  {Text.Duration(TimeSpan.FromSeconds(s.DurationSeconds))}");
        ctx.Say($"snapshot {result.SnapshotId.ToShortString()} saved" + (result.Incomplete ? " (incomplete)" : ""));
    }
}

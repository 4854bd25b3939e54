using System.Text.Json.Nodes;
using Dedup.Archiver.Restore;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

public static class RestoreCommand
{
    public static readonly Verb Verb = new("restore", "SNAPSHOT --target DIR [options]",
        "Restore a snapshot, or part of it, into a directory.",
        """
        SNAPSHOT is an ID, a unique ID prefix, 'latest' or 'latest~N' (of --host, if given), among trusted snapshots.
        Who signed the snapshot is printed before anything is written.
        Contents, directories, symlinks, modes and mtimes are restored, and owners when run as root. Every block
        read is verified. Without --overwrite, existing files that differ from the snapshot are left alone, named, and the exit code is 3.
        Files that could not be restored are listed on stderr, and the exit code is 3.
        """,
        [
            new("target", 't', "DIR", "restore into DIR (created if needed)"),
            new("include", 'i', "PATTERN", "restore only paths matching PATTERN (and what is inside them)", Repeatable: true),
            new("exclude", 'e', "PATTERN", "leave out paths matching PATTERN", Repeatable: true),
            new("overwrite", null, null, "replace files that already exist in the target"),
            new("host", null, "NAME", "with 'latest': the latest snapshot of this host"),
            new("include-untrusted", null, null, "forensics: also consider snapshots whose signer is not trusted"),
        ],
        1, 1, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var target = ctx.Args.Get("target") ?? throw new UsageException("restore needs --target DIR: dedup restore SNAPSHOT --target DIR");
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "restore files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Args.Positionals[0], ctx.SnapshotFilter(), ctx.Cancellation).ConfigureAwait(false);
        ctx.SaySigner(snapshot);
        var options = new RestoreOptions
        {
            Target = target,
            Includes = ctx.Args.GetAll("include"),
            Excludes = ctx.Args.GetAll("exclude"),
            Overwrite = ctx.Args.Has("overwrite"),
            // Against S3 each small file is one ranged GET: keep every connection busy (three files per connection
            // covers the time a file spends being written locally).
            FilesInFlight = ctx.OpenStorage().S3 is null ? 0 : 3 * StorageFactory.S3Connections(ctx.Args),
        };
        var progress = new RestoreProgress();
        RestoreResult result;
        using (new ProgressLine(ctx, t => $"{progress.Files}/{Total(progress.TotalFiles)} files, {Text.Bytes(progress.Bytes)}/{TotalBytes(progress.TotalBytes)}, "
                                          + $"{ProgressLine.RateAndEta(progress.Bytes, progress.TotalBytes, t)}, {Text.Duration(t)}"))
        {
            result = await Restorer.RunAsync(repo, snapshot, options, progress, ctx.Cancellation).ConfigureAwait(false);
        }
        foreach (var f in result.Failures) ctx.Warn($"could not restore {f.Path}: {f.Reason}");
        foreach (var p in result.SkippedPaths) ctx.Warn($"left as it is (exists and differs): {p}");
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["message_type"] = "summary",
                ["snapshot_id"] = snapshot.Id.ToString(),
                ["host"] = snapshot.Info.Host,
                ["signer"] = snapshot.Header.Signer.Identity,
                ["trusted"] = snapshot.IsTrusted,
                ["target"] = Path.GetFullPath(target),
                ["files"] = result.Files, ["dirs"] = result.Directories, ["bytes"] = result.Bytes, ["skipped"] = result.Skipped,
                ["skipped_paths"] = new JsonArray(result.SkippedPaths.Select(p => (JsonNode?)p).ToArray()),
                ["failures"] = new JsonArray(result.Failures.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["reason"] = f.Reason }).ToArray()),
            });
        }
        else
        {
            ctx.Say($"restored snapshot {snapshot.Id.ToShortString()} to {Path.GetFullPath(target)}: "
                    + $"{result.Files} files, {result.Directories} dirs, {Text.Bytes(result.Bytes)}");
        }
        int code = ExitCodes.Ok;
        if (result.Skipped > 0)
        {
            ctx.Warn($"{result.Skipped} existing file(s) were left as they are, so the restore is not complete; use --overwrite to replace them");
            code = ExitCodes.Partial;
        }
        if (result.Failures.Count > 0)
        {
            ctx.Warn($"{result.Failures.Count} path(s) could not be restored (listed above)");
            code = ExitCodes.Partial;
        }
        return code;
    }

    private static string Total(long n) => n > 0 ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";

    private static string TotalBytes(long n) => n > 0 ? Text.Bytes(n) : "?";
}

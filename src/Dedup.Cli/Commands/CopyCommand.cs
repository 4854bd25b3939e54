using System.Text.Json.Nodes;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Copy;
using Dedup.Cli.Cli;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public static class CopyCommand
{
    public static readonly Verb Verb = new("copy", "--from-repo SRC [SNAPSHOT...]",
        "Copy snapshots from another repository into this one (-r), with deduplication.",
        """
        Without SNAPSHOT arguments every snapshot is copied. A re-run copies only what is missing: snapshots
        already copied are recognised, and data already in this repository is not stored again.
        The source password comes from --from-password-file, DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD or a
        prompt. Both repositories use the same S3 settings and AWS credentials.
        Example: dedup -r /mnt/nas/backup copy --from-repo s3:https://s3.example.com/backups
        """,
        [
            new("from-repo", null, "URL", "the repository to copy from"),
            new("from-password-file", null, "FILE", "read the source password from FILE (env DEDUP_FROM_PASSWORD_FILE)"),
        ],
        0, int.MaxValue, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var from = ctx.Args.Get("from-repo") ?? throw new UsageException("copy needs --from-repo SRC: dedup -r DEST copy --from-repo SRC");
        if (from == ctx.RepositoryUrl) throw new UsageException("--from-repo and -r name the same repository");
        using var sourceStorage = StorageFactory.Open(from, ctx.Args);
        Repo source;
        using (var password = Passwords.ForSource(ctx.Args))
            source = await Repo.OpenAsync(sourceStorage.Storage, password.Memory, ct: ctx.Cancellation).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var dest = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
            var progress = new BackupProgress();
            CopyResult result;
            using (new ProgressLine(ctx, t => $"{progress.Files} files, {Text.Bytes(progress.BytesProcessed)} copied, {Text.Bytes(progress.BytesAdded)} added, {Text.Duration(t)}"))
                result = await SnapshotCopier.RunAsync(source, dest, ctx.Args.Positionals, progress, ctx.Cancellation).ConfigureAwait(false);
            if (ctx.Json)
            {
                ctx.WriteJson(new JsonObject
                {
                    ["message_type"] = "copy",
                    ["copied"] = new JsonArray(result.Copied.Select(c => (JsonNode)new JsonObject { ["source"] = c.Source, ["destination"] = c.Destination }).ToArray()),
                    ["already_present"] = new JsonArray(result.AlreadyPresent.Select(s => (JsonNode?)s).ToArray()),
                    ["failed"] = new JsonArray(result.Failed.Select(f => (JsonNode)new JsonObject { ["source"] = f.Source, ["reason"] = f.Reason }).ToArray()),
                    ["bytes_added"] = progress.BytesAdded,
                });
                return result.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
            }
            foreach (var (s, d) in result.Copied) ctx.Say($"copied snapshot {s[..8]} as {d[..8]}");
            foreach (var (s, reason) in result.Failed) ctx.Warn($"could not copy snapshot {s[..8]}: {reason}");
            ctx.Say($"{result.Copied.Count} snapshot(s) copied, {Text.Bytes(progress.BytesAdded)} added; {result.AlreadyPresent.Count} already present"
                    + (result.Failed.Count > 0 ? $"; {result.Failed.Count} could not be copied (listed above; 'dedup check' on the source says more)" : ""));
            return result.Failed.Count > 0 ? ExitCodes.Partial : ExitCodes.Ok;
        }
    }
}

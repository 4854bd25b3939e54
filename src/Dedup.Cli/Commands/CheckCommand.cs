using System.Text.Json.Nodes;
using Dedup.Archiver.Check;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

public static class CheckCommand
{
    private const int FilesShownPerProblem = 20;

    public static readonly Verb Verb = new("check", "[--read-data]",
        "Verify the repository's structure, and with --read-data every byte of every pack.",
        """
        Every damaged or missing object is named, with the snapshots and files it affects (all of them with --json).
        Check only reads; it works with credentials that cannot delete. Exit code 12 when damage is found.
        """,
        [new("read-data", null, null, "also read and verify all data packs")],
        0, 0, RunAsync);

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var progress = new CheckProgress();
        var phase = "starting";
        var options = new CheckOptions
        {
            ReadData = ctx.Args.Has("read-data"),
            Progress = progress,
            Log = new Progress<string>(p => phase = p),
        };
        CheckResult result;
        using (new ProgressLine(ctx, t => $"{phase}: {progress.PacksChecked}/{progress.PacksTotal} packs, {progress.SnapshotsChecked} snapshots"
                                          + (options.ReadData ? $", {Text.Bytes(progress.BytesRead)} read, {ProgressLine.RateAndEta(progress.BytesRead, 0, t)}" : "")
                                          + $", {Text.Duration(t)}"))
        {
            result = await Checker.RunAsync(repo, options, ctx.Cancellation).ConfigureAwait(false);
        }

        if (ctx.Json)
        {
            ctx.WriteJson(new JsonObject
            {
                ["message_type"] = "check",
                ["ok"] = result.IsOk,
                ["read_data"] = options.ReadData,
                ["packs_checked"] = result.PacksChecked, ["blobs_checked"] = result.BlobsChecked, ["snapshots_checked"] = result.SnapshotsChecked,
                ["problems"] = new JsonArray(result.Problems.Select(p => (JsonNode)new JsonObject
                {
                    ["object"] = p.ObjectName, ["description"] = p.Description, ["warning"] = p.IsWarning,
                    ["snapshots"] = Strings(p.AffectedSnapshots), ["files"] = Strings(p.AffectedFiles),
                }).ToArray()),
            });
        }
        else
        {
            foreach (var p in result.Problems)
            {
                // Problems go to stdout with the report (they are its content); the one-line verdict goes to stderr.
                ctx.Out.WriteLine(p.ToString());
                if (p.AffectedSnapshots.Count > 0) ctx.Out.WriteLine($"  affects snapshots: {string.Join(", ", p.AffectedSnapshots.Select(Short))}");
                foreach (var f in p.AffectedFiles.Take(FilesShownPerProblem)) ctx.Out.WriteLine($"  affects file: {f}");
                if (p.AffectedFiles.Count > FilesShownPerProblem) ctx.Out.WriteLine($"  … and {p.AffectedFiles.Count - FilesShownPerProblem} more files (--json lists all)");
            }
            ctx.Say($"checked {result.PacksChecked} packs, {result.SnapshotsChecked} snapshots" + (options.ReadData ? $", {result.BlobsChecked} blobs read" : ""));
            if (result.IsOk) ctx.Say(result.Warnings.Any() ? "no errors were found (see the warnings above)" : "no errors were found");
        }
        if (result.IsOk) return ExitCodes.Ok;
        ctx.Warn($"the repository is damaged: {result.Errors.Count()} problem(s) found; the affected snapshots and files are listed above");
        return ExitCodes.Damaged;
    }

    private static string Short(string id) => id.Length > 8 ? id[..8] : id;

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}

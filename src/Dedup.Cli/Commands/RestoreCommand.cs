using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Archiver.Restore;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

public sealed class RestoreCommand : Verb
{
    private readonly Argument<string> _snapshot;
    private readonly Option<string> _target = Opt.Text("target", "DIR", "restore into DIR (created if needed)", 't');
    private readonly Option<string[]> _include = Opt.List("include", "PATTERN", "restore only paths matching PATTERN (and what is inside them)", 'i');
    private readonly Option<string[]> _exclude = Opt.List("exclude", "PATTERN", "leave out paths matching PATTERN", 'e');
    private readonly Option<string> _overwrite = Opt.OneOfOrBare("overwrite",
        "what to do with files that already exist in the target: always replace them (also what --overwrite alone means), "
        + "if-changed (only those whose content or metadata differ), if-newer (only those older than the snapshot's), never "
        + "(keep them, exit 0); without the option they are kept, named, and the exit code is 3",
        "always", "always", "if-changed", "if-newer", "never");
    private readonly Option<bool> _delete = Opt.Flag("delete", "remove what is in the target but not in the snapshot, within the restored --include/--exclude scope");
    private readonly Option<bool> _force = Opt.Flag("force", "with --delete, allow the target to be / or your home directory");
    private readonly Option<bool> _verify = Opt.Flag("verify", "re-read every file written and check it against the snapshot; a mismatch is named and the exit code is 3");
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "say what would be restored, replaced and deleted, and change nothing (reads no file contents from the repository)", 'n');
    private readonly Option<bool> _verbose = Opt.Flag("verbose", "list every path restored, replaced, kept, unchanged or deleted", 'v');
    private readonly Option<bool> _noSparse = Opt.Flag("no-sparse", "write runs of zeros as data instead of leaving holes (sparse files are the default)");
    private readonly Option<bool> _noXattrs = Opt.Flag("no-xattrs", "do not restore extended attributes and POSIX ACLs");
    private readonly Option<bool> _plan = Opt.Flag("plan", "list the archived data packs (GLACIER, DEEP_ARCHIVE) this restore needs, their size and the retrieval cost per tier; requests and writes nothing");
    private readonly Option<string> _retrieveTier = RetrievalOptions.TierOption("this restore needs", "then restore each file as soon as its packs are readable (in waves; a re-run goes on)");
    private readonly Option<int?> _retrieveDays = RetrievalOptions.DaysOption();
    private readonly SnapshotSelection _selection = new();

    public RestoreCommand() : base("restore", "Restore a snapshot, or part of it, into a directory.", """
        Who signed the snapshot is printed before anything is written.
        Contents, directories, symlinks, hard links, modes, mtimes, extended attributes and POSIX ACLs are restored,
        and owners when run as root; runs of zeros become holes (sparse files). Every block read is verified.
        Existing files: without --overwrite, those that differ from the snapshot are left alone, named, and the exit
        code is 3, so a restore into a used directory never destroys anything unasked and never looks complete when it
        is not. --overwrite MODE chooses (restic's modes): always, if-changed (size, mtime and mode first, then the
        content hashed against the snapshot: only what differs is written), if-newer, or never (keep them, exit 0).
        A replaced file is written beside it and renamed over it when complete: a failed write leaves the old one.
        --delete makes the target match the snapshot: what is in it, within the restored scope (--include/--exclude
        apply), but not in the snapshot is removed. It refuses / and your home directory unless --force is given.
        Try it with --dry-run -v first: that lists what would be restored, replaced and deleted, and changes nothing.
        --verify re-reads every file written and compares it with the snapshot's blob IDs.
        Files that could not be restored are listed on stderr, and the exit code is 3.
        With --json, status lines ("message_type": "status") come first and the summary is the last line.
        Cold storage (S3): data packs in GLACIER or DEEP_ARCHIVE must be retrieved before they can be read. --plan lists
        those this restore needs (same snapshot, paths and filters), their bytes and the cost per tier, and requests
        nothing. --retrieve-tier TIER [--retrieve-days N] requests exactly those and restores files in waves as their
        packs thaw (each wave says what it restored and what waits; directory times and modes, and --delete, come last);
        if interrupted, the same command again goes on (requests are idempotent, finished files are kept). Tree packs a
        backup host put in an archive class are listed by --plan and retrieved first.


        """ + SnapshotSelection.Help)
    {
        _snapshot = Arg<string>("SNAPSHOT", SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _target.Required = true;
        foreach (var o in new Option[] { _target, _include, _exclude, _overwrite, _delete, _force, _dryRun, _verify, _verbose, _noSparse, _noXattrs, _plan, _retrieveTier, _retrieveDays }.Concat(_selection.All)) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var target = ctx.Get(_target)!;
        bool delete = ctx.Get(_delete), dryRun = ctx.Get(_dryRun), verbose = ctx.Get(_verbose);
        var fullTarget = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        var home = Path.TrimEndingDirectorySeparator(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        if (delete && !dryRun && !ctx.Get(_force) && (fullTarget is "/" or "" || (home.Length > 0 && fullTarget == home)))
            throw new UsageException($"--delete would remove everything in {fullTarget} that is not in the snapshot; see what with --dry-run -v, then add --force");
        bool modeGiven = ctx.Given(_overwrite);
        var mode = (ctx.Get(_overwrite) ?? "never") switch
        {
            "always" => OverwriteMode.Always,
            "if-changed" => OverwriteMode.IfChanged,
            "if-newer" => OverwriteMode.IfNewer,
            _ => OverwriteMode.Never,
        };
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "restore files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Get(_snapshot)!, _selection.Filter(ctx), ctx.Cancellation).ConfigureAwait(false);
        ctx.SaySigner(snapshot);
        if (ctx.Given(_retrieveDays) && !ctx.Given(_retrieveTier)) throw new UsageException("--retrieve-days goes with --retrieve-tier TIER (expedited, standard or bulk)");
        if (ctx.Get(_plan))
        {
            await RestoreThaw.SayPlanAsync(ctx, repo, snapshot, ctx.Get(_include) ?? [], ctx.Get(_exclude) ?? []).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        var options = new RestoreOptions
        {
            Target = target,
            Includes = ctx.Get(_include) ?? [],
            Excludes = ctx.Get(_exclude) ?? [],
            Overwrite = mode,
            Delete = delete,
            DryRun = dryRun,
            Verify = ctx.Get(_verify),
            OnAction = verbose ? (action, path, size) => SayAction(ctx, action, path, size) : null,
            Sparse = !ctx.Get(_noSparse),
            RestoreExtendedAttributes = !ctx.Get(_noXattrs),
            // Against S3 every connection is kept busy with one ranged read of pack data.
            ReadsInFlight = ctx.OpenStorage().S3 is null ? 0 : ctx.S3.Connections,
        };
        // With a retrieval tier: archived packs are requested, and files restored in waves as their packs thaw.
        var result = ctx.Get(_retrieveTier) is { } tier
            ? await RestoreThaw.RestoreAsync(ctx, repo, snapshot, options, RestoreRetrieval.ParseTier(tier), ctx.Get(_retrieveDays) ?? 7,
                o => RunWithProgressAsync(ctx, repo, snapshot, o)).ConfigureAwait(false)
            : await RunWithProgressAsync(ctx, repo, snapshot, options).ConfigureAwait(false);
        // A damaged blob is said once, with every file it cost; other failures one line per path.
        var damagedFiles = result.Damaged.SelectMany(d => d.Files).ToHashSet(StringComparer.Ordinal);
        foreach (var d in result.Damaged) ctx.Warn($"could not restore {d.Files.Count} file(s), {string.Join(", ", d.Files)}: {d.Reason}");
        foreach (var f in result.Failures.Where(f => !damagedFiles.Contains(f.Path))) ctx.Warn($"could not restore {f.Path}: {f.Reason}");
        if (!modeGiven)
            foreach (var p in result.SkippedPaths) ctx.Warn($"left as it is (exists and differs): {p}");
        foreach (var f in result.VerifyFailures) ctx.Warn($"verify: {f.Path} does not match the snapshot: {f.Reason}");
        if (ctx.Json)
        {
            ctx.WriteJson(new RestoreSummary(snapshot.Id.ToString(), snapshot.Info.Host, snapshot.Header.Signer.Identity, snapshot.IsTrusted,
                Path.GetFullPath(target), result.Files, result.Directories, result.Bytes,
                result.Skipped, result.SkippedPaths, result.Failures.Select(f => new PathFailure(f.Path, f.Reason)).ToList())
            {
                Damaged = result.Damaged.Select(d => new DamagedBlob(d.Blob.ToString(), d.Reason, d.Files)).ToList(),
                DryRun = result.DryRun,
                Overwrite = ModeName(mode),
                Overwritten = result.Overwritten,
                Unchanged = result.Unchanged,
                Deleted = result.Deleted,
                DeletedBytes = result.DeletedBytes,
                Verified = result.Verified,
                VerifyFailures = result.VerifyFailures.Select(f => new PathFailure(f.Path, f.Reason)).ToList(),
            }, CliJson.Default.RestoreSummary);
        }
        else
        {
            SaySummary(ctx, snapshot.Id.ToShortString(), Path.GetFullPath(target), result, delete, ctx.Get(_verify));
        }
        int code = ExitCodes.Ok;
        if (result.Skipped > 0 && !modeGiven)
        {
            ctx.Warn($"{result.Skipped} existing file(s) were left as they are, so the restore is not complete; use --overwrite to replace them");
            code = ExitCodes.Partial;
        }
        if (result.VerifyFailures.Count > 0)
        {
            ctx.Warn($"{result.VerifyFailures.Count} restored file(s) do not match the snapshot (listed above); restore them again");
            code = ExitCodes.Partial;
        }
        if (result.Failures.Count > 0)
        {
            ctx.Warn($"{result.Failures.Count} path(s) could not be restored (listed above)");
            code = ExitCodes.Partial;
        }
        return code;
    }

    private static async Task<RestoreResult> RunWithProgressAsync(CliContext ctx, Dedup.Repository.Repository repo, Dedup.Repository.Snapshots.LoadedSnapshot snapshot,
        RestoreOptions options)
    {
        var progress = new RestoreProgress();
        using (ctx.Progress(t => new RestoreStatus(t.TotalSeconds, Percent(progress.Bytes, progress.TotalBytes), progress.Files, progress.TotalFiles,
                   progress.Bytes, progress.TotalBytes), CliJson.Default.RestoreStatus,
                   s => $"{s.FilesDone}/{Total(s.TotalFiles)} files, {Text.Bytes(s.BytesDone)}/{TotalBytes(s.TotalBytes)}, "
                        + $"{ProgressReport<RestoreStatus>.RateAndEta(s.BytesDone, s.TotalBytes, TimeSpan.FromSeconds(s.SecondsElapsed))}, "
                        + Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))))
        {
            return await Restorer.RunAsync(repo, snapshot, options, progress, ctx.Cancellation).ConfigureAwait(false);
        }
    }

    private static readonly Lock ActionLock = new();

    /// <summary>One line per path acted on (-v): "restore PATH (SIZE)" on a terminal, a "verbose_status" line with --json.</summary>
    private static void SayAction(CliContext ctx, RestoreAction action, string path, long size)
    {
        var name = ActionName(action);
        lock (ActionLock)
        {
            if (ctx.Json) ctx.WriteJson(new RestoreActionLine(name, path, size), CliJson.Default.RestoreActionLine);
            else ctx.Say($"{name,-9} {path}{(size > 0 ? $" ({Text.Bytes(size)})" : "")}");
        }
    }

    private static string ActionName(RestoreAction a) => a switch
    {
        RestoreAction.Restore => "restore",
        RestoreAction.Overwrite => "overwrite",
        RestoreAction.Keep => "keep",
        RestoreAction.Unchanged => "unchanged",
        _ => "delete",
    };

    private static string ModeName(OverwriteMode m) => m switch
    {
        OverwriteMode.Always => "always",
        OverwriteMode.IfChanged => "if-changed",
        OverwriteMode.IfNewer => "if-newer",
        _ => "never",
    };

    /// <summary>The headline, then a small table of what happened to existing entries, deletions and verification.</summary>
    private static void SaySummary(CliContext ctx, string snapshot, string target, RestoreResult r, bool delete, bool verify)
    {
        var what = $"{r.Files} files, {r.Directories} dirs, {Text.Bytes(r.Bytes)}";
        ctx.Say(r.DryRun
            ? $"dry run, nothing was changed: restoring snapshot {snapshot} to {target} would write {what}"
            : $"restored snapshot {snapshot} to {target}: {what}");
        var rows = new List<string[]>();
        string verb(string done, string would) => r.DryRun ? would : done;
        if (r.Overwritten > 0) rows.Add([verb("replaced", "would replace"), $"{r.Overwritten} existing"]);
        if (r.Unchanged > 0) rows.Add(["unchanged", $"{r.Unchanged} already as in the snapshot"]);
        if (r.Skipped > 0) rows.Add([verb("kept", "would keep"), $"{r.Skipped} existing that differ"]);
        if (delete) rows.Add([verb("deleted", "would delete"), $"{r.Deleted} not in the snapshot, {Text.Bytes(r.DeletedBytes)}"]);
        if (verify && !r.DryRun) rows.Add(["verified", $"{r.Verified} files, {r.VerifyFailures.Count} mismatched"]);
        foreach (var line in Text.Table(rows)) ctx.Say("  " + line);
    }

    private static double Percent(long done, long total) => total > 0 ? Math.Round(100.0 * Math.Min(done, total) / total, 1) : 0;

    private static string Total(long n) => n > 0 ? n.ToString(CultureInfo.InvariantCulture) : "?";

    private static string TotalBytes(long n) => n > 0 ? Text.Bytes(n) : "?";
}

/// <summary>Totals are 0 until the snapshot's trees were walked.</summary>
public sealed record RestoreStatus(double SecondsElapsed, double PercentDone, long FilesDone, long TotalFiles, long BytesDone, long TotalBytes)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

/// <summary>'restore --json': which snapshot, whose (host, signer, trusted), and what was restored.</summary>
public sealed record RestoreSummary(
    string SnapshotId, string Host, string Signer, bool Trusted, string Target, long Files, long Dirs, long Bytes, long Skipped, IReadOnlyList<string> SkippedPaths, IReadOnlyList<PathFailure> Failures)
{
    [JsonPropertyOrder(-1)] public string MessageType => "summary";
    /// <summary>Each damaged or missing blob once, with every file it cost (those files are in <see cref="Failures"/> too).</summary>
    public IReadOnlyList<DamagedBlob> Damaged { get; init; } = [];
    /// <summary>True when nothing was changed: the counts say what would have been.</summary>
    public bool DryRun { get; init; }
    /// <summary>The --overwrite mode: never (the default), always, if-changed or if-newer.</summary>
    public string Overwrite { get; init; } = "never";
    /// <summary>Existing entries replaced, and those already as in the snapshot (both counted in files).</summary>
    public long Overwritten { get; init; }
    public long Unchanged { get; init; }
    /// <summary>Entries removed by --delete, and the bytes of the files among them.</summary>
    public long Deleted { get; init; }
    public long DeletedBytes { get; init; }
    /// <summary>Files re-read by --verify, and those that did not match the snapshot.</summary>
    public long Verified { get; init; }
    public IReadOnlyList<PathFailure> VerifyFailures { get; init; } = [];
}

/// <summary>'restore -v --json': one line per path acted on, before the summary.</summary>
public sealed record RestoreActionLine(string Action, string Path, long Size)
{
    [JsonPropertyOrder(-1)] public string MessageType => "verbose_status";
}

public sealed record DamagedBlob(string Blob, string Reason, IReadOnlyList<string> Files);

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
    private readonly Option<bool> _overwrite = Opt.Flag("overwrite", "replace files that already exist in the target");
    private readonly Option<bool> _noSparse = Opt.Flag("no-sparse", "write runs of zeros as data instead of leaving holes (sparse files are the default)");
    private readonly Option<bool> _noXattrs = Opt.Flag("no-xattrs", "do not restore extended attributes and POSIX ACLs");
    private readonly SnapshotSelection _selection = new();

    public RestoreCommand() : base("restore", "Restore a snapshot, or part of it, into a directory.", """
        Who signed the snapshot is printed before anything is written.
        Contents, directories, symlinks, hard links, modes, mtimes, extended attributes and POSIX ACLs are restored,
        and owners when run as root; runs of zeros become holes (sparse files). Every block read is verified. Without --overwrite, existing files that differ from the snapshot are left alone, named, and the exit code is 3.
        Files that could not be restored are listed on stderr, and the exit code is 3.
        With --json, status lines ("message_type": "status") come first and the summary is the last line.


        """ + SnapshotSelection.Help)
    {
        _snapshot = Arg<string>("SNAPSHOT", SnapshotSelection.ArgumentHelp, ArgumentArity.ExactlyOne);
        _target.Required = true;
        foreach (var o in new Option[] { _target, _include, _exclude, _overwrite, _noSparse, _noXattrs }.Concat(_selection.All)) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var target = ctx.Get(_target)!;
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "restore files").ConfigureAwait(false);
        var snapshot = await repo.Snapshots.ResolveAsync(ctx.Get(_snapshot)!, _selection.Filter(ctx), ctx.Cancellation).ConfigureAwait(false);
        ctx.SaySigner(snapshot);
        var options = new RestoreOptions
        {
            Target = target,
            Includes = ctx.Get(_include) ?? [],
            Excludes = ctx.Get(_exclude) ?? [],
            Overwrite = ctx.Get(_overwrite),
            Sparse = !ctx.Get(_noSparse),
            RestoreExtendedAttributes = !ctx.Get(_noXattrs),
            // Against S3 every connection is kept busy with one ranged read of pack data.
            ReadsInFlight = ctx.OpenStorage().S3 is null ? 0 : ctx.S3.Connections,
        };
        var progress = new RestoreProgress();
        RestoreResult result;
        using (ctx.Progress(t => new RestoreStatus(t.TotalSeconds, Percent(progress.Bytes, progress.TotalBytes), progress.Files, progress.TotalFiles,
                   progress.Bytes, progress.TotalBytes), CliJson.Default.RestoreStatus,
                   s => $"{s.FilesDone}/{Total(s.TotalFiles)} files, {Text.Bytes(s.BytesDone)}/{TotalBytes(s.TotalBytes)}, "
                        + $"{ProgressReport<RestoreStatus>.RateAndEta(s.BytesDone, s.TotalBytes, TimeSpan.FromSeconds(s.SecondsElapsed))}, "
                        + Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))))
        {
            result = await Restorer.RunAsync(repo, snapshot, options, progress, ctx.Cancellation).ConfigureAwait(false);
        }
        // A damaged blob is said once, with every file it cost; other failures one line per path.
        var damagedFiles = result.Damaged.SelectMany(d => d.Files).ToHashSet(StringComparer.Ordinal);
        foreach (var d in result.Damaged) ctx.Warn($"could not restore {d.Files.Count} file(s), {string.Join(", ", d.Files)}: {d.Reason}");
        foreach (var f in result.Failures.Where(f => !damagedFiles.Contains(f.Path))) ctx.Warn($"could not restore {f.Path}: {f.Reason}");
        foreach (var p in result.SkippedPaths) ctx.Warn($"left as it is (exists and differs): {p}");
        if (ctx.Json)
        {
            ctx.WriteJson(new RestoreSummary(snapshot.Id.ToString(), snapshot.Info.Host, snapshot.Header.Signer.Identity, snapshot.IsTrusted,
                Path.GetFullPath(target), result.Files, result.Directories, result.Bytes,
                result.Skipped, result.SkippedPaths, result.Failures.Select(f => new PathFailure(f.Path, f.Reason)).ToList())
            {
                Damaged = result.Damaged.Select(d => new DamagedBlob(d.Blob.ToString(), d.Reason, d.Files)).ToList(),
            }, CliJson.Default.RestoreSummary);
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
}

public sealed record DamagedBlob(string Blob, string Reason, IReadOnlyList<string> Files);

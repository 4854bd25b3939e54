using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Copy;
using Dedup.Cli.Cli;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public sealed class CopyCommand : Verb
{
    private readonly Argument<string[]> _snapshots;
    private readonly Option<string> _fromRepo = Opt.Text("from-repo", "URL", "the repository to copy from");
    private readonly Option<string> _fromAsOf = Opt.Text("from-as-of", "TIME",
        "copy from the source as its bucket held it at TIME, read from the bucket's object versions (see --as-of)");
    private readonly Option<string> _fromPasswordFile = Opt.Text("from-password-file", "FILE", "read the source password from FILE (env DEDUP_FROM_PASSWORD_FILE)");

    public CopyCommand() : base("copy", "Copy snapshots from another repository into this one (-r), with deduplication.", """
        Without SNAPSHOT arguments every snapshot is copied. A re-run copies only what is missing: snapshots
        already copied are recognised, and data already in this repository is not stored again.
        The source password comes from --from-password-file, DEDUP_FROM_PASSWORD_FILE, DEDUP_FROM_PASSWORD or a
        prompt. Both repositories use the same S3 settings and AWS credentials.
        With --json, status lines ("message_type": "status") come first and the summary is the last line.
        Example: dedup -r /mnt/nas/backup copy --from-repo s3:https://s3.example.com/backups
        """)
    {
        _snapshots = Arg<string[]>("SNAPSHOT", "snapshots to copy (default: all)", ArgumentArity.ZeroOrMore);
        _fromRepo.Required = true;
        Add(_fromRepo);
        Add(_fromPasswordFile);
        Add(_fromAsOf);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var from = ctx.Get(_fromRepo)!;
        if (from == ctx.RepositoryUrl) throw new UsageException("--from-repo and -r name the same repository");
        if (ctx.Given(GlobalOptions.AsOf)) AsOfReading.RequireReadVerb(ctx.VerbName);
        var fromAsOf = ctx.Get(_fromAsOf) is { } time ? AsOfReading.ParseTime(time, "--from-as-of") : (DateTimeOffset?)null;
        using var sourceStorage = StorageFactory.Open(from, ctx.S3, ctx.Bandwidth, fromAsOf);
        Repo source;
        using (var password = Passwords.ForSource(ctx.Get(_fromPasswordFile)))
            source = await AsOfReading.ExplainMissingAsync(sourceStorage, from,
                () => Repo.OpenAsync(sourceStorage.Storage, password.Memory, ct: ctx.Cancellation), ctx.Cancellation).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var dest = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
            var progress = new BackupProgress();
            CopyResult result;
            using (ctx.Progress(t => new CopyStatus(t.TotalSeconds, progress.Files, progress.BytesProcessed, progress.BytesAdded), CliJson.Default.CopyStatus,
                       s => $"{s.FilesDone} files, {Text.Bytes(s.BytesDone)} copied, {Text.Bytes(s.BytesAdded)} added, {Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}"))
                result = await SnapshotCopier.RunAsync(source, dest, ctx.Get(_snapshots) ?? [], progress, ctx.Cancellation).ConfigureAwait(false);
            if (ctx.Json)
            {
                ctx.WriteJson(new CopySummary(result.Copied.Select(c => new CopiedSnapshot(c.Source, c.Destination)).ToList(), result.AlreadyPresent,
                    result.Failed.Select(f => new CopyFailure(f.Source, f.Reason)).ToList(), progress.BytesAdded), CliJson.Default.CopySummary);
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

public sealed record CopyStatus(double SecondsElapsed, long FilesDone, long BytesDone, long BytesAdded)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

public sealed record CopiedSnapshot(string Source, string Destination);

/// <summary>A snapshot of the source that was not copied (untrusted, unreadable), and why.</summary>
public sealed record CopyFailure(string Source, string Reason);

public sealed record CopySummary(IReadOnlyList<CopiedSnapshot> Copied, IReadOnlyList<string> AlreadyPresent, IReadOnlyList<CopyFailure> Failed, long BytesAdded)
{
    [JsonPropertyOrder(-1)] public string MessageType => "copy";
}

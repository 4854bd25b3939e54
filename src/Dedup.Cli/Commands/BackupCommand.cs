using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Cache;
using Dedup.Archiver.Filtering;
using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;
using Dedup.Format;
using BackupRunner = Dedup.Archiver.Backup.Archiver;

namespace Dedup.Cli.Commands;

public sealed class BackupCommand : Verb
{
    private readonly Argument<string[]> _paths;
    private readonly Option<string[]> _tag = Opt.List("tag", "TAG", "add a tag; TAG may be a comma-separated list");
    private readonly Option<string> _host = Opt.Text("host", "NAME", "host name to record (default: this machine's; for a write-only key, the host it was made for)");
    private readonly Option<string[]> _exclude = Opt.List("exclude", "PATTERN", "leave out paths matching PATTERN", 'e');
    private readonly Option<string[]> _excludeFile = Opt.List("exclude-file", "FILE", "read exclude patterns from FILE, one per line ('#' starts a comment)");
    private readonly Option<string[]> _iexclude = Opt.List("iexclude", "PATTERN", "as --exclude, but without regard to case");
    private readonly Option<string[]> _iexcludeFile = Opt.List("iexclude-file", "FILE", "as --exclude-file, but without regard to case");
    private readonly Option<bool> _excludeCaches = Opt.Flag("exclude-caches", "leave out the contents of directories holding a CACHEDIR.TAG (the tag file stays)");
    private readonly Option<string[]> _excludeIfPresent = Opt.List("exclude-if-present", "FILE[:HEADER]",
        "leave out the contents of directories holding FILE (starting with HEADER, if given); FILE itself stays");
    private readonly Option<long?> _excludeLargerThan = Opt.Size("exclude-larger-than", "SIZE", "leave out files larger than SIZE (bytes, or with k, M, G, T: 500k, 2G)");
    private readonly Option<string[]> _filesFrom = Opt.List("files-from", "FILE",
        "back up the paths or glob patterns listed in FILE, one per line ('#' comments; '-' reads stdin)");
    private readonly Option<string[]> _filesFromVerbatim = Opt.List("files-from-verbatim", "FILE", "back up the paths listed in FILE, one per line, taken as they are");
    private readonly Option<string[]> _filesFromRaw = Opt.List("files-from-raw", "FILE", "back up the paths listed in FILE, each ended by a NUL byte (find -print0)");
    private readonly Option<bool> _oneFileSystem = Opt.Flag("one-file-system", "do not cross into other file systems", 'x');
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "read and chunk everything, say what would be added, but write nothing", 'n');
    private readonly Option<bool> _stdin = Opt.Flag("stdin", "back up standard input as one file");
    private readonly Option<string> _stdinFilename = Opt.Text("stdin-filename", "NAME", "the file name for --stdin (default 'stdin')");
    private readonly Option<string> _parent = Opt.Text("parent", "SNAPSHOT", "compare with this snapshot (default: the latest of the same host and paths)");
    private readonly Option<bool> _stateFromIndex = Opt.Flag("state-from-index",
        "on a put-only host whose credentials may read its own index files: when the local state is lost, dedup against them");
    private readonly Option<bool> _noCache = Opt.Flag("no-cache", "do not use the local cache, nor remember the key (its default place: see 'dedup help environment')");

    public BackupCommand() : base("backup", "Back up files and directories, or standard input, into a new snapshot.", """
        Only what changed since the parent snapshot is read and stored. A file is unchanged when its size, mtime,
        ctime and inode match the parent's. Files that vanish or cannot be read are listed on stderr and left
        out; the snapshot is still saved, marked incomplete, and the exit code is 3.
        Patterns: '*', '?' and '[abc]' match within a name, '**' any number of directories; a pattern starting
        with '/' is anchored at the root, others match at any depth; '!PATTERN' takes back what earlier ones left
        out. Exclude files may use $VARIABLES.
        --files-from, --files-from-verbatim and --files-from-raw add to (or replace) PATH; '-' reads standard input,
        for one of them only. A pattern in a --files-from list that matches nothing is a warning, not an error.
        With --dry-run nothing is written: no pack, index, snapshot or cache entry; the summary says what would
        have been added.
        With a profile (-p NAME), PATH, --exclude, --exclude-file, --tag, --host and --one-file-system default to
        the profile's, and its hooks run around the backup ('dedup help profiles'); an option replaces the
        profile's value.
        With --json, status lines ("message_type": "status") come first and the summary is the last line.
        On a put-only host (enrolled) that lost its local state, everything is uploaded again; with --state-from-index,
        a host whose credentials may list and read the repository's index/, marks/ and keys/ deduplicates against its
        own index files instead (left off by default: a PutObject-only host then sends no read at all).
        Example: mysqldump db | dedup backup --stdin --stdin-filename db.sql
        """)
    {
        _paths = Arg<string[]>("PATH", "files and directories to back up (with a profile: default its paths)", ArgumentArity.ZeroOrMore);
        foreach (var o in new Option[]
                 {
                     _tag, _host, _exclude, _excludeFile, _iexclude, _iexcludeFile, _excludeCaches, _excludeIfPresent, _excludeLargerThan,
                     _filesFrom, _filesFromVerbatim, _filesFromRaw, _oneFileSystem, _stdin, _stdinFilename, _parent, _noCache, _dryRun, _stateFromIndex,
                 })
            Add(o);
        NotTogether(_stdin, _paths, "give either --stdin or paths, not both");
        NotWithAny(_stdin, [_filesFrom, _filesFromVerbatim, _filesFromRaw], "give either --stdin or --files-from lists, not both");
        NotTogether(_noCache, GlobalOptions.CacheDir);
        OnlyWith(_stdinFilename, _stdin);
    }

    public override async Task<int> RunAsync(CliContext ctx) =>
        ctx.Profile is { Hooks.IsEmpty: false } profile
            ? await new HookRunner(ctx, profile, Name).RunAroundAsync(() => BackupAsync(ctx)).ConfigureAwait(false)
            : (await BackupAsync(ctx).ConfigureAwait(false)).ExitCode;

    private async Task<HookedOutcome> BackupAsync(CliContext ctx)
    {
        var profile = ctx.Profile;
        bool stdin = ctx.Get(_stdin);
        string[] filesFrom = ctx.Get(_filesFrom) ?? [], filesFromVerbatim = ctx.Get(_filesFromVerbatim) ?? [], filesFromRaw = ctx.Get(_filesFromRaw) ?? [];
        var lists = filesFrom.Concat(filesFromVerbatim).Concat(filesFromRaw).ToList();
        if (lists.Count(f => f == "-") > 1) throw new UsageException("only one --files-from list can be standard input ('-')");
        var paths = ctx.Get(_paths) is { Length: > 0 } given ? given : stdin || lists.Count > 0 ? [] : profile?.Paths ?? [];
        if (!stdin && paths.Count == 0 && lists.Count == 0)
            throw new UsageException("give at least one PATH to back up, --files-from or --stdin: dedup backup [options] PATH..."
                                     + (profile is null ? "" : $" (profile '{profile.Name}' has no paths)"));

        var excludes = Given(ctx, _exclude, profile?.Excludes).ToList();
        foreach (var file in Given(ctx, _excludeFile, profile?.ExcludeFiles)) excludes.AddRange(PathFilter.ReadFile(file));
        var iexcludes = (ctx.Get(_iexclude) ?? []).ToList();
        foreach (var file in ctx.Get(_iexcludeFile) ?? []) iexcludes.AddRange(PathFilter.ReadFile(file));
        var host = ctx.Get(_host) ?? profile?.Host;
        var options = new BackupOptions
        {
            Paths = paths,
            FilesFrom = filesFrom,
            FilesFromVerbatim = filesFromVerbatim,
            FilesFromRaw = filesFromRaw,
            InsensitiveExcludes = iexcludes,
            ExcludeCaches = ctx.Get(_excludeCaches),
            ExcludeIfPresent = ctx.Get(_excludeIfPresent) ?? [],
            ExcludeLargerThan = ctx.Get(_excludeLargerThan),
            DryRun = ctx.Get(_dryRun),
            Host = host ?? Environment.MachineName,
            Tags = SplitCommas(Given(ctx, _tag, profile?.Tags)),
            Excludes = excludes.Where(p => p.Trim().Length > 0 && !p.TrimStart().StartsWith('#')).ToList(),
            OneFileSystem = ctx.Given(_oneFileSystem) || (profile?.OneFileSystem ?? false),
            StdinFileName = ctx.Get(_stdinFilename) ?? "stdin",
            // The cache is what lets a write-only key (which cannot read its parent snapshot) skip unchanged files,
            // and it saves a full key from downloading the parent's trees, so it is on unless asked otherwise.
            CacheDirectory = ctx.Get(_noCache) ? null : ctx.CacheDir ?? TreeCache.DefaultBase(),
            StateDirectory = Dedup.Repository.PutOnly.LocalState.DefaultBase(), // used only by a put-only host
            StateFromIndex = ctx.Get(_stateFromIndex),
        };
        if (!stdin) foreach (var p in options.Paths) CheckExists(p);

        // Neither --no-cache nor a dry run writes to the cache folder, not even the key that opened.
        var repo = await ctx.OpenRepositoryAsync(rememberKey: !ctx.Get(_noCache) && !options.DryRun).ConfigureAwait(false);
        // A write-only key backs up as the host it was certified for, unless told otherwise (which the archiver refuses).
        if (host is null && repo.Keys.CertifiedHost(repo.Config.SigningPublicKeyBytes) is { } certified)
            options = options with { Host = certified };
        if (ctx.Get(_parent) is { } parent)
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
        using (ctx.Progress(t => new BackupStatus(t.TotalSeconds, progress.Files, progress.Directories, progress.BytesProcessed, progress.BytesRead,
                   progress.BytesAdded, progress.Errors), CliJson.Default.BackupStatus,
                   s => $"{s.FilesDone} files, {s.DirsDone} dirs, {Text.Bytes(s.BytesDone)} scanned, {Text.Bytes(s.BytesAdded)} added, "
                        + $"{ProgressReport<BackupStatus>.RateAndEta(s.BytesRead, 0, TimeSpan.FromSeconds(s.SecondsElapsed))}, "
                        + $"{Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))}" + (s.ErrorCount > 0 ? $", {s.ErrorCount} errors" : "")))
        {
            result = await BackupRunner.RunAsync(repo, options with { Stdin = input }, progress, ctx.Cancellation).ConfigureAwait(false);
            ctx.WarnDamagedIndex(repo);
        }

        foreach (var f in result.Failures) ctx.Warn($"could not back up {f.Path}: {f.Reason}");
        foreach (var w in result.Warnings) ctx.Warn("warning: " + w);
        if (result.StateRebuiltFromIndex is false)
            ctx.Warn("note: no local state for these paths and the store refused to let this host read its index files; everything was uploaded again");
        Report(ctx, result);
        var id = result.DryRun ? "" : result.SnapshotId.ToString();
        if (!result.Incomplete) return new HookedOutcome(ExitCodes.Ok, id);
        ctx.Warn(result.DryRun
            ? $"dry run: {result.Failures.Count} path(s) could not be read (listed above); a real backup would be incomplete"
            : $"snapshot {result.SnapshotId.ToShortString()} was saved but is incomplete: {result.Failures.Count} path(s) could not be read (listed above)");
        return new HookedOutcome(ExitCodes.Partial, id);
    }

    /// <summary>The option's values when given, else the profile's: an option replaces the profile's list.</summary>
    private static IReadOnlyList<string> Given(CliContext ctx, Option<string[]> option, IReadOnlyList<string>? fromProfile) =>
        ctx.Get(option) is { Length: > 0 } values ? values : fromProfile ?? [];

    private static List<string> SplitCommas(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

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
            ctx.WriteJson(new BackupSummary(result.DryRun ? null : result.SnapshotId.ToString(), result.DryRun ? null : result.SnapshotId.ToShortString(),
                result.DryRun, result.Incomplete,
                s.FilesNew, s.FilesChanged, s.FilesUnmodified, s.FilesFailed, s.DirsNew, s.DirsChanged, s.DirsUnmodified,
                s.BytesRead, s.BytesTotal, s.BytesAdded, s.BytesAddedStored, s.BlobsAdded, s.DurationSeconds,
                result.Failures.Select(f => new PathFailure(f.Path, f.Reason)).ToList(), result.Warnings), CliJson.Default.BackupSummary);
            return;
        }
        ctx.Say($"Files:     {s.FilesNew} new, {s.FilesChanged} changed, {s.FilesUnmodified} unmodified" + (s.FilesFailed > 0 ? $", {s.FilesFailed} failed" : ""));
        ctx.Say($"Dirs:      {s.DirsNew} new, {s.DirsChanged} changed, {s.DirsUnmodified} unmodified");
        // A dry run compresses and encrypts nothing, so it knows what would be added but not what that would take stored.
        var added = result.DryRun ? $"{Text.Bytes(s.BytesAdded)} would be added" : $"{Text.Bytes(s.BytesAdded)} added ({Text.Bytes(s.BytesAddedStored)} stored)";
        ctx.Say($"Data:      {Text.Bytes(s.BytesRead)} read of {Text.Bytes(s.BytesTotal)}, {added}");
        ctx.Say($"Duration:  {Text.Duration(TimeSpan.FromSeconds(s.DurationSeconds))}");
        ctx.Say(result.DryRun ? "dry run: nothing was written" : $"snapshot {result.SnapshotId.ToShortString()} saved" + (result.Incomplete ? " (incomplete)" : ""));
    }
}

public sealed record PathFailure(string Path, string Reason);

public sealed record BackupStatus(double SecondsElapsed, long FilesDone, long DirsDone, long BytesDone, long BytesRead, long BytesAdded, long ErrorCount)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

/// <summary>'backup --json', the last line. After a dry run there is no snapshot: its IDs are left out and dry_run is true.</summary>
public sealed record BackupSummary(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SnapshotId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ShortId,
    bool DryRun, bool Incomplete,
    long FilesNew, long FilesChanged, long FilesUnmodified, long FilesFailed,
    long DirsNew, long DirsChanged, long DirsUnmodified,
    long BytesRead, long BytesTotal, long BytesAdded, long BytesAddedStored, long BlobsAdded, double DurationSeconds,
    IReadOnlyList<PathFailure> Failures, IReadOnlyList<string> Warnings)
{
    [JsonPropertyOrder(-1)] public string MessageType => "summary";
}

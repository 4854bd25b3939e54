using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Maintenance;
using Dedup.Maintenance.Rollback;
using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Cli.Commands;

/// <summary>
/// dedup rollback --to TIME: makes the bucket's current objects what they were at TIME, from its object versions
/// (spec/versioned-recovery.md). Admin only: it copies versions and removes delete markers.
/// </summary>
public sealed class RollbackCommand : Verb
{
    private const int NameWidth = 74; // "snapshots/" + 64 hex digits, the longest name a repository has.

    private readonly Option<string> _to = Opt.Text("to", "TIME", "the moment to go back to: a date, a timestamp or an age such as 2D (as --as-of)");
    private readonly Option<bool> _dryRun = Opt.Flag("dry-run", "list every change it would make, and change nothing", 'n');
    private readonly Option<bool> _removeNewer = Opt.Flag("remove-newer", "also hide objects created after TIME behind a delete marker (undoable: the versions stay)");

    public RollbackCommand() : base("rollback", "Put the repository back to a past moment, from the bucket's object versions (admin).", """
        For every object of the repository it makes the current version the one the bucket held at TIME: an object
        deleted since comes back (its delete markers are removed, so it keeps its original time), an object
        overwritten since gets its old version copied on top (server-side). Objects created after TIME are listed and
        kept, unless --remove-newer hides them behind a delete marker. Nothing is ever removed for good: every version
        stays, so a rollback can itself be rolled back. Read first with --as-of TIME (snapshots, restore, check) to
        pick the moment, look at --dry-run, then run it; afterwards 'dedup check --read-data' should pass.
        It needs a versioned S3 bucket and credentials that can delete (the admin host's). Backups that run meanwhile
        add objects newer than TIME, which it keeps.
        With --json, one line per change ("message_type": "change"), then the summary ("message_type": "rollback").
        Example: dedup rollback --to '2026-05-18 10:00' --dry-run
        """)
    {
        _to.Required = true;
        Add(_to);
        Add(_dryRun);
        Add(_removeNewer);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var moment = AsOfReading.ParseTime(ctx.Get(_to)!, "--to");
        bool dryRun = ctx.Get(_dryRun), removeNewer = ctx.Get(_removeNewer);
        var handle = ctx.OpenStorage();
        var s3 = handle.S3 ?? throw new UsageException($"rollback works from object versions, which only a versioned S3 bucket keeps; '{ctx.RepositoryUrl}' is a local folder");
        if ((await s3.GetProtectionAsync(ctx.Cancellation).ConfigureAwait(false)).Versioning == VersioningState.Off)
            throw new StorageException($"{s3.Location}: the bucket has no versioning, so there are no old versions to roll back to");
        if (moment > DateTimeOffset.UtcNow) throw new UsageException($"--to {ctx.Get(_to)} is in the future; give a time in the past");
        if (!dryRun) await AdminAccess.RequireDeleteAsync(handle.Storage, ctx.Cancellation).ConfigureAwait(false);
        if (dryRun) ctx.Say($"dry run: the changes that would put {s3.Location} back to {AsOfStorage.Describe(moment)}; nothing is changed");
        var header = false;
        var outcome = await VersionRollback.RunAsync(s3, "", moment, dryRun, removeNewer, change =>
        {
            if (ctx.Json)
            {
                ctx.WriteJson(RollbackChangeJson.Of(change, removeNewer), CliJson.Default.RollbackChangeJson);
                return;
            }
            if (!header) ctx.Say($"{"CHANGE",-8}  {"OBJECT".PadRight(NameWidth)}  {"AS OF",-24}  {"NOW",-36}  ACTION");
            header = true;
            ctx.Say($"{Kind(change.Kind),-8}  {change.Name.PadRight(NameWidth)}  {Then(change),-24}  {Now(change),-36}  {Describe(change, removeNewer, dryRun)}");
        }, ctx.Cancellation, parallel: ctx.S3.Connections).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new RollbackSummary(Text.Iso(moment), dryRun, outcome.Restored, outcome.Reverted, outcome.Newer, outcome.NewerHidden), CliJson.Default.RollbackSummary);
            return ExitCodes.Ok;
        }
        var total = outcome.Restored + outcome.Reverted + outcome.NewerHidden;
        var kept = outcome.Newer - outcome.NewerHidden;
        ctx.Say((dryRun ? "would change" : "changed") + $" {total} object(s): {outcome.Restored} restored, {outcome.Reverted} reverted, {outcome.NewerHidden} newer hidden"
                + (kept > 0 ? $"; {kept} created since kept (--remove-newer hides them)" : "")
                + (dryRun ? "; run it without --dry-run to apply" : "; run 'dedup check --read-data' to confirm"));
        return ExitCodes.Ok;
    }

    private static string Kind(RollbackKind kind) => kind switch
    {
        RollbackKind.Restore => "restore",
        RollbackKind.Revert => "revert",
        _ => "newer",
    };

    private static string Then(RollbackChange c) => c.AsOf is { } v ? AsOfStorage.Describe(v.LastModified) : "absent";

    private static string Now(RollbackChange c) => c.Kind switch
    {
        RollbackKind.Restore => "deleted " + AsOfStorage.Describe(c.Current.LastModified),
        RollbackKind.Revert => "overwritten " + AsOfStorage.Describe(c.Current.LastModified),
        _ => "created " + AsOfStorage.Describe(c.Current.LastModified),
    };

    public static string Describe(RollbackChange c, bool removeNewer, bool dryRun = false)
    {
        var action = c.Kind switch
        {
            RollbackKind.Newer => removeNewer ? "hide behind a delete marker" : "keep (--remove-newer hides it)",
            _ when c.RemovesDeleteMarkers => $"remove {c.MarkersAbove.Count} delete marker(s)",
            _ => "copy the old version on top",
        };
        return dryRun || action.StartsWith("keep", StringComparison.Ordinal) ? action : action + ": done";
    }
}

/// <summary>One change of a rollback; the version IDs are the bucket's.</summary>
public sealed record RollbackChangeJson(string Kind, string Name, string? VersionIdAsOf, string? TimeAsOf, string VersionIdNow, string TimeNow, bool DeletedNow, string Action)
{
    [JsonPropertyOrder(-1)] public string MessageType => "change";

    public static RollbackChangeJson Of(RollbackChange c, bool removeNewer) => new(
        c.Kind.ToString().ToLowerInvariant(), c.Name, c.AsOf?.VersionId, c.AsOf is { } v ? Text.Iso(v.LastModified) : null,
        c.Current.VersionId, Text.Iso(c.Current.LastModified), c.Current.IsDeleteMarker,
        c.Kind switch
        {
            RollbackKind.Newer => removeNewer ? "delete-marker" : "keep",
            _ when c.RemovesDeleteMarkers => "remove-delete-markers",
            _ => "copy",
        });
}

public sealed record RollbackSummary(string To, bool DryRun, int Restored, int Reverted, int Newer, int NewerHidden)
{
    [JsonPropertyOrder(-1)] public string MessageType => "rollback";
}

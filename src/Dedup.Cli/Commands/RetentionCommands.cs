using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Maintenance.ObjectLock;
using Dedup.Storage.S3;

namespace Dedup.Cli.Commands;

/// <summary>Object Lock, managed: the bucket's default retention, and extending it on live objects (spec/object-lock.md).</summary>
public static class RetentionCommands
{
    public static VerbGroup Create() => new("retention", "Object Lock: set the bucket's retention, show it, extend it on live objects.", """
        The retention mode and period are the bucket's own default retention (S3 Object Lock), so every object any
        host writes is locked at once, without the host needing s3:PutObjectRetention. 'retention extend' (also run by
        'prune' at its end) keeps every live object locked for the full period, however old it is.
        The bucket must have been created with Object Lock. All three need admin credentials; none needs the password.
        """,
        new RetentionSetCommand(), new RetentionShowCommand(), new RetentionExtendCommand());

    public static RetentionMode ParseMode(string? text) => text switch
    {
        "governance" => RetentionMode.Governance,
        "compliance" => RetentionMode.Compliance,
        _ => throw new UsageException($"--retention-mode takes governance or compliance, not '{text}'"),
    };

    public static string Name(RetentionMode mode) => mode == RetentionMode.Compliance ? "compliance" : "governance";

    /// <summary>The bucket's default retention has whole days: a period that is not is refused, not rounded.</summary>
    public static int WholeDays(TimeSpan period, string option)
    {
        if (period < TimeSpan.FromDays(1) || period.Ticks % TimeSpan.TicksPerDay != 0)
            throw new UsageException($"{option} must be whole days (S3's default retention counts days), e.g. 30d, not {Text.Duration(period)}");
        return (int)period.TotalDays;
    }

    /// <summary>The raw S3 store, or one line saying why retention needs one.</summary>
    public static S3Storage RequireS3(CliContext ctx) =>
        ctx.OpenStorage().S3 ?? throw new UsageException("Object Lock is an S3 feature: this repository is a local folder, which has no retention");

    /// <summary>Sets the bucket's default retention; used by 'retention set' and 'init --retention-mode'.</summary>
    public static async Task<BucketRetention> SetAsync(CliContext ctx, S3Storage s3, string mode, TimeSpan period, string periodOption)
    {
        var retention = new BucketRetention(ParseMode(mode), WholeDays(period, periodOption));
        await s3.SetDefaultRetentionAsync(retention, ctx.Cancellation).ConfigureAwait(false);
        return retention;
    }

    public static void Say(CliContext ctx, RetentionReport r, RetentionTarget target, string verb = "retention")
    {
        ctx.Say($"{verb}: {r.Extended} of {r.Objects + r.Vanished} live objects extended to {Text.Iso(r.ExtendedTo ?? default)} ({Name(target.Mode)}, period "
                + $"{Text.Duration(target.Period)} + margin {Text.Duration(target.Margin)}); earliest retain-until left: "
                + (r.EarliestRetainUntil is { } e ? Text.Iso(e) : "none (no live objects)"));
        if (r.KeptGovernance > 0)
            ctx.Say($"note: {r.KeptGovernance} objects stay in governance mode: S3 moves a lock to compliance only with a governance bypass, which Dedup never uses");
        if (r.Skipped > 0) ctx.Say($"note: {r.Skipped} packs marked for deletion were not extended");
    }
}

public sealed class RetentionSetCommand : Verb
{
    private readonly Option<string> _mode = Opt.OneOf("retention-mode", "governance (an admin granted s3:BypassGovernanceRetention can lift it) or compliance (nobody can)", "governance", "compliance");
    private readonly Option<TimeSpan?> _period = Opt.Duration("retention-period", "how long every object stays locked, in whole days (30d, 2w, 1y)");

    public RetentionSetCommand() : base("set", "Set the bucket's default retention: mode and period.", """
        Writes the bucket's Object Lock default retention (PutObjectLockConfiguration). New objects are locked from
        then on; objects already stored keep theirs until 'retention extend' (or 'prune') extends them.
        Compliance mode cannot be undone: nobody, not even the account's root user, can delete a locked version early.
        """)
    {
        _mode.Required = true;
        _period.Required = true;
        Add(_mode);
        Add(_period);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var s3 = RetentionCommands.RequireS3(ctx);
        var r = await RetentionCommands.SetAsync(ctx, s3, ctx.Get(_mode)!, ctx.Get(_period)!.Value, "--retention-period").ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(RetentionSettingJson.From(s3, r), CliJson.Default.RetentionSettingJson);
        else ctx.Say($"default retention of {s3.Location}: {RetentionCommands.Name(r.Mode)}, {r.Days} days; run 'dedup retention extend' to lock what is already stored");
        return ExitCodes.Ok;
    }
}

public sealed class RetentionShowCommand : Verb
{
    public RetentionShowCommand() : base("show", "Show the bucket's default retention.", "Prints the Object Lock mode and period that new objects get.")
    {
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var s3 = RetentionCommands.RequireS3(ctx);
        var r = await s3.GetDefaultRetentionAsync(ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(RetentionSettingJson.From(s3, r), CliJson.Default.RetentionSettingJson);
        else if (r is null) ctx.Say($"{s3.Location}: Object Lock is on, with no default retention; set one with 'dedup retention set'");
        else ctx.Say($"default retention of {s3.Location}: {RetentionCommands.Name(r.Mode)}, {r.Days} days");
        return ExitCodes.Ok;
    }
}

public sealed class RetentionExtendCommand : Verb
{
    private readonly Option<string> _mode = Opt.OneOf("retention-mode", "the mode for objects with no lock (default: the bucket's)", "governance", "compliance");
    private readonly Option<TimeSpan?> _period = Opt.Duration("retention-period", "keep live objects locked at least this long from now (default: the bucket's)");
    private readonly Option<TimeSpan?> _margin = Opt.Duration("margin", "extend only objects locked for less than period + margin, to now + period + 2 x margin (default 7d)");

    public RetentionExtendCommand() : base("extend", "Extend the retention of every live object to at least the period from now.", """
        Lists the live objects (current versions) and reads each one's retain-until date (one HEAD each). An object
        locked for less than period + margin from now is locked until now + period + 2 x margin; the others are left
        alone, so a daily run touches each object about once per margin, and a second run right after touches none.
        Never shortens a lock, and keeps an object's mode while its lock holds. Reports how many were extended and the
        earliest retain-until left. 'prune' runs this at its end, skipping packs it marked for deletion.
        """)
    {
        Add(_mode);
        Add(_period);
        Add(_margin);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var s3 = RetentionCommands.RequireS3(ctx);
        var bucket = await s3.GetDefaultRetentionAsync(ctx.Cancellation).ConfigureAwait(false);
        var mode = ctx.Get(_mode) is { } m ? RetentionCommands.ParseMode(m) : bucket?.Mode;
        var period = ctx.Get(_period) ?? bucket?.Period;
        if (mode is null || period is null)
            throw new UsageException("the bucket has no default retention: set one with 'dedup retention set', or give --retention-mode and --retention-period");
        var target = new RetentionTarget(mode.Value, period.Value, ctx.Get(_margin) ?? RetentionTarget.DefaultMargin);
        RetentionReport report;
        using (ctx.TerminalProgress(t => $"extending retention, {Text.Duration(t)}"))
            report = await RetentionExtender.ExtendAsync(s3, target, TimeProvider.System, ct: ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(RetentionExtendJson.From(report, target), CliJson.Default.RetentionExtendJson);
        else RetentionCommands.Say(ctx, report, target);
        return ExitCodes.Ok;
    }
}

public sealed record RetentionSettingJson(string Location, string? Mode, int? Days)
{
    [JsonPropertyOrder(-1)] public string MessageType => "retention";

    public static RetentionSettingJson From(S3Storage s3, BucketRetention? r) =>
        new(s3.Location, r is null ? null : RetentionCommands.Name(r.Mode), r?.Days);
}

public sealed record RetentionExtendJson(string Mode, double PeriodSeconds, double MarginSeconds, int Objects, int Extended, string? ExtendedTo,
    int KeptGovernance, int Vanished, int Skipped, string? EarliestRetainUntil)
{
    [JsonPropertyOrder(-1)] public string MessageType => "retention_extended";

    public static RetentionExtendJson From(RetentionReport r, RetentionTarget t) => new(
        RetentionCommands.Name(t.Mode), t.Period.TotalSeconds, t.Margin.TotalSeconds, r.Objects, r.Extended,
        r.ExtendedTo is { } x ? Text.Iso(x) : null, r.KeptGovernance, r.Vanished, r.Skipped,
        r.EarliestRetainUntil is { } e ? Text.Iso(e) : null);
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Dedup.Archiver.Trees;
using Dedup.Cli.Cli;
using Dedup.Format;

namespace Dedup.Cli.Commands;

/// <summary>'stats': how big the repository is, what deduplication and compression save, and who added what when.</summary>
public sealed class StatsCommand : Verb
{
    private readonly Argument<string[]> _snapshots;
    private readonly Option<string> _growth = Opt.OneOf("growth", "group the growth table by day (default) or by week", "day", "week");
    private readonly SnapshotSelection _selection = new();

    public StatsCommand() : base("stats", "Report the repository's size: stored and raw bytes, dedup and compression ratios, per host, per snapshot and over time.",
        """
        stored      the bytes of the pack files in the repository (what the storage bills)
        raw         the uncompressed bytes of the distinct blobs the measured snapshots reference
        restore     the bytes a restore of each snapshot would write, summed over the snapshots
        dedup ratio restore size / raw size;  compression ratio: raw size / stored size of those blobs
        Per snapshot: 'added' is what it stored that no earlier snapshot had (by storage time), 'unique' what no
        other measured snapshot references (what forgetting it alone would free, before compression). Growth sums
        'added' by the day or week the storage recorded each snapshot.
        With SNAPSHOT arguments or --host only those snapshots are measured; otherwise every trusted one.
        Directories two snapshots share are read at most twice in all, so many snapshots of one host cost little more
        than one. With --json, prints one JSON document, after status lines ("message_type": "status": phase,
        snapshots measured, directories read, packs listed).
        """)
    {
        _snapshots = Arg<string[]>("SNAPSHOT", "snapshots to measure (default: all): " + SnapshotSelection.ArgumentHelp, ArgumentArity.ZeroOrMore);
        Add(_growth);
        foreach (var o in _selection.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "measure the repository").ConfigureAwait(false);
        var snapshots = await FindCommand.SelectAsync(repo, ctx.Get(_snapshots) ?? [], _selection.Filter(ctx), ctx).ConfigureAwait(false);
        var usage = new BlobUsage(repo);
        long measured = 0, packBytes = 0, packs = 0;
        var phase = "reading trees";
        long raw, stored, blobs;
        using (ctx.Progress(t => new StatsStatus(t.TotalSeconds, Volatile.Read(ref phase), Volatile.Read(ref measured), snapshots.Count, usage.DirectoriesRead,
                   Volatile.Read(ref packs)), CliJson.Default.StatsStatus,
                   s => $"{s.Phase}: {s.SnapshotsDone}/{s.SnapshotsTotal} snapshots, {s.DirectoriesRead} directories read, {s.PacksListed} packs listed, "
                        + Text.Duration(TimeSpan.FromSeconds(s.SecondsElapsed))))
        {
            foreach (var s in snapshots)
            {
                await usage.MeasureAsync(s, ctx.Cancellation).ConfigureAwait(false);
                Interlocked.Increment(ref measured);
            }
            Volatile.Write(ref phase, "summing blobs");
            (raw, stored, blobs) = usage.Finish();
            Volatile.Write(ref phase, "listing packs");
            await foreach (var o in repo.Storage.ListAsync(Layout.DataPrefix, ctx.Cancellation).ConfigureAwait(false))
            {
                packBytes += o.Size;
                Interlocked.Increment(ref packs);
            }
            Volatile.Write(ref phase, "done");
        }
        bool weekly = ctx.Get(_growth) == "week";
        var report = Report(usage, raw, stored, blobs, packBytes, packs, repo.Index.Count, weekly);
        if (ctx.Json) ctx.WriteJson(report, CliJson.Default.StatsReport);
        else Print(ctx.Out, report);
        return report.Snapshots.Sum(s => s.MissingBlobs) > 0 ? ExitCodes.Damaged : ExitCodes.Ok;
    }

    private static StatsReport Report(BlobUsage usage, long raw, long stored, long blobs, long packBytes, long packs, int indexEntries, bool weekly)
    {
        var per = usage.Snapshots.Select(u => new SnapshotStats(u.Snapshot.Id.ToString(), u.Snapshot.Info.Host, Text.Iso(u.Snapshot.StoredAt),
            u.Files, u.Directories, u.RestoreSize, u.AddedRaw, u.AddedStored, u.UniqueRaw, u.MissingBlobs)).ToList();
        var hosts = usage.Snapshots.GroupBy(u => u.Snapshot.Info.Host, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new HostStats(g.Key, g.Count(), g.Sum(u => u.RestoreSize), g.Sum(u => u.AddedRaw), g.Sum(u => u.AddedStored), g.Sum(u => u.UniqueRaw))).ToList();
        var growth = usage.Snapshots.GroupBy(u => Period(u.Snapshot.StoredAt, weekly)).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new GrowthStats(g.Key, g.Count(), g.Sum(u => u.AddedRaw), g.Sum(u => u.AddedStored))).ToList();
        long restore = per.Sum(s => s.RestoreBytes);
        return new StatsReport(per.Count, packs, packBytes, blobs, indexEntries, raw, stored, restore,
            Ratio(restore, raw), Ratio(raw, stored), weekly ? "week" : "day", hosts, per, growth,
            (long)Math.Ceiling(indexEntries * BlobUsage.BytesPerIndexEntry));
    }

    private static double Ratio(long a, long b) => b == 0 ? 0 : Math.Round((double)a / b, 3);

    /// <summary>"2026-11-30", or the ISO week "2026-W48", in UTC.</summary>
    public static string Period(DateTimeOffset t, bool weekly)
    {
        var d = t.UtcDateTime;
        return weekly ? $"{ISOWeek.GetYear(d)}-W{ISOWeek.GetWeekOfYear(d):00}" : d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    private static void Print(TextWriter o, StatsReport r)
    {
        static string X(double v) => v.ToString("0.00", CultureInfo.InvariantCulture) + "x";
        foreach (var line in Text.Table([
                     ["snapshots:", $"{r.SnapshotCount}"],
                     ["stored:", $"{Text.Bytes(r.StoredBytes)} in {r.Packs} packs"],
                     ["raw:", $"{Text.Bytes(r.RawBytes)} in {r.Blobs} blobs ({Text.Bytes(r.BlobsStoredBytes)} stored)"],
                     ["restore size:", Text.Bytes(r.RestoreBytes)],
                     ["dedup ratio:", X(r.DedupRatio)],
                     ["compression ratio:", X(r.CompressionRatio)],
                 ]))
            o.WriteLine(line);
        o.WriteLine();
        var hosts = new List<string[]> { new[] { "host", "snapshots", "restore size", "added", "added stored", "unique" } };
        hosts.AddRange(r.Hosts.Select(h => new[] { h.Host, $"{h.Snapshots}", Text.Bytes(h.RestoreBytes), Text.Bytes(h.AddedBytes), Text.Bytes(h.AddedStoredBytes), Text.Bytes(h.UniqueBytes) }));
        foreach (var line in Text.Table(hosts)) o.WriteLine(line);
        o.WriteLine();
        var snaps = new List<string[]> { new[] { "snapshot", "stored at", "host", "files", "restore size", "added", "unique" } };
        snaps.AddRange(r.Snapshots.Select(s => new[] { s.Id[..8], Text.LocalTime(DateTimeOffset.Parse(s.StoredAt, CultureInfo.InvariantCulture)), s.Host, $"{s.Files}",
            Text.Bytes(s.RestoreBytes), Text.Bytes(s.AddedBytes), Text.Bytes(s.UniqueBytes) }));
        foreach (var line in Text.Table(snaps)) o.WriteLine(line);
        o.WriteLine();
        var growth = new List<string[]> { new[] { r.GrowthPeriod, "snapshots", "added", "added stored" } };
        growth.AddRange(r.Growth.Select(g => new[] { g.Period, $"{g.Snapshots}", Text.Bytes(g.AddedBytes), Text.Bytes(g.AddedStoredBytes) }));
        foreach (var line in Text.Table(growth)) o.WriteLine(line);
    }
}

/// <summary>A status line of 'stats --json', before the report: the phase, snapshots measured of all selected, directories read, packs listed.</summary>
public sealed record StatsStatus(double SecondsElapsed, string Phase, long SnapshotsDone, long SnapshotsTotal, long DirectoriesRead, long PacksListed)
{
    [JsonPropertyOrder(-1)] public string MessageType => "status";
}

/// <summary>'stats --json'. Byte counts are exact; ratios are rounded to three places (0 when undefined).</summary>
public sealed record StatsReport(
    int SnapshotCount, long Packs, long StoredBytes, long Blobs, long IndexEntries, long RawBytes, long BlobsStoredBytes, long RestoreBytes,
    double DedupRatio, double CompressionRatio, string GrowthPeriod, IReadOnlyList<HostStats> Hosts, IReadOnlyList<SnapshotStats> Snapshots,
    IReadOnlyList<GrowthStats> Growth, long BookkeepingBytes);

public sealed record HostStats(string Host, int Snapshots, long RestoreBytes, long AddedBytes, long AddedStoredBytes, long UniqueBytes);

public sealed record SnapshotStats(
    string Id, string Host, string StoredAt, long Files, long Directories, long RestoreBytes, long AddedBytes, long AddedStoredBytes, long UniqueBytes, long MissingBlobs);

public sealed record GrowthStats(string Period, int Snapshots, long AddedBytes, long AddedStoredBytes);

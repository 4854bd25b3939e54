using System.CommandLine;
using System.Globalization;
using Dedup.Cli.Cli;
using Dedup.Maintenance;

namespace Dedup.Cli.Commands;

/// <summary>'dedup status': the fleet as the admin sees it (issue 13); hosts that cannot read cannot notice their own silence.</summary>
public sealed class StatusCommand : Verb
{
    private readonly Option<TimeSpan?> _stale = Opt.Duration("stale", "a writer is silent when its last snapshot is older than this (default 26h)");
    private readonly Option<double?> _churnFactor = new("--churn-factor")
    {
        Description = "flag a backup changing more than K times the writer's median (default 10)",
        HelpName = "K",
        CustomParser = r => double.TryParse(r.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 1 ? f
            : Refuse(r, $"--churn-factor takes a number above 1, not '{r.Tokens[0].Value}'"),
    };
    private readonly Option<string> _prometheus = Opt.Text("prometheus", "FILE", "also write Prometheus text to FILE");

    public StatusCommand() : base("status", "Show each writer's last backup, and flag silent hosts and unusual changes (admin host).", """
        One row per writer (signing identity and certified host) and path set: its last trusted snapshot by the time
        the storage recorded, its age and size, and the new and changed files and added bytes of that backup.
        SILENT: the last snapshot is older than --stale (default 26h). CHURN: that backup added more than --churn-factor
        (default 10) times the median bytes, or changed that many times the median files, of the writer's previous 10
        backups of the path set (at least 3 needed), and more than 64 MiB or 1000 files: the shape of mass encryption.
        --prometheus FILE also writes the figures for node_exporter's textfile collector (written whole, then renamed).
        Exit code 13 when any row is flagged, so that monitoring can alert on it. Needs a full key.
        """)
    {
        foreach (var o in new Option[] { _stale, _churnFactor, _prometheus }) Add(o);
    }

    private static double? Refuse(System.CommandLine.Parsing.ArgumentResult r, string message)
    {
        r.AddError(message);
        return null;
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var options = new FleetStatusOptions();
        if (ctx.Get(_stale) is { } stale) options = options with { Stale = stale };
        if (ctx.Get(_churnFactor) is { } k) options = options with { ChurnFactor = k };
        var repo = await ctx.OpenRepositoryAsync(reads: "read the snapshots").ConfigureAwait(false);
        var rows = await FleetStatus.RunAsync(repo, options, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Get(_prometheus) is { } file)
        {
            File.WriteAllText(file + ".tmp", FleetStatus.Prometheus(rows, repo.Clock.GetUtcNow()));
            File.Move(file + ".tmp", file, overwrite: true);
        }
        var attention = rows.Any(r => r.NeedsAttention);
        if (ctx.Json)
            ctx.WriteJson(new FleetStatusJson(attention, [.. rows.Select(r => new WriterStatusJson(r.Identity, r.Host, r.Paths, r.LastSnapshot,
                Text.Iso(r.LastStored), (long)r.Age.TotalSeconds, r.SizeBytes, r.ChangedFiles, r.AddedBytes, r.MedianAddedBytes, r.MedianChangedFiles,
                r.Snapshots, r.Silent, r.UnusualChurn))]), CliJson.Default.FleetStatusJson);
        else
        {
            var table = new List<string[]> { new[] { "Host", "Writer", "Paths", "Last", "Age", "Size", "Changed", "Added", "Flags" } };
            table.AddRange(rows.Select(r => new[]
            {
                r.Host, r.Identity, string.Join(",", r.Paths), r.LastSnapshot[..8], Text.Duration(r.Age), Text.Bytes(r.SizeBytes),
                r.ChangedFiles.ToString(CultureInfo.InvariantCulture), Text.Bytes(r.AddedBytes),
                string.Join(" ", new[] { r.Silent ? "SILENT" : null, r.UnusualChurn ? "CHURN" : null }.OfType<string>()),
            }));
            foreach (var line in Text.Table(table)) ctx.Say(line);
        }
        return attention ? ExitCodes.Attention : ExitCodes.Ok;
    }
}

public sealed record FleetStatusJson(bool Attention, IReadOnlyList<WriterStatusJson> Writers);

public sealed record WriterStatusJson(string Writer, string Host, IReadOnlyList<string> Paths, string LastSnapshot, string LastStored, long AgeSeconds,
    long SizeBytes, long ChangedFiles, long AddedBytes, double? MedianAddedBytes, double? MedianChangedFiles, int Snapshots, bool Silent, bool UnusualChurn);

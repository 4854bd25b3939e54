using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Maintenance;

/// <summary>When a writer needs the admin's attention.</summary>
public sealed record FleetStatusOptions
{
    /// <summary>A writer whose last trusted snapshot of a path set is older than this is silent.</summary>
    public TimeSpan Stale { get; init; } = TimeSpan.FromHours(26);
    /// <summary>A backup's churn is unusual when it exceeds this many times the median of the same writer's earlier backups...</summary>
    public double ChurnFactor { get; init; } = 10;
    /// <summary>...of which at most this many (the most recent) form the baseline, and at least <see cref="MinBaseline"/> are needed.</summary>
    public int Baseline { get; init; } = 10;
    public int MinBaseline { get; init; } = 3;
    /// <summary>...and is above these floors (small backups jumping from 1 KB to 20 KB are no news).</summary>
    public long ChurnFloorBytes { get; init; } = 64L << 20;
    public long ChurnFloorFiles { get; init; } = 1000;
}

/// <summary>
/// One writer's path set: its last trusted snapshot by storage time, what that backup changed, and the flags. A writer
/// is a signing identity ("repository" or "writer:&lt;fingerprint&gt;") with the host its certificate names.
/// </summary>
public sealed record WriterStatus(
    string Identity, string Host, IReadOnlyList<string> Paths, string LastSnapshot, DateTimeOffset LastStored, TimeSpan Age,
    long SizeBytes, long ChangedFiles, long AddedBytes, double? MedianAddedBytes, double? MedianChangedFiles, int Snapshots,
    bool Silent, bool UnusualChurn)
{
    public bool NeedsAttention => Silent || UnusualChurn;
}

/// <summary>
/// The fleet as the admin sees it (issue 13): hosts that can only upload cannot notice that their backups stopped
/// arriving, so the admin host must. Only trusted snapshots count, by storage time (a writer's claimed times prove
/// nothing). Churn: a backup's added bytes or changed (new + changed) files above <see cref="FleetStatusOptions.ChurnFactor"/>
/// × the median of that writer's previous backups of the path set, and above a floor — the shape of mass encryption.
/// </summary>
public static class FleetStatus
{
    public static async Task<IReadOnlyList<WriterStatus>> RunAsync(Repo repo, FleetStatusOptions options, CancellationToken ct = default)
    {
        var all = await repo.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false);
        return Compute(all.Where(s => s.IsTrusted), repo.Clock.GetUtcNow(), options);
    }

    public static IReadOnlyList<WriterStatus> Compute(IEnumerable<LoadedSnapshot> trusted, DateTimeOffset now, FleetStatusOptions options)
    {
        var rows = new List<WriterStatus>();
        foreach (var group in trusted.GroupBy(s => (s.Header.Signer.Identity, Host: s.Header.Signer.Writer?.Host ?? s.Info.Host, Paths: string.Join("\n", s.Info.Paths))))
        {
            var ordered = group.OrderBy(s => s.StoredAt).ToList();
            var last = ordered[^1];
            var baseline = ordered.Take(ordered.Count - 1).TakeLast(options.Baseline).Select(s => s.Info.Summary).ToList();
            long changed = Changed(last.Info.Summary), added = last.Info.Summary.BytesAdded;
            double? medianBytes = baseline.Count >= options.MinBaseline ? Median(baseline.Select(b => (double)b.BytesAdded)) : null;
            double? medianFiles = baseline.Count >= options.MinBaseline ? Median(baseline.Select(b => (double)Changed(b))) : null;
            bool churn = (medianBytes is { } mb && added > options.ChurnFloorBytes && added > options.ChurnFactor * mb)
                         || (medianFiles is { } mf && changed > options.ChurnFloorFiles && changed > options.ChurnFactor * mf);
            var age = now - last.StoredAt;
            rows.Add(new WriterStatus(group.Key.Identity, group.Key.Host, last.Info.Paths, last.Id.ToString(), last.StoredAt, age,
                last.Info.Summary.BytesTotal, changed, added, medianBytes, medianFiles, ordered.Count, age > options.Stale, churn));
        }
        return rows.OrderBy(r => r.Host, StringComparer.Ordinal).ThenBy(r => r.Identity, StringComparer.Ordinal)
            .ThenBy(r => string.Join("\n", r.Paths), StringComparer.Ordinal).ToList();
    }

    private static long Changed(Dedup.Format.SnapshotSummary s) => s.FilesNew + s.FilesChanged;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The Prometheus text exposition of the rows (for node_exporter's textfile collector).</summary>
    public static string Prometheus(IReadOnlyList<WriterStatus> rows, DateTimeOffset now)
    {
        var w = new System.Text.StringBuilder();
        void Metric(string name, string help, Func<WriterStatus, double> value)
        {
            w.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            w.Append("# TYPE ").Append(name).Append(" gauge\n");
            foreach (var r in rows)
                w.Append(name).Append("{writer=\"").Append(Escape(r.Identity)).Append("\",host=\"").Append(Escape(r.Host))
                    .Append("\",paths=\"").Append(Escape(string.Join(",", r.Paths))).Append("\"} ")
                    .Append(value(r).ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        Metric("dedup_last_snapshot_timestamp_seconds", "Storage time of the writer's last trusted snapshot of the path set.", r => r.LastStored.ToUnixTimeSeconds());
        Metric("dedup_last_snapshot_age_seconds", "Age of that snapshot when status ran.", r => Math.Floor(r.Age.TotalSeconds));
        Metric("dedup_last_snapshot_size_bytes", "Bytes of files in that snapshot.", r => r.SizeBytes);
        Metric("dedup_last_snapshot_added_bytes", "Bytes that backup added.", r => r.AddedBytes);
        Metric("dedup_last_snapshot_changed_files", "New and changed files in that backup.", r => r.ChangedFiles);
        Metric("dedup_writer_silent", "1 when the last snapshot is older than --stale.", r => r.Silent ? 1 : 0);
        Metric("dedup_writer_unusual_churn", "1 when the last backup changed far more than that writer's usual.", r => r.UnusualChurn ? 1 : 0);
        w.Append("# HELP dedup_status_timestamp_seconds When status ran.\n# TYPE dedup_status_timestamp_seconds gauge\n")
            .Append("dedup_status_timestamp_seconds ").Append(now.ToUnixTimeSeconds()).Append('\n');
        return w.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

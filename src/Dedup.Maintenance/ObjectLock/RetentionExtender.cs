using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Maintenance.ObjectLock;

/// <summary>
/// How long live objects must stay locked. An object is touched only when its retain-until is earlier than
/// now + <see cref="Period"/> + <see cref="Margin"/>, and then set to now + period + 2 × margin: a run always leaves every
/// live object locked for at least period + margin (so maintenance may lapse for a margin without live data losing
/// its full period), and daily runs touch each object about once per margin.
/// </summary>
public sealed record RetentionTarget(RetentionMode Mode, TimeSpan Period, TimeSpan Margin)
{
    /// <summary>Default margin: a week, so daily maintenance rewrites each object's retention about once a week.</summary>
    public static readonly TimeSpan DefaultMargin = TimeSpan.FromDays(7);

    public DateTimeOffset Threshold(DateTimeOffset now) => now + Period + Margin;

    public DateTimeOffset NewRetainUntil(DateTimeOffset now) => now + Period + Margin + Margin;
}

/// <summary>What a retention run did, and the weakest lock it left.</summary>
public sealed class RetentionReport
{
    public int Objects;
    public int Extended;
    /// <summary>Locked in GOVERNANCE where the target is COMPLIANCE: extended in GOVERNANCE (S3 changes the mode only with a governance bypass).</summary>
    public int KeptGovernance;
    /// <summary>Gone between the listing and the change (deleted by a concurrent prune).</summary>
    public int Vanished;
    public int Skipped;
    /// <summary>The retain-until date this run gave the objects it extended.</summary>
    public DateTimeOffset? ExtendedTo;
    public DateTimeOffset? EarliestRetainUntil;

    internal void Saw(DateTimeOffset until)
    {
        lock (this)
        {
            Objects++;
            if (EarliestRetainUntil is not { } e || until < e) EarliestRetainUntil = until;
        }
    }
}

/// <summary>
/// Extends the Object Lock retention of every live object (current versions under the repository prefix), so that
/// live data stays protected for the full period however old it is. Idempotent and cheap: one HEAD per object, and a
/// PutObjectRetention only for those below the threshold. It never shortens: S3 refuses that without a governance
/// bypass, and this code never asks for one.
/// </summary>
public static class RetentionExtender
{
    public static async Task<RetentionReport> ExtendAsync(S3Storage s3, RetentionTarget target, TimeProvider clock,
        Func<string, bool>? skip = null, int parallelism = 8, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var threshold = target.Threshold(now);
        var until = target.NewRetainUntil(now);
        var report = new RetentionReport { ExtendedTo = until };
        await Parallel.ForEachAsync(s3.ListAsync("", ct), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (obj, token) =>
        {
            if (obj.Name == AdminAccess.ProbeName) return;
            if (skip?.Invoke(obj.Name) == true)
            {
                Interlocked.Increment(ref report.Skipped);
                return;
            }
            var current = await s3.GetRetentionAsync(obj.Name, null, token).ConfigureAwait(false);
            if (current is null)
            {
                Interlocked.Increment(ref report.Vanished);
                return;
            }
            if (current.RetainUntil is { } have && have >= threshold)
            {
                report.Saw(have);
                return;
            }
            // Keep a lock's mode while it holds: COMPLIANCE cannot be weakened, and GOVERNANCE → COMPLIANCE needs a bypass.
            var mode = current.IsLockedAt(now) ? current.Mode!.Value : target.Mode;
            if (mode != target.Mode && mode == RetentionMode.Governance) Interlocked.Increment(ref report.KeptGovernance);
            try
            {
                await s3.SetRetentionAsync(obj.Name, current.VersionId, mode, until, token).ConfigureAwait(false);
            }
            catch (ObjectNotFoundException)
            {
                Interlocked.Increment(ref report.Vanished);
                return;
            }
            Interlocked.Increment(ref report.Extended);
            report.Saw(until);
        }).ConfigureAwait(false);
        return report;
    }
}

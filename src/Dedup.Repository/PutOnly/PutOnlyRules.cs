namespace Dedup.Repository.PutOnly;

/// <summary>The numbers of spec prune-protocol.md "Put-only writers".</summary>
public static class PutOnlyRules
{
    /// <summary>Prune's default grace period (PruneOptions.Grace); a test holds the two equal.</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromHours(48);

    /// <summary>Prune's default max backup age (PruneOptions.MaxBackupAge).</summary>
    public static readonly TimeSpan DefaultMaxBackupAge = TimeSpan.FromHours(24);

    /// <summary>
    /// A killed run's packs may be reused by a put-only host only if that run started less than this long ago
    /// (grace − max backup age): then no mark listing them can expire before the resumed run, which finishes within
    /// the max backup age, stores the snapshot that uses them.
    /// </summary>
    public static TimeSpan ResumeWindow => DefaultGrace - DefaultMaxBackupAge;
}

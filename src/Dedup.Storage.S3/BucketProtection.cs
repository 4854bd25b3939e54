namespace Dedup.Storage.S3;

public enum VersioningState
{
    /// <summary>The credentials may not read the setting.</summary>
    Unknown,
    Off,
    Enabled,
    Suspended,
}

public enum ObjectLockState
{
    /// <summary>The credentials may not read the setting.</summary>
    Unknown,
    Off,
    Enabled,
}

/// <summary>
/// What protects a bucket's objects from a client that is compromised: with versioning, overwrites and
/// deletes keep the old version; with Object Lock, locked versions cannot be removed at all.
/// </summary>
public readonly record struct BucketProtection(VersioningState Versioning, ObjectLockState ObjectLock);

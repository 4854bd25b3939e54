namespace Dedup.Storage;

/// <summary>
/// Composes the wrappers. Each has an overload for <see cref="IMaintenanceStorage"/>, so wrapping
/// a store that can delete yields one that can, and wrapping one that cannot never adds the ability.
/// Order: <c>s.WithConcurrencyLimit(n).WithBandwidthLimit(limits).WithRetries()</c>, so a retry waiting out its backoff
/// holds no slot, a call waiting for bandwidth holds none either, and retried bytes count against the limit.
/// </summary>
public static class StorageWrappers
{
    public static IStorage WithRetries(this IStorage storage, RetryPolicy? policy = null) =>
        new RetryingStorage(storage, policy);

    public static IMaintenanceStorage WithRetries(this IMaintenanceStorage storage, RetryPolicy? policy = null) =>
        new RetryingMaintenanceStorage(storage, policy);

    public static IStorage WithConcurrencyLimit(this IStorage storage, int maxConcurrent) =>
        new ConcurrencyLimitingStorage(storage, maxConcurrent);

    public static IMaintenanceStorage WithConcurrencyLimit(this IMaintenanceStorage storage, int maxConcurrent) =>
        new ConcurrencyLimitingMaintenanceStorage(storage, maxConcurrent);

    /// <summary>Limits upload and download bytes per second across all calls; unlimited limits return the store as it is.</summary>
    public static IStorage WithBandwidthLimit(this IStorage storage, BandwidthLimits limits, TimeProvider? clock = null) =>
        limits.IsUnlimited ? storage : new BandwidthLimitingStorage(storage, limits, clock);

    public static IMaintenanceStorage WithBandwidthLimit(this IMaintenanceStorage storage, BandwidthLimits limits, TimeProvider? clock = null) =>
        limits.IsUnlimited ? storage : new BandwidthLimitingMaintenanceStorage(storage, limits, clock);
}

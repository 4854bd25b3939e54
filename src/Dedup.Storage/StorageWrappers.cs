namespace Dedup.Storage;

/// <summary>
/// Composes the wrappers. Each has an overload for <see cref="IMaintenanceStorage"/>, so wrapping
/// a store that can delete yields one that can, and wrapping one that cannot never adds the ability.
/// Order: <c>s.WithConcurrencyLimit(n).WithRetries()</c>, so a retry waiting out its backoff holds no slot.
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
}

namespace Dedup.Maintenance.Prune;

/// <summary>
/// A pack as data/ lists it, without its name (the ID keys it): 16 bytes where a <see cref="Dedup.Storage.StoredObject"/>
/// holds a ~170-byte name string, which made the listing of 625,000 packs 149 MiB of the plan's heap.
/// </summary>
internal readonly struct ListedPack(long size, DateTimeOffset lastModified)
{
    private readonly long _utcTicks = lastModified.UtcTicks;

    public long Size { get; } = size;
    public DateTimeOffset LastModified => new(_utcTicks, TimeSpan.Zero);
}

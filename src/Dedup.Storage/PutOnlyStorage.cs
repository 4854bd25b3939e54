namespace Dedup.Storage;

/// <summary>
/// The store as a host whose credentials may only upload sees it: puts go through, and every read, stat or listing
/// fails at once with <see cref="PutOnlyHostException"/>, without a request. A host opened from its enrolment runs on
/// this, so no code path can quietly depend on a read its credentials would refuse (or, with broader credentials,
/// read what the host is meant to do without).
/// </summary>
public sealed class PutOnlyStorage(IStorage inner) : IStorage
{
    public string Location => inner.Location;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        inner.PutAsync(name, data, cancellationToken);

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
        throw new PutOnlyHostException("read", name);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
        throw new PutOnlyHostException("stat", name);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) =>
        throw new PutOnlyHostException("list", prefix);
}

/// <summary>A put-only host was asked to read the repository. Names the refused operation and object, never a secret.</summary>
public sealed class PutOnlyHostException(string operation, string name)
    : StorageException($"this host's credentials can only upload ({operation} of '{name}' is not done here); run it on the admin host")
{
    public string Operation { get; } = operation;
}

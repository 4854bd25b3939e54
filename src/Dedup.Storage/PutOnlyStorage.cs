namespace Dedup.Storage;

/// <summary>
/// The store as a host whose credentials may only upload sees it: puts go through, and every read, stat or listing
/// fails at once with <see cref="PutOnlyHostException"/>, without a request. A host opened from its enrolment runs on
/// this, so no code path can quietly depend on a read its credentials would refuse (or, with broader credentials,
/// read what the host is meant to do without).
/// </summary>
public sealed class PutOnlyStorage(IStorage inner) : IStorage
{
    private int _readsAllowed, _refused;

    public string Location => inner.Location;

    /// <summary>
    /// Lets reads through until disposed. Only for a host told that its credentials may read its own index files
    /// ('backup --state-from-index'), while it rebuilds lost local state from them; whatever the store refuses still fails.
    /// </summary>
    public IDisposable AllowReads()
    {
        Interlocked.Increment(ref _readsAllowed);
        return new ReadScope(this);
    }

    private bool ReadsAllowed => Volatile.Read(ref _readsAllowed) > 0;

    /// <summary>Reads let through that the store refused (callers may skip an unreadable object like a damaged one;
    /// a host rebuilding its state must know that it did not see everything).</summary>
    public int RefusedReads => Volatile.Read(ref _refused);

    private async Task<T> Counted<T>(Task<T> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (StorageAccessDeniedException)
        {
            Interlocked.Increment(ref _refused);
            throw;
        }
    }

    private async IAsyncEnumerable<StoredObject> Counted(IAsyncEnumerable<StoredObject> listing, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var e = listing.GetAsyncEnumerator(ct);
        while (true)
        {
            try
            {
                if (!await e.MoveNextAsync().ConfigureAwait(false)) yield break;
            }
            catch (StorageAccessDeniedException)
            {
                Interlocked.Increment(ref _refused);
                throw;
            }
            yield return e.Current;
        }
    }

    private sealed class ReadScope(PutOnlyStorage owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref owner._readsAllowed);
        }
    }

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        inner.PutAsync(name, data, cancellationToken);

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default) =>
        inner.PutAsync(name, data, hint, cancellationToken);

    public Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default) =>
        ReadsAllowed ? Counted(inner.OpenReadAsync(name, offset, length, cancellationToken)) : throw new PutOnlyHostException("read", name);

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
        ReadsAllowed ? Counted(inner.StatAsync(name, cancellationToken)) : throw new PutOnlyHostException("stat", name);

    public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) =>
        ReadsAllowed ? Counted(inner.ListAsync(prefix, cancellationToken), cancellationToken) : throw new PutOnlyHostException("list", prefix);
}

/// <summary>A put-only host was asked to read the repository. Names the refused operation and object, never a secret.</summary>
public sealed class PutOnlyHostException(string operation, string name)
    : StorageException($"this host's credentials can only upload ({operation} of '{name}' is not done here); run it on the admin host")
{
    public string Operation { get; } = operation;
}

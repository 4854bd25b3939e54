using System.Runtime.CompilerServices;

namespace Dedup.Storage;

/// <summary>
/// Caps how many operations run against the inner store at once (S3 connections, disk seeks).
/// A read holds its slot until the returned stream is disposed, because the transfer is the cost.
/// </summary>
public class ConcurrencyLimitingStorage : IStorage
{
    private readonly SemaphoreSlim _slots;

    public ConcurrencyLimitingStorage(IStorage inner, int maxConcurrent)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrent, 1);
        MaxConcurrent = maxConcurrent;
        _slots = new SemaphoreSlim(maxConcurrent, maxConcurrent);
    }

    protected IStorage Inner { get; }

    public int MaxConcurrent { get; }

    public string Location => Inner.Location;

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WithSlotAsync(ct => Inner.PutAsync(name, data, ct), cancellationToken);

    public Task<PutOutcome> PutAsync(string name, ReadOnlyMemory<byte> data, PutHint hint, CancellationToken cancellationToken = default) =>
        WithSlotAsync(ct => Inner.PutAsync(name, data, hint, ct), cancellationToken);

    public async Task<Stream> OpenReadAsync(string name, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stream = await Inner.OpenReadAsync(name, offset, length, cancellationToken).ConfigureAwait(false);
            return new SlotReleasingStream(stream, _slots);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    public Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken = default) =>
        WithSlotAsync(ct => Inner.StatAsync(name, ct), cancellationToken);

    /// <summary>Holds a slot only while fetching the next item, so a caller doing other store calls inside the loop cannot deadlock.</summary>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var enumerator = Inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                bool more;
                try
                {
                    more = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }
                finally
                {
                    _slots.Release();
                }
                if (!more)
                    yield break;
                yield return enumerator.Current;
            }
        }
    }

    protected async Task<T> WithSlotAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    private sealed class SlotReleasingStream(Stream inner, SemaphoreSlim slots) : Stream
    {
        private int _released;

        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                Release();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            Release();
            GC.SuppressFinalize(this);
        }

        private void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                slots.Release();
        }
    }
}

/// <summary><see cref="ConcurrencyLimitingStorage"/> over a store that can delete.</summary>
public sealed class ConcurrencyLimitingMaintenanceStorage(IMaintenanceStorage inner, int maxConcurrent)
    : ConcurrencyLimitingStorage(inner, maxConcurrent), IMaintenanceStorage
{
    private IMaintenanceStorage Maintenance => (IMaintenanceStorage)Inner;

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        WithSlotAsync(async ct =>
        {
            await Maintenance.DeleteAsync(name, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<int> AbortIncompleteUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        WithSlotAsync(ct => Maintenance.AbortIncompleteUploadsAsync(olderThan, ct), cancellationToken);
}

namespace Dedup.Storage;

/// <summary>
/// A read stream of <see cref="RetryingStorage"/> that survives a connection cut mid-body: on a transient failure it
/// reopens the object at the offset reached and carries on, after the policy's backoff, on the policy's clock. This is
/// the one place a read is retried (restic's Load, whose callback may run more than once, is the model; here the
/// callback is spared the rerun, since a ranged read of an immutable object can pick up exactly where it stopped).
/// The failures counted against the policy are those in a row without a byte of progress, so a long pack read over a
/// flaky link finishes as long as each attempt gets somewhere, and a dead store still fails after the usual attempts.
/// </summary>
internal sealed class ResumingReadStream(RetryingStorage owner, string name, long offset, long length, Stream first) : Stream
{
    private Stream? _inner = first;
    private long _position;
    private int _failuresInARow;

    /// <summary>Reopens after a mid-body failure (for tests and logs: how often a read was resumed).</summary>
    public int Resumes { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0) return 0;
        while (true)
        {
            if (length >= 0 && _position >= length) return 0;
            try
            {
                _inner ??= await owner.OpenAtAsync(name, offset + _position, length < 0 ? -1 : length - _position, cancellationToken).ConfigureAwait(false);
                int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                _position += n;
                if (n > 0) _failuresInARow = 0;
                return n;
            }
            catch (Exception e) when (_inner is not null && ResumableMidBody(e) && !cancellationToken.IsCancellationRequested
                                      && ++_failuresInARow < owner.MaxAttempts)
            {
                await _inner.DisposeAsync().ConfigureAwait(false);
                _inner = null;
                Resumes++;
                await owner.BackoffAsync(_failuresInARow, e, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A cut connection shows as an IOException from the HTTP stack, or as the store's transient error.</summary>
    private static bool ResumableMidBody(Exception e) => e is IOException || RetryPolicy.IsTransient(e);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner?.Dispose();
        _inner = null;
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_inner is not null) await _inner.DisposeAsync().ConfigureAwait(false);
        _inner = null;
        GC.SuppressFinalize(this);
    }
}

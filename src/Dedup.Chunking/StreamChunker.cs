using System.Buffers;

namespace Dedup.Chunking;

/// <summary>
/// Streams chunks from a <see cref="Stream"/> using one pooled buffer of about 2 * MaxSize.
/// The buffer is rented from <see cref="ArrayPool{T}.Shared"/> and cleared before it is returned
/// because it held plaintext. The source stream is not disposed (the caller owns it).
/// Not thread-safe; use either the synchronous or the asynchronous API per instance.
/// </summary>
public sealed class StreamChunker : IDisposable
{
    private readonly Stream _source;
    private readonly Chunker _chunker;
    private readonly int _maxSize;
    private byte[]? _buffer;
    private int _start;      // first byte of the not-yet-returned data
    private int _end;        // one past the last byte read from the source
    private int _highWater;  // bytes of _buffer that ever held data, cleared on Dispose
    private bool _endOfStream;
    private ReadOnlyMemory<byte> _current;

    public StreamChunker(Stream source, Chunker chunker)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(chunker);
        _source = source;
        _chunker = chunker;
        _maxSize = chunker.Parameters.MaxSize;
        _buffer = ArrayPool<byte>.Shared.Rent(2 * _maxSize);
    }

    /// <summary>The current chunk; valid until the next MoveNext/MoveNextAsync or Dispose.</summary>
    public ReadOnlyMemory<byte> Current => _current;

    /// <summary>
    /// Total length of the chunks returned so far, i.e. the source offset just past
    /// <see cref="Current"/> (the file size once MoveNext has returned false). Read-ahead is
    /// not counted so that progress and chunk offsets stay deterministic.
    /// </summary>
    public long BytesRead { get; private set; }

    /// <summary>Synchronous variant of <see cref="MoveNextAsync"/> for callers on a worker thread.</summary>
    public bool MoveNext()
    {
        byte[] buffer = Buffer;
        while (NeedsData())
        {
            int read = _source.Read(buffer, _end, buffer.Length - _end);
            Commit(read);
        }

        return TakeChunk();
    }

    /// <summary>Advances to the next chunk; false at the end of the source.</summary>
    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        byte[] buffer = Buffer;
        while (NeedsData())
        {
            int read = await _source.ReadAsync(buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            Commit(read);
        }

        return TakeChunk();
    }

    public void Dispose()
    {
        byte[]? buffer = _buffer;
        if (buffer is null)
        {
            return;
        }

        _buffer = null;
        _current = default;
        Array.Clear(buffer, 0, _highWater);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(StreamChunker));

    /// <summary>
    /// True when fewer than MaxSize bytes are buffered and the source may have more, after making
    /// sure there is room to buffer MaxSize bytes. Compacting only when the tail is too short
    /// moves less than MaxSize bytes per MaxSize consumed.
    /// </summary>
    private bool NeedsData()
    {
        if (_endOfStream || _end - _start >= _maxSize)
        {
            return false;
        }

        byte[] buffer = _buffer!;
        if (buffer.Length - _start < _maxSize)
        {
            int pending = _end - _start;
            Array.Copy(buffer, _start, buffer, 0, pending);
            _start = 0;
            _end = pending;
        }

        return true;
    }

    private void Commit(int read)
    {
        if (read <= 0)
        {
            _endOfStream = true;
            return;
        }

        _end += read;
        _highWater = Math.Max(_highWater, _end);
    }

    private bool TakeChunk()
    {
        int length = _chunker.NextBoundary(_buffer.AsSpan(_start, _end - _start), _endOfStream);
        if (length == 0)
        {
            _current = default;
            return false;
        }

        _current = new ReadOnlyMemory<byte>(_buffer, _start, length);
        _start += length;
        BytesRead += length;
        return true;
    }
}

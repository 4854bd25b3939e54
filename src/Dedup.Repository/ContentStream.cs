using System.Runtime.ExceptionServices;
using Dedup.Format;

namespace Dedup.Repository;

/// <summary>
/// A read-only stream over a file's blobs in order (dump, copy), fetched a window at a time through
/// <see cref="PackStreamer"/>: each window's blobs are read pack by pack, merged and in parallel, verified, and then
/// served in file order. Memory: one window (<see cref="WindowBytes"/>, or one blob if larger). A blob that no copy
/// gives fails the read when the stream reaches it, with the best copy's error, as a blob-by-blob read would.
/// </summary>
public sealed class ContentStream(BlobReader blobs, PackStreamer streamer, DomainId domain, IReadOnlyList<ObjectId> content) : Stream
{
    /// <summary>Plaintext held at once: enough for a window to span several packs and keep the reads in flight busy.</summary>
    public const int WindowBytes = 32 << 20;

    private readonly Queue<RentedBuffer?> _window = new();
    private readonly Queue<Exception?> _errors = new();
    private int _next;
    private RentedBuffer? _current;
    private int _position;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current is null || _position == _current.Length)
        {
            _current?.Dispose();
            _current = null;
            if (_window.Count == 0)
            {
                if (_next == content.Count) return 0;
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            _current = _window.Dequeue();
            if (_errors.Dequeue() is { } error) ExceptionDispatchInfo.Throw(error);
            _position = 0;
        }
        int n = Math.Min(buffer.Length, _current.Length - _position);
        _current.Memory.Slice(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    /// <summary>The next window of blobs, by their planned lengths, read through the streamer and kept in file order.</summary>
    private async Task FillAsync(CancellationToken ct)
    {
        int first = _next;
        long planned = 0;
        while (_next < content.Count && (_next == first || planned < WindowBytes))
        {
            var all = blobs.Locations(content[_next], domain);
            planned += all.Count > 0 ? all[0].RawLength : 0;
            _next++;
        }
        var slots = new RentedBuffer?[_next - first];
        var errors = new Exception?[_next - first];
        try
        {
            await streamer.StreamAsync(Enumerable.Range(first, _next - first).Select(i => (new WantedBlob(content[i], domain), i - first)),
                (_, plain, indices, _) =>
                {
                    foreach (var i in indices)
                    {
                        var copy = new RentedBuffer(plain.Length);
                        plain.CopyTo(copy.Memory);
                        slots[i] = copy;
                    }
                    return ValueTask.CompletedTask;
                },
                (_, error, indices) =>
                {
                    foreach (var i in indices) errors[i] = error;
                }, ct).ConfigureAwait(false);
        }
        catch
        {
            foreach (var s in slots) s?.Dispose();
            throw;
        }
        for (int i = 0; i < slots.Length; i++)
        {
            _window.Enqueue(slots[i]);
            _errors.Enqueue(errors[i]);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        _current?.Dispose();
        _current = null;
        while (_window.TryDequeue(out var b)) b?.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

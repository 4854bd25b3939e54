using Dedup.Format;
using Dedup.Repository;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Copy;

/// <summary>A read-only stream over a file's blobs in a repository, verifying each as it is read; one blob in memory at a time.</summary>
internal sealed class BlobSequenceStream(Repo repo, DomainId domain, IReadOnlyList<ObjectId> blobs) : Stream
{
    private int _next;
    private RentedBuffer? _current;
    private int _position;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current is null || _position == _current.Length)
        {
            _current?.Dispose();
            _current = null;
            if (_next == blobs.Count) return 0;
            _current = await repo.Blobs.ReadAsync(blobs[_next++], domain, cancellationToken).ConfigureAwait(false);
            _position = 0;
        }
        int n = Math.Min(buffer.Length, _current.Length - _position);
        _current.Memory.Slice(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        _current?.Dispose();
        _current = null;
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

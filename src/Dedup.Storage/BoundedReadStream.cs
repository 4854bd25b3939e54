namespace Dedup.Storage;

/// <summary>A read-only view of at most <c>length</c> bytes of an inner stream; owns and disposes it.</summary>
internal sealed class BoundedReadStream(Stream inner, long length) : ForwardReadStream(inner)
{
    private long _remaining = length;

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0)
            return 0;
        var n = Inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining <= 0)
            return 0;
        var n = await Inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        _remaining -= n;
        return n;
    }
}

using System.Buffers;
using Dedup.Format;
using Dedup.Storage;

namespace Dedup.Archiver.Check;

/// <summary>Whole-object reads with a size bound and a name check; the repository's own helpers are internal to it.</summary>
internal static class CheckIo
{
    public static async Task<byte[]> ReadAllAsync(IStorage storage, string name, int maxSize, CancellationToken ct)
    {
        await using var s = await storage.OpenReadAsync(name, 0, -1, ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        var buf = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
            {
                if (ms.Length + n > maxSize) throw new CorruptObjectException(name, $"larger than the {maxSize}-byte limit for its kind");
                ms.Write(buf, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
        return ms.ToArray();
    }

    public static async Task<byte[]> ReadVerifiedAsync(IStorage storage, string name, ObjectId id, int maxSize, CancellationToken ct)
    {
        var bytes = await ReadAllAsync(storage, name, maxSize, ct).ConfigureAwait(false);
        if (ObjectId.HashOf(bytes) != id) throw new CorruptObjectException(name, "its content does not match its name (damaged or replaced)");
        return bytes;
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes from the start of the object; false when it is shorter.</summary>
    public static async Task<int> ReadFullyAsync(IStorage storage, string name, Memory<byte> destination, CancellationToken ct)
    {
        await using var s = await storage.OpenReadAsync(name, 0, destination.Length, ct).ConfigureAwait(false);
        int total = 0;
        while (total < destination.Length)
        {
            int n = await s.ReadAsync(destination[total..], ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}

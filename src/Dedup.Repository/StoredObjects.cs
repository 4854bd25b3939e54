using System.Buffers;
using Dedup.Format;
using Dedup.Storage;

namespace Dedup.Repository;

/// <summary>Reading whole objects with the checks every reader makes: bounded size, and the name is the SHA-256 of the bytes.</summary>
public static class StoredObjects
{
    /// <summary>Reads an object of at most <paramref name="maxSize"/> bytes.</summary>
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

    /// <summary>Reads an object named by the SHA-256 of its content and checks that it still is.</summary>
    public static async Task<byte[]> ReadVerifiedAsync(IStorage storage, string name, ObjectId id, int maxSize, CancellationToken ct)
    {
        var bytes = await ReadAllAsync(storage, name, maxSize, ct).ConfigureAwait(false);
        if (ObjectId.HashOf(bytes) != id)
            throw new CorruptObjectException(name, "its content does not match its name (damaged or replaced)");
        return bytes;
    }

    /// <summary>
    /// Reads a listed object of a prefix anyone with client credentials can write (tombstones, revocations, key files,
    /// index files, backup markers), for a reader that skips what is damaged. An object these credentials are refused
    /// is reported as damaged too: whoever may put can also put an object nobody can read (on AWS S3, an archive storage
    /// class answers every read with 403 InvalidObjectState), and one such object must neither stop every command nor
    /// make a reader drop the others (as a graveyard that gave up on the first refusal did). Readers whose skipping a
    /// genuine object would cost data (snapshots for prune, prune marks for backups) do not use this: a refusal stops them.
    /// </summary>
    public static async Task<byte[]> ReadListedAsync(IStorage storage, string name, ObjectId id, int maxSize, CancellationToken ct)
    {
        try
        {
            return await ReadVerifiedAsync(storage, name, id, maxSize, ct).ConfigureAwait(false);
        }
        catch (StorageAccessDeniedException e)
        {
            throw new CorruptObjectException(name, "these credentials may not read it (an archive storage class, or a policy); it is skipped", e);
        }
    }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes from the start; returns how many (fewer when the object is shorter).</summary>
    public static Task<int> ReadPrefixAsync(IStorage storage, string name, Memory<byte> destination, CancellationToken ct) =>
        ReadUpToAsync(storage, name, 0, destination, ct);

    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; returns how many (fewer at
    /// the object's end). One ranged request: a connection cut mid-body is resumed by the store's one retry layer
    /// (<see cref="RetryingStorage"/>), never here.
    /// </summary>
    public static async Task<int> ReadUpToAsync(IStorage storage, string name, long offset, Memory<byte> destination, CancellationToken ct)
    {
        await using var s = await storage.OpenReadAsync(name, offset, destination.Length, ct).ConfigureAwait(false);
        return await FillAsync(s, destination, ct).ConfigureAwait(false);
    }

    /// <summary>Reads from <paramref name="stream"/> until <paramref name="destination"/> is full or the stream ends; returns how many bytes.</summary>
    public static async Task<int> FillAsync(Stream stream, Memory<byte> destination, CancellationToken ct)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = await stream.ReadAsync(destination[total..], ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>
    /// Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; fewer is reported as a
    /// truncated object.
    /// </summary>
    public static async Task ReadRangeAsync(IStorage storage, string name, long offset, Memory<byte> destination, CancellationToken ct)
    {
        int total = await ReadUpToAsync(storage, name, offset, destination, ct).ConfigureAwait(false);
        if (total < destination.Length)
            throw new CorruptObjectException(name, $"truncated: {destination.Length} bytes expected at offset {offset}, {total} present");
    }
}

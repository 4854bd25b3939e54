using System.Buffers;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Packs;

/// <summary>A blob that does not open where its index (or the pack header) says it is.</summary>
public readonly record struct BadBlob(ObjectId Id, BlobType Type, string Reason);

/// <summary>The outcome of reading one pack whole. <see cref="IsIntact"/> when everything matched.</summary>
public sealed record PackVerification(
    ObjectId PackId,
    bool HashMatches,
    PackHeaderInfo? Header,
    string? HeaderProblem,
    IReadOnlyList<string> IndexMismatches,
    IReadOnlyList<BadBlob> BadBlobs,
    int BlobsChecked)
{
    public bool IsIntact => HashMatches && HeaderProblem is null && IndexMismatches.Count == 0 && BadBlobs.Count == 0;
}

/// <summary>
/// Verifies a whole pack's bytes, as 'check --read-data' does: the name is the SHA-256 of the bytes, the header
/// opens and agrees with the index, and every blob opens, decompresses and hashes to its ID. Blobs are opened at
/// the locations the index gives, with the index's wrapped key, because that is what restore will use; when the
/// pack is not indexed, the header's locations are used instead.
/// </summary>
public static class PackVerifier
{
    /// <param name="indexedDomain">The domain the index claim puts the pack in; without a claim, the header's domain is used.</param>
    public static PackVerification Verify(ReadOnlySpan<byte> pack, ObjectId packId, IndexPack? indexed, DomainId? indexedDomain, RepositoryKeys keys)
    {
        var name = Layout.Pack(packId);
        var readKey = keys.RequireReadKey("verify pack contents");
        bool hashMatches = ObjectId.HashOf(pack) == packId;
        PackHeaderInfo? header = null;
        string? headerProblem = null;
        try
        {
            header = PackHeaderReader.Parse(pack, packId, readKey, name);
        }
        catch (CorruptObjectException e)
        {
            headerProblem = e.Reason;
        }
        var mismatches = indexed is not null && header is not null ? Compare(header, indexed) : [];
        if (indexed is not null && header is not null && indexedDomain is { } claimed && claimed != header.Domain)
            mismatches.Add($"the index puts it in dedup domain {claimed.ToShortString()}, its header in {header.Domain.ToShortString()}");
        var toOpen = indexed ?? header?.ToIndexPack();
        var domain = indexed is not null ? indexedDomain ?? header?.Domain : header?.Domain;
        var bad = new List<BadBlob>();
        if (toOpen is null) return new PackVerification(packId, hashMatches, header, headerProblem, mismatches, bad, 0);

        Span<byte> dataKey = stackalloc byte[Aead.KeySize];
        try
        {
            if (!KeyWrap.TryUnwrap(toOpen.WrappedKey, readKey, dataKey))
            {
                foreach (var b in toOpen.Blobs) bad.Add(new BadBlob(b.Id, toOpen.Type, "the pack's data key does not unwrap"));
                return new PackVerification(packId, hashMatches, header, headerProblem, mismatches, bad, toOpen.Blobs.Length);
            }
            if (domain is not { } d || !keys.CanUse(d))
            {
                foreach (var b in toOpen.Blobs) bad.Add(new BadBlob(b.Id, toOpen.Type, "its dedup domain is unknown"));
                return new PackVerification(packId, hashMatches, header, headerProblem, mismatches, bad, toOpen.Blobs.Length);
            }
            var domainKeys = keys.For(d);
            foreach (var b in toOpen.Blobs)
            {
                var reason = OpenOne(pack, dataKey, toOpen.Type, b, domainKeys, name);
                if (reason is not null) bad.Add(new BadBlob(b.Id, toOpen.Type, reason));
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
        }
        return new PackVerification(packId, hashMatches, header, headerProblem, mismatches, bad, toOpen.Blobs.Length);
    }

    /// <summary>Null when the blob opens and hashes to its ID, else why not.</summary>
    private static string? OpenOne(ReadOnlySpan<byte> pack, ReadOnlySpan<byte> dataKey, BlobType type, in IndexBlob b, DomainKeys keys, string name)
    {
        if (b.Offset < 0 || b.Offset + b.StoredLength > pack.Length) return "it lies beyond the end of the pack";
        var output = ArrayPool<byte>.Shared.Rent(Math.Max(b.RawLength, 1));
        try
        {
            var where = $"blob {b.Id.ToShortString()} in pack {name}";
            BlobSealer.Open(dataKey, type, b.Id, b.Offset, pack.Slice((int)b.Offset, b.StoredLength), b.RawLength, output, keys, where);
            return null;
        }
        catch (CorruptObjectException e)
        {
            return e.Reason;
        }
        finally
        {
            output.AsSpan(0, b.RawLength).Clear(); // what a blob wrote; the rest of the pooled array is already clear
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>Differences between what the pack header says and what the index says, one line each.</summary>
    public static List<string> Compare(PackHeaderInfo header, IndexPack indexed)
    {
        var problems = new List<string>();
        if (header.Type != indexed.Type) problems.Add($"the index says it holds {indexed.Type} blobs, its header says {header.Type}");
        if (!header.WrappedKey.AsSpan().SequenceEqual(indexed.WrappedKey)) problems.Add("the index records a different wrapped data key than its trailer");
        var fromHeader = new Dictionary<ObjectId, IndexBlob>();
        foreach (var b in header.ToIndexBlobs()) fromHeader.TryAdd(b.Id, b);
        foreach (var b in indexed.Blobs)
        {
            if (!fromHeader.TryGetValue(b.Id, out var h)) problems.Add($"blob {b.Id.ToShortString()} is in the index but not in the pack header");
            else if (h != b) problems.Add($"blob {b.Id.ToShortString()} is at offset {h.Offset} ({h.StoredLength} bytes) in the pack header but at {b.Offset} ({b.StoredLength} bytes) in the index");
        }
        if (header.Entries.Length != indexed.Blobs.Length)
            problems.Add($"the pack header lists {header.Entries.Length} blobs, the index {indexed.Blobs.Length}");
        return problems;
    }
}

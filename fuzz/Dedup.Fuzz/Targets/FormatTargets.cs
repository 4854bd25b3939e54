using System.Buffers.Binary;
using Dedup.Format;

namespace Dedup.Fuzz.Targets;

/// <summary>Tree blob plaintext: names, ordering, lengths and varints from a decrypted (so attacker-chosen if the key leaked) blob.</summary>
public sealed class TreeTarget : IFuzzTarget
{
    public string Name => "tree";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            TreeCodec.Decode(data, "fuzz tree");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        yield return TreeCodec.Encode([]);
        foreach (var nodes in SeedData.Trees()) yield return TreeCodec.Encode(nodes);
    }
}

/// <summary>Pack header plaintext. The first 4 bytes (LE) are the data length the header must account for.</summary>
public sealed class PackHeaderTarget : IFuzzTarget
{
    public string Name => "pack-header";

    public void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4) return;
        long dataLength = BinaryPrimitives.ReadUInt32LittleEndian(data);
        try
        {
            PackHeaderCodec.Read(data[4..], dataLength, "fuzz pack header");
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        foreach (var (type, entries) in SeedData.PackHeaders())
        {
            using var w = new PooledBufferWriter();
            w.WriteUInt32((uint)entries.Sum(e => (long)e.StoredLength));
            PackHeaderCodec.Write(w, type, DomainId.Repository, entries);
            yield return w.ToArray();
        }
    }
}

/// <summary>Index file plaintext.</summary>
public sealed class IndexCodecTarget : IFuzzTarget
{
    public string Name => "index";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            IndexCodec.Read(data, "fuzz index", _ => { });
        }
        catch (CorruptObjectException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        foreach (var packs in SeedData.IndexPacks())
        {
            using var w = new PooledBufferWriter();
            IndexCodec.Write(w, packs);
            yield return w.ToArray();
        }
    }
}

using Dedup.Format;
using Dedup.Repository.Keys;

namespace Dedup.Repository.Index;

/// <summary>An index file (spec "Index"): the <see cref="IndexCodec"/> plaintext in a <see cref="SealedEnvelope"/> with magic "DDIX" and info "dedup.index.v1".</summary>
public static class IndexFile
{
    private static ReadOnlySpan<byte> Magic => "DDIX"u8;
    private static ReadOnlySpan<byte> Info => "dedup.index.v1"u8;

    public static byte[] Seal(IReadOnlyCollection<IndexPack> packs, RepositoryKeys keys)
    {
        using var plain = new PooledBufferWriter();
        IndexCodec.Write(plain, packs);
        return SealedEnvelope.Seal(Magic, Info, plain.WrittenSpan, keys.IndexKey.Span);
    }

    public static void Open(ReadOnlySpan<byte> stored, RepositoryKeys keys, string name, Action<IndexPack> onPack) =>
        IndexCodec.Read(SealedEnvelope.Open(stored, Magic, Info, keys.IndexKey.Span, name, "an index file"), name, onPack);
}

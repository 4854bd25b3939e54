using System.Buffers.Binary;
using System.Security.Cryptography;
using Dedup.Crypto;
using Dedup.Format;

namespace Dedup.Repository.Packs;

/// <summary>A finished pack: its bytes (owned; dispose to clear and return the buffer) and how the index describes it.</summary>
internal sealed class FinishedPack(PackBuffer buffer, IndexPack index) : IDisposable
{
    public ObjectId Id => Index.PackId;
    public IndexPack Index { get; } = index;
    public ReadOnlyMemory<byte> Bytes => buffer.WrittenMemory;
    public long RawBytes { get; init; }
    public void Dispose() => buffer.Dispose();
}

/// <summary>
/// Builds one pack in memory. Like restic's pack writer, it refuses further use once finished or after
/// an error, so a half-built pack can never be uploaded. Not thread-safe: each worker owns one.
/// </summary>
internal sealed class PackWriter : IDisposable
{
    private readonly PackBuffer _buffer;
    private readonly SecretBytes _dataKey = SecretBytes.Random(Aead.KeySize);
    private readonly AesGcm _gcm;
    private readonly List<PackHeaderEntry> _entries = [];
    private readonly byte[] _readPublicKey;
    private bool _closed;
    private bool _handedOver;
    private long _rawBytes;

    public PackWriter(BlobType type, DomainId domain, byte[] readPublicKey, int targetSize, PackOrigin origin = PackOrigin.Writer)
    {
        Origin = origin;
        Type = type;
        Domain = domain;
        _readPublicKey = readPublicKey;
        TargetSize = targetSize;
        // Room for the target, one more maximal blob (the one that crosses the target) and a generous header.
        // Tree packs start small and grow: a backup's trees rarely fill one, and a full-size buffer per tree writer
        // would cost 20 MiB each for nothing.
        _buffer = new PackBuffer(type == BlobType.Tree ? 1024 * 1024 : targetSize + BlobSealer.MaxSealedSize(MaxBlobForCapacity) + 1024 * 1024);
        _gcm = new AesGcm(_dataKey.Span, Aead.TagSize);
    }

    /// <summary>The largest chunk the default chunker makes; larger blobs still fit, by growing the buffer once.</summary>
    private const int MaxBlobForCapacity = 4 * 1024 * 1024;

    public BlobType Type { get; }
    /// <summary>The dedup domain whose blob IDs this pack holds; recorded in the sealed header for 'repair index'.</summary>
    public DomainId Domain { get; }
    /// <summary>Who vouches for the pack in the index: a full key, or a writer.</summary>
    public PackOrigin Origin { get; }
    public int TargetSize { get; }
    public long Size => _buffer.WrittenCount;
    public int Count => _entries.Count;
    public bool IsFull => Size >= TargetSize || _entries.Count >= MaxBlobsPerPack;

    /// <summary>
    /// A pack also closes at this many blobs. Without it a 16 MiB pack of tiny files held ~350k blobs, and its header,
    /// its index entries and the index file listing it (nothing is indexed before 4 packs are stored) all grew with
    /// the file count: a first backup of 1M tiny files peaked at 690 MB. 1 MiB chunks fill a pack at 16 blobs, small
    /// files of a few KiB at a few thousand, so only tiny blobs meet this bound.
    /// </summary>
    public const int MaxBlobsPerPack = 32 * 1024;

    public int Add(in ObjectId id, ReadOnlySpan<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        long offset = Size;
        var dst = _buffer.GetSpan(BlobSealer.MaxSealedSize(plaintext.Length));
        int stored;
        try
        {
            stored = BlobSealer.Seal(_gcm, Type, id, offset, plaintext, dst);
        }
        catch
        {
            _closed = true;
            _buffer.MarkPlaintext();
            throw;
        }
        _buffer.Advance(stored);
        _entries.Add(new PackHeaderEntry(id, stored, plaintext.Length));
        _rawBytes += plaintext.Length;
        return stored;
    }

    /// <summary>Appends the sealed header and trailer, names the pack by the SHA-256 of its bytes, and hands over the buffer.</summary>
    public FinishedPack Finish()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_entries.Count == 0) throw new InvalidOperationException("An empty pack is never written.");
        _closed = true;
        long dataLength = Size;
        using (var header = new PooledBufferWriter())
        {
            PackHeaderCodec.Write(header, Type, Domain, _entries);
            // Check the header before writing it, as restic does: a bug here must not produce an unreadable pack.
            PackHeaderCodec.Read(header.WrittenSpan, dataLength, "new pack header");
            var sealedHeader = _buffer.GetSpan(header.WrittenCount + Aead.TagSize);
            Span<byte> nonce = stackalloc byte[Aead.NonceSize];
            PackLayout.HeaderNonce(nonce);
            Aead.Seal(_gcm, nonce, header.WrittenSpan, PackLayout.HeaderAad, sealedHeader);
            _buffer.Advance(header.WrittenCount + Aead.TagSize);
            var trailer = _buffer.GetSpan(PackLayout.TrailerSize);
            var wrapped = trailer[..KeyWrap.WrappedSize];
            KeyWrap.Wrap(_dataKey.Span, _readPublicKey, wrapped);
            BinaryPrimitives.WriteUInt32LittleEndian(trailer.Slice(KeyWrap.WrappedSize, 4), (uint)(header.WrittenCount + Aead.TagSize));
            trailer[KeyWrap.WrappedSize + 4] = PackLayout.Version;
            PackLayout.Magic.CopyTo(trailer[(KeyWrap.WrappedSize + 5)..]);
            var wrappedCopy = wrapped.ToArray();
            _buffer.Advance(PackLayout.TrailerSize);
            var id = ObjectId.HashOf(_buffer.WrittenSpan);
            var blobs = new IndexBlob[_entries.Count];
            long offset = 0;
            for (int i = 0; i < blobs.Length; i++)
            {
                var e = _entries[i];
                blobs[i] = new IndexBlob(e.Id, offset, e.StoredLength, e.RawLength);
                offset += e.StoredLength;
            }
            _handedOver = true;
            return new FinishedPack(_buffer, new IndexPack(id, Type, wrappedCopy, blobs) { Origin = Origin }) { RawBytes = _rawBytes };
        }
    }

    public void Dispose()
    {
        _gcm.Dispose();
        _dataKey.Dispose();
        if (!_handedOver) _buffer.Dispose(); // after Finish the FinishedPack owns the buffer
        _closed = true;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dedup.Chunking;

/// <summary>
/// FastCDC content-defined chunker with normalized chunking (level 2) and a keyed gear table.
/// The exact algorithm is specified in spec/chunking.md; any change to boundaries is a format
/// change (spec/test-vectors/chunker.json pins them). Instances are immutable and thread-safe.
/// </summary>
public sealed class Chunker
{
    /// <summary>FastCDC normalization level: mask bit counts are log2(avg) +/- this.</summary>
    internal const int NormalizationLevel = 2;

    private readonly ulong[] _gear;
    private readonly int _minSize;
    private readonly int _averageSize;
    private readonly int _maxSize;
    private readonly ulong _maskHard;
    private readonly ulong _maskEasy;

    /// <param name="parameters">Validated here; see <see cref="ChunkerParameters.Validate"/>.</param>
    /// <param name="secret">32 bytes derived from the repository key.</param>
    public Chunker(ChunkerParameters parameters, ReadOnlySpan<byte> secret)
    {
        parameters.Validate();
        Parameters = parameters;
        _gear = GearTable.Derive(secret);
        _minSize = parameters.MinSize;
        _averageSize = parameters.AverageSize;
        _maxSize = parameters.MaxSize;
        int bits = parameters.AverageBits;
        _maskHard = TopBitsMask(bits + NormalizationLevel);
        _maskEasy = TopBitsMask(bits - NormalizationLevel);
    }

    public ChunkerParameters Parameters { get; }

    /// <summary>The derived gear table, exposed for the test vectors.</summary>
    internal ReadOnlySpan<ulong> Gear => _gear;

    internal ulong MaskHard => _maskHard;

    internal ulong MaskEasy => _maskEasy;

    /// <summary>
    /// Length of the chunk starting at <c>data[0]</c>. Returns 0 when more data is needed, which
    /// is exactly when <c>data.Length &lt; MaxSize</c> and <paramref name="isFinal"/> is false:
    /// deciding only with a full MaxSize window makes the result independent of how the caller
    /// buffers the stream. With <paramref name="isFinal"/>, returns a value in [1, data.Length]
    /// (0 for empty data). The result never exceeds MaxSize.
    /// </summary>
    public int NextBoundary(ReadOnlySpan<byte> data, bool isFinal)
    {
        if (data.Length < _maxSize && !isFinal)
        {
            return 0;
        }

        if (data.Length <= _minSize)
        {
            return data.Length;
        }

        int end = Math.Min(data.Length, _maxSize);
        int normal = Math.Min(end, _averageSize);
        ref ulong gear = ref MemoryMarshal.GetArrayDataReference(_gear);
        ulong hash = 0;

        // Both scans use sliced spans indexed from 0 so the JIT drops the bounds checks; the gear
        // lookup is by a byte into a 256-entry table, so Unsafe.Add cannot leave the array.
        int found = Scan(data[_minSize..normal], ref gear, ref hash, _maskHard);
        if (found >= 0)
        {
            return _minSize + found + 1;
        }

        found = Scan(data[normal..end], ref gear, ref hash, _maskEasy);
        return found >= 0 ? normal + found + 1 : end;
    }

    /// <summary>
    /// Rolls <paramref name="hash"/> over <paramref name="window"/> and returns the index of the
    /// first byte after which <c>(hash &amp; mask) == 0</c>, or -1 (hash then covers the window).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Scan(ReadOnlySpan<byte> window, ref ulong gear, ref ulong hash, ulong mask)
    {
        ulong h = hash;
        for (int i = 0; i < window.Length; i++)
        {
            h = (h << 1) + Unsafe.Add(ref gear, window[i]);
            if ((h & mask) == 0)
            {
                return i;
            }
        }

        hash = h;
        return -1;
    }

    /// <summary>
    /// Mask of the <paramref name="bits"/> most significant bits. Top bits are used (not FastCDC's
    /// spread low-bit masks) because with <c>h = (h &lt;&lt; 1) + gear[b]</c> bit k depends on
    /// the last k+1 bytes only, so the top bits see the longest window (up to 64 bytes).
    /// </summary>
    internal static ulong TopBitsMask(int bits) => ulong.MaxValue << (64 - bits);
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dedup.Repository.Packs;

/// <summary>
/// Writes the standard LZ4 block format (spec "Packs", blob payloads), with the reference implementation's "fast"
/// algorithm at acceleration 1: a 4,096-entry hash table of 4-byte sequences, greedy matching, the same end-of-block
/// rules. Readers decode it with K4os' <c>LZ4Codec.Decode</c>, which checks every bound.
/// </summary>
/// <remarks>
/// Why not K4os' encoder: measured on this project's machine (docs/performance.md), its <c>L00_FAST</c> path runs at
/// 200–270 MiB/s on logs and text under the CLI's JIT settings (it needs dynamic PGO to inline its helpers, and dynamic
/// PGO slows Argon2 at start-up by 0.25 s), against ~570 MiB/s for native lz4 and 430–570 MiB/s for this encoder. It
/// was a quarter of a first backup's CPU. The encoder only ever reads the caller's plaintext and writes a buffer whose
/// size it checks first; the unchecked accesses below rely on the invariants stated next to them.
/// </remarks>
internal static class Lz4BlockCompressor
{
    private const int MinMatch = 4;
    private const int LastLiterals = 5;      // the format requires the last 5 bytes to be literals
    private const int MatchFindLimit = 12;   // ... and no match to start within the last 12 bytes
    private const int MaxOffset = 65_535;
    private const int HashLog = 12;          // 16 KiB table, as LZ4_MEMORY_USAGE = 14
    private const int SkipTrigger = 6;       // after 2^6 misses the search step grows by one

    /// <summary>Destination room <see cref="Compress"/> needs: the LZ4 worst case plus 8 bytes for its 8-byte literal copies.</summary>
    public static int MaxOutputSize(int length) => length + length / 255 + 16 + 8;

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/>; returns the compressed length.</summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("LZ4 encoding assumes a little-endian CPU.");
        int length = source.Length;
        if (destination.Length < MaxOutputSize(length)) throw new ArgumentException("Destination is smaller than MaxOutputSize.", nameof(destination));

        ref byte src = ref MemoryMarshal.GetReference(source);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        int op = 0, anchor = 0;
        if (length > MatchFindLimit)
        {
            Span<int> table = stackalloc int[1 << HashLog];
            table.Clear();
            ref int tab = ref MemoryMarshal.GetReference(table);
            // Invariants: every position ip whose 8 bytes are hashed satisfies ip < mfLimitPlusOne, so ip + 8 <= length - 4;
            // every table entry is a position already passed, so < ip. Positions 0 from the cleared table are harmless:
            // a candidate is used only after its 4 bytes compare equal and its offset fits.
            int matchLimit = length - LastLiterals;
            int mfLimitPlusOne = length - MatchFindLimit + 1;
            Unsafe.Add(ref tab, Hash(Read64(ref src, 0))) = 0;
            int ip = 1;
            int forwardH = Hash(Read64(ref src, ip));
            while (true)
            {
                int match;
                int forwardIp = ip;
                int step = 1;
                int attempts = 1 << SkipTrigger;
                do
                {
                    int h = forwardH;
                    ip = forwardIp;
                    forwardIp += step;
                    step = attempts++ >> SkipTrigger;
                    if (forwardIp > mfLimitPlusOne) goto LastRun;
                    match = Unsafe.Add(ref tab, h);
                    forwardH = Hash(Read64(ref src, forwardIp));
                    Unsafe.Add(ref tab, h) = ip;
                } while (ip - match > MaxOffset || Read32(ref src, match) != Read32(ref src, ip));

                while (ip > anchor && match > 0 && Unsafe.Add(ref src, ip - 1) == Unsafe.Add(ref src, match - 1)) { ip--; match--; }

                int token = op++;
                Unsafe.Add(ref dst, token) = (byte)(WriteLength(ref dst, ref op, ip - anchor) << 4);
                op = CopyLiterals(ref dst, op, ref src, anchor, ip - anchor);

                while (true)
                {
                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, op), (ushort)(ip - match)); // little-endian offset
                    op += 2;
                    int extra = CommonLength(ref src, ip + MinMatch, match + MinMatch, matchLimit);
                    ip += extra + MinMatch;
                    Unsafe.Add(ref dst, token) |= (byte)WriteLength(ref dst, ref op, extra);
                    anchor = ip;
                    if (ip >= mfLimitPlusOne) goto LastRun;
                    Unsafe.Add(ref tab, Hash(Read64(ref src, ip - 2))) = ip - 2;
                    // A match right after a match needs no literals: try the table once before searching again.
                    int h = Hash(Read64(ref src, ip));
                    match = Unsafe.Add(ref tab, h);
                    Unsafe.Add(ref tab, h) = ip;
                    if (ip - match > MaxOffset || Read32(ref src, match) != Read32(ref src, ip)) break;
                    token = op++;
                    Unsafe.Add(ref dst, token) = 0;
                }
                forwardH = Hash(Read64(ref src, ++ip));
            }
        }
    LastRun:
        int last = length - anchor;
        int lastToken = op++;
        Unsafe.Add(ref dst, lastToken) = (byte)(WriteLength(ref dst, ref op, last) << 4);
        source.Slice(anchor, last).CopyTo(destination[op..]);
        return op + last;
    }

    /// <summary>Writes the extension bytes of a 4-bit length field; returns the value for the token's nibble.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WriteLength(ref byte dst, ref int op, int value)
    {
        if (value < 15) return value;
        for (value -= 15; value >= 255; value -= 255) Unsafe.Add(ref dst, op++) = 255;
        Unsafe.Add(ref dst, op++) = (byte)value;
        return 15;
    }

    /// <summary>
    /// Copies a literal run 8 bytes at a time. It may read up to 7 bytes past the run, which ends at a match start
    /// (at most length − 12), and write up to 7 bytes past it, which <see cref="MaxOutputSize"/> leaves room for.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CopyLiterals(ref byte dst, int op, ref byte src, int from, int count)
    {
        int end = op + count;
        while (op < end)
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, op), Read64(ref src, from));
            op += 8;
            from += 8;
        }
        return end;
    }

    /// <summary>How many bytes at <paramref name="a"/> equal those at <paramref name="b"/> (b &lt; a), stopping at <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CommonLength(ref byte src, int a, int b, int limit)
    {
        int start = a;
        while (a <= limit - 8)
        {
            ulong diff = Read64(ref src, a) ^ Read64(ref src, b);
            if (diff != 0) return a - start + (BitOperations.TrailingZeroCount(diff) >> 3);
            a += 8;
            b += 8;
        }
        while (a < limit && Unsafe.Add(ref src, a) == Unsafe.Add(ref src, b)) { a++; b++; }
        return a - start;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong sequence) => (int)(((sequence << 24) * 889_523_592_379UL) >> (64 - HashLog));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read64(ref byte b, int i) => Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Read32(ref byte b, int i) => Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, i));
}

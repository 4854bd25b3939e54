using Microsoft.Win32.SafeHandles;

namespace Dedup.Archiver.Restore;

/// <summary>
/// Writes pieces of a file's content at their offsets, in any order and from several threads at once (blobs arrive pack
/// by pack, not in file order), into a new, empty file. With <c>sparse</c>, every all-zero block (4 KiB, aligned in the
/// file; a piece's share of a block it shares with another piece counts on its own) is skipped rather than written: a
/// fresh file reads zeros wherever nothing was written, and the file system allocates nothing there, so holes come back
/// as holes. The length is set at the end, so trailing zeros cost nothing either. Checking a block for zeros stops at its
/// first non-zero byte, so ordinary data costs one comparison per block.
/// </summary>
internal sealed class SparseFileWriter(SafeFileHandle file, bool sparse)
{
    public const int BlockSize = 4096;

    private long _end;
    private long _skipped;

    /// <summary>Bytes left as holes so far.</summary>
    public long SkippedBytes => Interlocked.Read(ref _skipped);

    public void WriteAt(ReadOnlySpan<byte> data, long offset)
    {
        if (!sparse)
        {
            WriteRaw(data, offset);
            return;
        }
        int runStart = -1; // start (in data) of the pending run of blocks to write
        int pos = 0;
        while (pos < data.Length)
        {
            long fileOffset = offset + pos;
            int blockEnd = (int)Math.Min(data.Length, pos + (BlockSize - fileOffset % BlockSize));
            bool zero = data[pos..blockEnd].IndexOfAnyExcept((byte)0) < 0;
            if (zero)
            {
                if (runStart >= 0) WriteRaw(data[runStart..pos], offset + runStart);
                runStart = -1;
                Interlocked.Add(ref _skipped, blockEnd - pos);
            }
            else if (runStart < 0)
            {
                runStart = pos;
            }
            pos = blockEnd;
        }
        if (runStart >= 0) WriteRaw(data[runStart..], offset + runStart);
    }

    /// <summary>Gives the file its full length when it ends in skipped zeros.</summary>
    public void Finish(long length)
    {
        if (Interlocked.Read(ref _end) < length) RandomAccess.SetLength(file, length);
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes, long offset)
    {
        RandomAccess.Write(file, bytes, offset);
        long end = offset + bytes.Length;
        for (long seen = Interlocked.Read(ref _end); end > seen; seen = Interlocked.Read(ref _end))
            if (Interlocked.CompareExchange(ref _end, end, seen) == seen) break;
    }
}

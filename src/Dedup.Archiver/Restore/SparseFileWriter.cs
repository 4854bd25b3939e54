using Microsoft.Win32.SafeHandles;

namespace Dedup.Archiver.Restore;

/// <summary>
/// Writes a file's content in order into a new, empty file. With <c>sparse</c>, every all-zero block (4 KiB, aligned in the
/// file) is skipped rather than written: a fresh file reads zeros wherever nothing was written, and the file system
/// allocates nothing there, so holes come back as holes. The length is set at the end, so trailing zeros cost nothing
/// either. Checking a block for zeros stops at its first non-zero byte, so ordinary data costs one comparison per block.
/// </summary>
internal sealed class SparseFileWriter(SafeFileHandle file, bool sparse)
{
    public const int BlockSize = 4096;

    private long _offset;
    private long _end;

    /// <summary>Bytes left as holes so far.</summary>
    public long SkippedBytes { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        if (!sparse)
        {
            WriteAt(data, _offset);
            _offset += data.Length;
            return;
        }
        int runStart = -1; // start (in data) of the pending run of blocks to write
        int pos = 0;
        while (pos < data.Length)
        {
            long fileOffset = _offset + pos;
            int blockEnd = (int)Math.Min(data.Length, pos + (BlockSize - fileOffset % BlockSize));
            bool zero = data[pos..blockEnd].IndexOfAnyExcept((byte)0) < 0;
            if (zero)
            {
                if (runStart >= 0) WriteAt(data[runStart..pos], _offset + runStart);
                runStart = -1;
                SkippedBytes += blockEnd - pos;
            }
            else if (runStart < 0)
            {
                runStart = pos;
            }
            pos = blockEnd;
        }
        if (runStart >= 0) WriteAt(data[runStart..], _offset + runStart);
        _offset += data.Length;
    }

    /// <summary>Gives the file its full length when it ends in skipped zeros.</summary>
    public void Finish()
    {
        if (_end < _offset) RandomAccess.SetLength(file, _offset);
    }

    private void WriteAt(ReadOnlySpan<byte> bytes, long offset)
    {
        RandomAccess.Write(file, bytes, offset);
        _end = Math.Max(_end, offset + bytes.Length);
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using Dedup.Archiver.Platform;
using Dedup.Format;

namespace Dedup.Archiver.Restore;

/// <summary>
/// What is already in the target: whether an existing entry is replaced, left alone or already right
/// (<see cref="OverwriteMode"/>), and --verify, which re-reads what this run wrote. Both compare a file with the snapshot
/// the same way: its pieces, at the lengths of the snapshot's blobs, hashed with the domain's blob-ID key must give the
/// snapshot's blob IDs. That reads only the local file, never the repository's pack data.
/// </summary>
public sealed partial class Restorer
{
    private enum Verdict
    {
        /// <summary>Write the snapshot's entry in its place.</summary>
        Replace,
        /// <summary>Size, mtime and mode (or link target, or device) already as in the snapshot.</summary>
        Done,
        /// <summary>A regular file whose content matches; its metadata is applied in place.</summary>
        SameContent,
        /// <summary>Differs, and the mode says to leave it.</summary>
        Keep,
    }

    private long _overwritten, _unchanged, _verified;
    private readonly ConcurrentQueue<RestoreFailure> _verifyFailures = new();
    // Files written by this run and not verified yet: at most one batch's worth (drained at the end of every batch).
    private readonly ConcurrentQueue<(string FsPath, string SnapPath, TreeNode Node, int[] Lengths)> _toVerify = new();

    private Verdict Decide(string fsPath, in FileStatus existing, TreeNode node)
    {
        bool same = node.Type == NodeType.File ? AlreadyRestored(existing, node) : SpecialAlreadyRestored(fsPath, node);
        switch (_options.Overwrite)
        {
            case OverwriteMode.Always:
                return Verdict.Replace;
            case OverwriteMode.Never:
                return same ? Verdict.Done : Verdict.Keep;
            case OverwriteMode.IfNewer:
                return node.MTimeNs > existing.MTimeNs ? Verdict.Replace : same ? Verdict.Done : Verdict.Keep;
            default:
                if (same) return Verdict.Done;
                if (node.Type == NodeType.File && existing.Type == NodeType.File && existing.Size == node.Size && ContentDifference(fsPath, node, null) is null)
                    return Verdict.SameContent;
                return Verdict.Replace;
        }
    }

    /// <summary>
    /// Acts on the verdict for an existing entry that is not replaced; false when it is to be replaced. An entry already
    /// right counts as restored (an earlier, interrupted restore may have made it), one left alone as skipped.
    /// </summary>
    private bool Settled(Verdict verdict, string fsPath, string snapPath, TreeNode node)
    {
        switch (verdict)
        {
            case Verdict.Keep:
                Record(RestoreAction.Keep, snapPath, node.Size);
                Skip(snapPath);
                return true;
            case Verdict.Done or Verdict.SameContent:
                if (verdict == Verdict.SameContent && !_options.DryRun) ApplyMetadata(fsPath, node);
                if (node.Type == NodeType.File) _hardLinks.Written(fsPath, node);
                Record(RestoreAction.Unchanged, snapPath, node.Size);
                Interlocked.Increment(ref _unchanged);
                Interlocked.Increment(ref _files);
                Interlocked.Increment(ref _progress._files);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Counts a write about to happen (or, in a dry run, that would happen); true when it is a dry run.</summary>
    private bool Planned(bool existed, string snapPath, long size)
    {
        Record(existed ? RestoreAction.Overwrite : RestoreAction.Restore, snapPath, size);
        if (existed) Interlocked.Increment(ref _overwritten);
        if (!_options.DryRun) return false;
        Interlocked.Increment(ref _files);
        Interlocked.Add(ref _bytes, size);
        return true;
    }

    private void Record(RestoreAction action, string snapPath, long size) => _options.OnAction?.Invoke(action, snapPath, size);

    /// <summary>
    /// Null when the file at <paramref name="path"/> holds exactly the node's content, else why not. The pieces are cut at
    /// <paramref name="lengths"/> (the lengths written), or at the lengths the index gives the node's blobs.
    /// </summary>
    internal string? ContentDifference(string path, TreeNode node, int[]? lengths)
    {
        lengths ??= node.Content.Select(id => _repo.Blobs.Locations(id, _domain) is { Count: > 0 } all ? all[0].RawLength : -1).ToArray();
        if (lengths.Contains(-1)) return "a blob of it is not in the index";
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long size = RandomAccess.GetLength(file);
        if (size != node.Size) return $"it is {size} bytes, the snapshot has {node.Size}";
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, lengths.DefaultIfEmpty(0).Max()));
        try
        {
            long offset = 0;
            for (int i = 0; i < lengths.Length; i++)
            {
                var piece = buffer.AsSpan(0, lengths[i]);
                int read = 0;
                while (read < piece.Length && RandomAccess.Read(file, piece[read..], offset + read) is var n and > 0) read += n;
                if (read != piece.Length || _domainKeys.BlobId(piece) != node.Content[i])
                    return $"bytes {offset} to {offset + piece.Length} differ from the snapshot";
                offset += piece.Length;
            }
            return offset == size ? null : $"the snapshot's blobs add up to {offset} bytes, not {size}";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Remembers a file this run wrote, for --verify.</summary>
    private void ToVerify(string fsPath, string snapPath, TreeNode node, int[] lengths)
    {
        if (_options.Verify) _toVerify.Enqueue((fsPath, snapPath, node, lengths));
    }

    /// <summary>Re-reads the files written since the last call and checks them against the snapshot.</summary>
    private void VerifyWritten()
    {
        while (_toVerify.TryDequeue(out var f))
        {
            _ct.ThrowIfCancellationRequested();
            string? difference;
            try
            {
                _options.BeforeVerify?.Invoke(f.FsPath);
                difference = ContentDifference(f.FsPath, f.Node, f.Lengths);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                difference = e.Message;
            }
            Interlocked.Increment(ref _verified);
            if (difference is not null) _verifyFailures.Enqueue(new RestoreFailure(f.SnapPath, difference));
        }
    }
}

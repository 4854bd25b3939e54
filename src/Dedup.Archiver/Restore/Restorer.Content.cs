using System.Collections.Concurrent;
using Dedup.Format;
using Dedup.Repository;
using Microsoft.Win32.SafeHandles;

namespace Dedup.Archiver.Restore;

/// <summary>
/// File contents, pack by pack: the walk collects files into batches; each batch's blobs go through one
/// <see cref="PackStreamer"/> run (grouped by pack, neighbouring ranges merged, each blob read and verified once and
/// written to every file and offset that wants it), while the walk collects the next batch. A file is renamed into place
/// as soon as its last blob is written. Memory: the streamer's ranges in flight and one batch of file descriptions
/// (at most <see cref="FilesPerBatch"/> open files and <see cref="BlobsPerBatch"/> blob references), whatever the
/// number of files in the snapshot.
/// </summary>
public sealed partial class Restorer
{
    /// <summary>Files open at once while their blobs arrive (well under the usual limit of 1024 descriptors).</summary>
    private const int FilesPerBatch = 256;
    /// <summary>Blob references planned at once: enough that a batch spans many packs and keeps every read busy.</summary>
    private const int BlobsPerBatch = 16_384;

    private readonly PackStreamer _streamer;
    private readonly List<FileJob> _batch = [];
    private int _batchBlobs;
    private Task _inFlight = Task.CompletedTask;
    private readonly ConcurrentQueue<RestoreDamage> _damaged = new();
    private long _filesReadInOrder;

    private sealed record FileJob(string FsPath, string SnapPath, TreeNode Node, bool InCreatedDirectory);

    /// <summary>A file being written: its temporary file, and how many of its pieces are still to come.</summary>
    private sealed class FileTarget(FileJob job, SafeFileHandle handle, SparseFileWriter writer, int[] lengths)
    {
        public readonly FileJob Job = job;
        public readonly SafeFileHandle Handle = handle;
        public readonly SparseFileWriter Writer = writer;
        /// <summary>Each blob's length as its best claim gives it (0 when it has none: the streamer reports it missing).</summary>
        public readonly int[] Lengths = lengths;
        public readonly long Length = lengths.Sum(l => (long)l);
        public int Remaining = job.Node.Content.Count;
        public Exception? Error;
        public volatile bool LengthsDisagree;
        public string Temp => Job.FsPath + TempSuffix;
    }

    /// <summary>One place a blob goes: a file and the offset in it, with the length the index's best claim gives.</summary>
    private readonly record struct Piece(FileTarget Target, long Offset, int Length);

    private async Task QueueFileAsync(FileJob job)
    {
        _batch.Add(job);
        _batchBlobs += job.Node.Content.Count;
        if (_batch.Count >= FilesPerBatch || _batchBlobs >= BlobsPerBatch) await SubmitBatchAsync().ConfigureAwait(false);
    }

    /// <summary>Starts the collected batch once the previous one is done: one batch streams while the walk collects the next.</summary>
    private async Task SubmitBatchAsync()
    {
        if (_batch.Count == 0) return;
        var jobs = _batch.ToArray();
        _batch.Clear();
        _batchBlobs = 0;
        await _inFlight.ConfigureAwait(false);
        _inFlight = Task.Run(async () =>
        {
            try
            {
                await RestoreBatchAsync(jobs).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !_ct.IsCancellationRequested)
            {
                // Not about one file (the store is unreachable, say): stop the walk and every other read at once.
                Interlocked.CompareExchange(ref _fatal, e, null);
                await _abort.CancelAsync().ConfigureAwait(false);
                throw;
            }
        });
    }

    private async Task RestoreBatchAsync(FileJob[] jobs)
    {
        var targets = new List<FileTarget>();
        try
        {
            foreach (var job in jobs)
                if (Open(job) is { } target) targets.Add(target);
            var redo = new ConcurrentQueue<FileTarget>();
            await _streamer.StreamAsync(Pieces(targets), (blob, plain, pieces, _) =>
            {
                foreach (var p in pieces) Write(p, plain.Span, redo);
                return ValueTask.CompletedTask;
            }, (blob, error, pieces) =>
            {
                // Reported once, naming every file that wanted it; each of those files is then left out.
                _damaged.Enqueue(new RestoreDamage(blob.Id, error.Message, pieces.Select(p => p.Target.Job.SnapPath).Distinct().ToArray()));
                foreach (var p in pieces)
                {
                    Interlocked.CompareExchange(ref p.Target.Error, error, null);
                    PieceDone(p.Target, redo);
                }
            }, _ct).ConfigureAwait(false);
            foreach (var target in redo)
            {
                Interlocked.Increment(ref _filesReadInOrder);
                target.Handle.Dispose();
                TryDelete(target.Temp);
                await RestoreFileInOrderAsync(target.Job.FsPath, target.Job.SnapPath, target.Job.Node, inCreatedDirectory: true).ConfigureAwait(false);
            }
            VerifyWritten();
        }
        finally
        {
            // After a fatal error, what is still open is closed and its partial file removed.
            foreach (var t in targets)
            {
                if (t.Handle.IsClosed) continue;
                t.Handle.Dispose();
                TryDelete(t.Temp);
            }
        }
    }

    /// <summary>Creates the file's temporary file, or null when it is not to be written (or could not be created: reported).</summary>
    private FileTarget? Open(FileJob job)
    {
        _ct.ThrowIfCancellationRequested();
        var (fsPath, snapPath, node, _) = job;
        try
        {
            if (!NeedsWriting(fsPath, snapPath, node, job.InCreatedDirectory)) return null;
            var lengths = new int[node.Content.Count];
            for (int i = 0; i < lengths.Length; i++)
                lengths[i] = _repo.Blobs.Locations(node.Content[i], _domain) is { Count: > 0 } all ? all[0].RawLength : 0;
            var handle = CreateTemporary(fsPath + TempSuffix, ReserveFor(node));
            var target = new FileTarget(job, handle, new SparseFileWriter(handle, _options.Sparse), lengths);
            if (target.Remaining == 0) Complete(target);
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(snapPath, e);
            return null;
        }
    }

    private IEnumerable<(WantedBlob, Piece)> Pieces(List<FileTarget> targets)
    {
        foreach (var t in targets)
        {
            long offset = 0;
            for (int i = 0; i < t.Lengths.Length; i++)
            {
                yield return (new WantedBlob(t.Job.Node.Content[i], _domain), new Piece(t, offset, t.Lengths[i]));
                offset += t.Lengths[i];
            }
        }
    }

    private void Write(Piece p, ReadOnlySpan<byte> plain, ConcurrentQueue<FileTarget> redo)
    {
        var t = p.Target;
        if (plain.Length != p.Length)
        {
            t.LengthsDisagree = true; // a verified blob's length is the truth: the planned offsets were not
        }
        else if (t.Error is null && !t.LengthsDisagree)
        {
            try
            {
                t.Writer.WriteAt(plain, p.Offset);
                Interlocked.Add(ref _bytes, plain.Length);
                Interlocked.Add(ref _progress._bytes, plain.Length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.CompareExchange(ref t.Error, e, null);
            }
        }
        PieceDone(t, redo);
    }

    private void PieceDone(FileTarget t, ConcurrentQueue<FileTarget> redo)
    {
        if (Interlocked.Decrement(ref t.Remaining) != 0) return;
        if (t.LengthsDisagree && t.Error is null) redo.Enqueue(t);
        else Complete(t);
    }

    /// <summary>The file's last piece is in (or lost): publish it, or remove it and say why.</summary>
    private void Complete(FileTarget t)
    {
        try
        {
            if (t.Error is null) t.Writer.Finish(t.Length);
            t.Handle.Dispose();
            if (t.Error is not null)
            {
                TryDelete(t.Temp);
                Fail(t.Job.SnapPath, t.Error);
                return;
            }
            Publish(t.Temp, t.Job.FsPath, t.Job.SnapPath, t.Job.Node, t.Lengths);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(t.Temp);
            Fail(t.Job.SnapPath, e);
        }
    }
}

using System.Security.Cryptography;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Trees;
using Dedup.Chunking;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Copy;

/// <param name="Failed">Source snapshots that could not be copied (damaged, or referring to data their domain does not hold), and why.</param>
public sealed record CopyResult(IReadOnlyList<(string Source, string Destination)> Copied, IReadOnlyList<string> AlreadyPresent,
    IReadOnlyList<(string Source, string Reason)> Failed);

/// <summary>
/// Copies snapshots between repositories. Each repository has its own chunker and blob-ID secrets, so file content
/// is streamed through the destination's chunker: it deduplicates against everything already there, and a re-run
/// stores nothing twice. Snapshots are matched by the "original" field, so a re-run copies only what is missing.
/// Content already copied in this run is remembered by the list of its source blob IDs and not read again.
/// A source snapshot that cannot be read whole is reported and skipped, so that one planted or damaged snapshot does not
/// stop the copy of the others. A copy is signed by the destination's key, which vouches for its time: it carries the
/// source's effective time, never a writer's claimed time that the source itself does not believe.
/// </summary>
public sealed class SnapshotCopier
{
    private const int MaxRememberedFiles = 100_000;
    private readonly Repo _source;
    private readonly PackStreamer _sourceStreamer;
    private readonly RepositoryWriter _writer;
    private readonly FileSaver _saver;
    private readonly Dictionary<string, IReadOnlyList<ObjectId>> _copiedContent = [];
    // Directories already copied (by source domain and tree blobs): a snapshot is a DAG, and a hostile one lists one
    // subtree twice at each of many levels; copied path by path that would cost 2^depth.
    private readonly Dictionary<(DomainId, ObjectId), IReadOnlyList<ObjectId>> _copiedDirectories = [];
    private readonly CancellationToken _ct;
    // The domain of the source snapshot being copied: its blobs are read and verified under that domain's key.
    private DomainId _sourceDomain;

    private SnapshotCopier(Repo source, Repo dest, RepositoryWriter writer, BackupProgress progress, CancellationToken ct)
    {
        _source = source;
        _sourceStreamer = source.Streamer();
        _writer = writer;
        var chunker = new Chunker(new ChunkerParameters(dest.Config.ChunkerMin, dest.Config.ChunkerAverage, dest.Config.ChunkerMax), dest.Keys.Own.ChunkerSecret.Span);
        _saver = new FileSaver(new WriterSink(writer), chunker, dest.Keys.Own.BlobId, progress, Math.Max(2, Environment.ProcessorCount));
        _ct = ct;
    }

    /// <param name="order">
    /// Given the snapshots to copy (those not yet in the destination), yields them in groups, each when it can be read
    /// (cold storage: when all its source packs are retrieved; see <see cref="CopyOrder"/>). Null copies them as one group.
    /// </param>
    public static async Task<CopyResult> RunAsync(Repo source, Repo dest, IReadOnlyList<string> references, BackupProgress progress, CancellationToken ct = default,
        Func<IReadOnlyList<LoadedSnapshot>, CancellationToken, IAsyncEnumerable<IReadOnlyList<LoadedSnapshot>>>? order = null)
    {
        source.Keys.RequireReadKey("read the source repository");
        await source.LoadIndexAsync(ct).ConfigureAwait(false);
        var session = await dest.WriteBackupMarkerAsync(Environment.MachineName, ct).ConfigureAwait(false);
        await dest.LoadIndexAsync(ct).ConfigureAwait(false);

        var (toCopy, skipped) = await SelectAsync(source, dest, references, ct).ConfigureAwait(false);
        var copied = new List<(string, string)>();
        var failed = new List<(string, string)>();
        var groups = order is null ? OneGroup(toCopy) : order(toCopy, ct);
        await foreach (var group in groups.ConfigureAwait(false))
        {
            // Each group is stored whole (packs, index, then its snapshots) before the next is asked for: a copy killed
            // while waiting for the next group keeps what it finished, and a re-run skips those snapshots.
            await using var writer = dest.StartWriting();
            var copier = new SnapshotCopier(source, dest, writer, progress, ct);
            var pending = new List<(LoadedSnapshot Source, IReadOnlyList<ObjectId> Tree)>();
            foreach (var snapshot in group)
            {
                copier._sourceDomain = snapshot.Domain;
                try
                {
                    pending.Add((snapshot, await copier.CopyDirectoryAsync(SnapshotWalker.RootTree(snapshot.Info), 0).ConfigureAwait(false)));
                }
                catch (Exception e) when (e is CorruptObjectException or BlobMissingException or Dedup.Storage.ObjectNotFoundException)
                {
                    failed.Add((snapshot.Id.ToString(), e.Message));
                }
            }
            // Snapshots only after every pack and index file they need is stored.
            await writer.FlushAsync(ct).ConfigureAwait(false);
            foreach (var (snapshot, tree) in pending)
            {
                var info = snapshot.Info with
                {
                    Time = snapshot.EffectiveTime, Tree = tree.Select(t => t.ToString()).ToArray(), Parent = null, Original = snapshot.Id.ToString(), Session = session.ToString(),
                };
                var id = await dest.Snapshots.SaveAsync(info, ct: ct).ConfigureAwait(false);
                copied.Add((snapshot.Id.ToString(), id.ToString()));
            }
        }
        return new CopyResult(copied, skipped, failed);
    }

    /// <summary>
    /// The source snapshots a copy with these references copies (all trusted ones without references), and the IDs of
    /// those it skips because the destination holds a copy already (matched by its "original" field). The source's index
    /// need not be loaded; nothing is written.
    /// </summary>
    public static async Task<(IReadOnlyList<LoadedSnapshot> ToCopy, IReadOnlyList<string> Present)> SelectAsync(Repo source, Repo dest, IReadOnlyList<string> references,
        CancellationToken ct = default)
    {
        // Only trusted snapshots are copied: a copy is signed by the destination's key, which would vouch for a forgery.
        var wanted = references.Count == 0
            ? (await source.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false)).Where(s => s.IsTrusted).ToList()
            : [.. await Task.WhenAll(references.Select(r => source.Snapshots.ResolveAsync(r, null, ct))).ConfigureAwait(false)];
        var present = dest.Keys.ReadKey is null
            ? []
            : (await dest.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false)).Select(s => s.Info.Original ?? "").ToHashSet();
        var toCopy = new List<LoadedSnapshot>();
        var skipped = new List<string>();
        foreach (var snapshot in wanted.DistinctBy(s => s.Id))
        {
            if (present.Contains(snapshot.Id.ToString())) skipped.Add(snapshot.Id.ToString());
            else toCopy.Add(snapshot);
        }
        return (toCopy, skipped);
    }

#pragma warning disable CS1998 // an async iterator with nothing to await: one group, at once
    private static async IAsyncEnumerable<IReadOnlyList<LoadedSnapshot>> OneGroup(IReadOnlyList<LoadedSnapshot> all)
#pragma warning restore CS1998
    {
        if (all.Count > 0) yield return all;
    }

    private async Task<IReadOnlyList<ObjectId>> CopyDirectoryAsync(IReadOnlyList<ObjectId> tree, int depth)
    {
        if (depth > Limits.MaxTreeDepth) throw new CorruptObjectException("source tree", "directories nest too deep");
        _ct.ThrowIfCancellationRequested();
        var key = (_sourceDomain, SnapshotWalker.DirectoryKey(tree));
        if (_copiedDirectories.TryGetValue(key, out var done)) return done;
        var nodes = await SnapshotWalker.LoadDirectoryAsync(_source, _sourceDomain, tree, _ct).ConfigureAwait(false);
        var copied = new List<TreeNode>(nodes.Count);
        foreach (var node in nodes)
        {
            copied.Add(node.Type switch
            {
                NodeType.File => node with { Content = await CopyContentAsync(node.Content).ConfigureAwait(false) },
                NodeType.Directory => node with { Content = await CopyDirectoryAsync(node.Content, depth + 1).ConfigureAwait(false) },
                _ => node,
            });
        }
        var saved = await TreeWriter.SaveAsync(_writer, copied, _ct).ConfigureAwait(false);
        if (_copiedDirectories.Count >= MaxRememberedFiles) _copiedDirectories.Clear(); // bounded memory on huge snapshots
        _copiedDirectories[key] = saved;
        return saved;
    }

    private async Task<IReadOnlyList<ObjectId>> CopyContentAsync(IReadOnlyList<ObjectId> sourceBlobs)
    {
        var key = _sourceDomain + ContentKey(sourceBlobs);
        if (_copiedContent.TryGetValue(key, out var done)) return done;
        await using var stream = new ContentStream(_source.Blobs, _sourceStreamer, _sourceDomain, sourceBlobs);
        var saved = await _saver.SaveAsync(stream, _ct).ConfigureAwait(false);
        if (_copiedContent.Count >= MaxRememberedFiles) _copiedContent.Clear(); // bounded memory on huge snapshots
        _copiedContent[key] = saved.Content;
        return saved.Content;
    }

    private static string ContentKey(IReadOnlyList<ObjectId> ids)
    {
        var bytes = new byte[ids.Count * ObjectId.Size];
        for (int i = 0; i < ids.Count; i++) ids[i].WriteTo(bytes.AsSpan(i * ObjectId.Size));
        return Convert.ToHexString(SHA256.HashData(bytes));
    }
}

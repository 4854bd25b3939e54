using System.Diagnostics;
using Dedup.Archiver.Cache;
using Dedup.Archiver.Platform;
using Dedup.Archiver.Trees;
using Dedup.Chunking;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.PutOnly;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Backup;

/// <summary>
/// Backs up paths or a stream into a snapshot: walk → chunk → hash → dedup → pack → storage.
/// Write order: packs, then the index files listing them, then the snapshot. An interrupted run therefore
/// never leaves a snapshot pointing at missing data, and the next run reuses the indexed packs.
/// </summary>
public static class Archiver
{
    public static readonly string ProgramVersion = "dedup " + (typeof(Archiver).Assembly.GetName().Version?.ToString(3) ?? "0");

    public static async Task<BackupResult> RunAsync(Repo repo, BackupOptions options, BackupProgress progress, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var started = repo.Clock.GetUtcNow();
        var warnings = new List<string>();
        var given = options.Stdin is null ? SourceList.Collect(options, warnings) : [];
        var paths = options.Stdin is null ? NormalisePaths(given, options) : ["/" + options.StdinFileName.Trim('/')];
        if (options.Stdin is not null && !TreeCodec.IsSafeName(options.StdinFileName.Trim('/')))
            throw new ArgumentException($"'{options.StdinFileName}' is not a valid file name for --stdin-filename.");
        var exclusions = new BackupExclusions(options);
        // A write-only key may only write snapshots of its certified host: anything else would be stored, then distrusted.
        if (repo.Keys.CertifiedHost(repo.Config.SigningPublicKeyBytes) is { } certified && certified != options.Host)
            throw new Dedup.Repository.RepositoryException($"This write-only key may only back up as host '{certified}', not '{options.Host}'. Leave out --host, or use --host {certified}.");
        // Announce the backup before reading the index: prune then knows this run may refer to any pack it saw.
        // A dry run writes nothing at all, so it announces nothing either.
        // A put-only host runs one backup of a path set at a time (spec prune-protocol, "Put-only writers"): the lock is
        // taken before anything is written, and held until the run ends.
        using var state = repo.IsPutOnly && options.StateDirectory is not null
            ? LocalState.Open(options.StateDirectory, repo.Keys.RepositoryId, options.Host, paths).Lock()
            : null;
        var session = options.DryRun ? ObjectId.Empty : await repo.WriteBackupMarkerAsync(options.Host, ct).ConfigureAwait(false);
        // A put-only host reads nothing: it deduplicates against what its local state says its newest snapshot holds.
        IDedupSource? dedup = null;
        bool? stateRebuiltFromIndex = null;
        if (repo.IsPutOnly)
        {
            var newest = state?.LoadNewest(out _) ?? [];
            // Lost state (P5): where the credentials may read this host's own index files, dedup against them instead.
            if (options.StateFromIndex && !options.DryRun && state is { HasNewest: false })
                stateRebuiltFromIndex = await repo.TryLoadOwnIndexAsync(ct).ConfigureAwait(false);
            if (options.CacheDirectory is not null && !options.DryRun) await PendingIndexJournal.RecoverPutOnlyAsync(repo, options.CacheDirectory, ct).ConfigureAwait(false);
            dedup = new KnownBlobs(repo, newest);
        }
        else
        {
            await repo.LoadIndexAsync(ct).ConfigureAwait(false);
            if (options.CacheDirectory is not null && !options.DryRun) await PendingIndexJournal.RecoverAsync(repo, options.CacheDirectory, ct).ConfigureAwait(false);
        }
        using var cache = options.CacheDirectory is null ? null
            : TreeCache.Open(options.CacheDirectory, repo.Keys.RepositoryId, options.Host, paths, repo.Keys.Own.BlobId, readOnly: options.DryRun);
        var parent = await FindParentAsync(repo, options, paths, cache, ct).ConfigureAwait(false);

        var chunker = new Chunker(new ChunkerParameters(repo.Config.ChunkerMin, repo.Config.ChunkerAverage, repo.Config.ChunkerMax), repo.Keys.Own.ChunkerSecret.Span);
        await using var writer = options.DryRun ? null : repo.StartWriting(uploadConcurrency: options.UploadConcurrency, dedupSource: dedup);
        IBlobSink sink = writer is null ? new DryRunSink(repo, dedup ?? new IndexDedupSource(repo, repo.Keys.Own.Id)) : new WriterSink(writer);
        var journal = options.CacheDirectory is null || writer is null ? null
            : PendingIndexJournal.Create(options.CacheDirectory, repo.Keys.RepositoryId, repo.Keys.Own.Id, session, started);
        if (journal is not null) writer!.PackStored = journal.Append;
        var saver = new FileSaver(sink, chunker, repo.Keys.Own.BlobId, progress, Math.Max(2, options.Workers));
        IEnumerable<string> targets = options.OneFileSystem ? given.Select(Absolute) : [];
        var walk = new BackupSession(repo, sink, saver, options, exclusions, targets, progress, cache, ct) { RecordsBlobs = state is not null };
        var parentRoot = parent is null ? null : new TreeNode { Name = "/", Type = NodeType.Directory, Content = parent.Tree.Select(ObjectId.Parse).ToArray() };

        IReadOnlyList<ObjectId> rootTree;
        if (options.Stdin is not null)
        {
            var saved = await saver.SaveAsync(options.Stdin, ct).ConfigureAwait(false);
            var now = repo.Clock.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
            var file = new TreeNode
            {
                Name = paths[0][1..], Type = NodeType.File, Mode = 0x1A4 /* 0644 */, Size = saved.Size, MTimeNs = now, CTimeNs = now,
                Uid = PosixCalls.GetEUid(), User = Environment.UserName, Content = saved.Content, Links = 1,
            };
            Interlocked.Increment(ref progress._files);
            var previous = await walk.LoadPreviousChildrenAsync(parentRoot).ConfigureAwait(false);
            walk.CountStreamedFile(saved.Size, previous.ContainsKey(file.Name));
            rootTree = await walk.SaveDirectoryAsync([file], parentRoot).ConfigureAwait(false);
        }
        else
        {
            rootTree = await BackupRootAsync(walk, BuildTrie(paths), "", parentRoot).ConfigureAwait(false);
        }

        if (writer is not null) await writer.FlushAsync(ct).ConfigureAwait(false);
        journal?.Complete();
        warnings.AddRange(walk.Warnings);
        var info = new SnapshotInfo
        {
            Time = started, Host = options.Host, Username = options.Username, Paths = paths, Tags = options.Tags,
            Tree = rootTree.Select(t => t.ToString()).ToArray(), Parent = parent?.Snapshot, ProgramVersion = ProgramVersion,
            Excludes = options.Excludes, Incomplete = walk.Failures.Count > 0, Session = options.DryRun ? null : session.ToString(),
            Summary = walk.Summary(progress.BytesRead, clock.Elapsed.TotalSeconds),
        };
        if (options.DryRun) return new BackupResult(ObjectId.Empty, info, walk.Failures) { DryRun = true, Warnings = warnings };
        // Put-only: the snapshot's blobs are recorded before its PUT and confirmed after (spec "Put-only writers").
        var id = await repo.Snapshots.SaveAsync(info, beforePut: state is null ? null : _ => state.BeginCommit(walk.ReferencedBlobs), ct: ct).ConfigureAwait(false);
        state?.EndCommit(new LocalSnapshot(id.ToString(), info.Time, info.Host, info.Paths, info.Tags, info.Summary.FilesChanged, info.Summary.FilesNew, info.Summary.BytesAdded));
        cache?.Commit(new CachedParent(id.ToString(), info.Tree, info.Time));
        return new BackupResult(id, info, walk.Failures) { Warnings = warnings, StateRebuiltFromIndex = stateRebuiltFromIndex };
    }

    private static string Absolute(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
    }

    /// <summary>
    /// Absolute, without trailing slashes, sorted, with paths inside other given paths dropped (each path's ancestors
    /// are looked up, so a --files-from list of many files costs its length times the depth, not its square).
    /// </summary>
    internal static string[] NormalisePaths(IReadOnlyList<string> input, BackupOptions? options = null)
    {
        if (input.Count == 0)
            throw new ArgumentException(options is { FilesFrom.Count: > 0 } or { FilesFromVerbatim.Count: > 0 } or { FilesFromRaw.Count: > 0 }
                ? "The --files-from lists name nothing to back up."
                : "Give at least one path to back up.");
        var full = input.Select(Absolute).Distinct().Order(StringComparer.Ordinal).ToArray();
        var set = new HashSet<string>(full, StringComparer.Ordinal);
        if (set.Contains("/")) return ["/"];
        return full.Where(p => !HasGivenAncestor(p, set)).ToArray();
    }

    private static bool HasGivenAncestor(string path, HashSet<string> given)
    {
        for (int cut = path.LastIndexOf('/'); cut > 0; cut = path.LastIndexOf('/', cut - 1))
            if (given.Contains(path[..cut])) return true;
        return false;
    }

    /// <summary>
    /// The parent: the one given, else the latest trusted snapshot of the same host and paths. A write-only key cannot
    /// read snapshots, so it uses the parent its local cache remembers (none when the cache is lost: files are then
    /// read again, but only new chunks are uploaded).
    /// </summary>
    private static async Task<CachedParent?> FindParentAsync(Repo repo, BackupOptions options, string[] paths, TreeCache? cache, CancellationToken ct)
    {
        if (repo.Keys.ReadKey is null) return options.Parent is null ? cache?.Parent : null;
        LoadedSnapshot? found;
        if (options.Parent is { } id) found = await repo.Snapshots.LoadAsync(id, default, ct).ConfigureAwait(false);
        else
        {
            var all = await repo.Snapshots.LoadAllAsync((_, _) => { }, ct).ConfigureAwait(false);
            // Only a trusted snapshot of this key's own domain can be a parent: its blobs are the ones this backup may reuse.
            found = all.LastOrDefault(s => s.Info.Host == options.Host && s.Info.Paths.SequenceEqual(paths, StringComparer.Ordinal)
                                           && s.IsTrusted && s.Domain == repo.Keys.Own.Id);
        }
        return found is null ? null : new CachedParent(found.Id.ToString(), found.Info.Tree, found.Info.Time);
    }

    /// <summary>A node of the path trie: the root's children are first components; Target marks a path to back up whole.</summary>
    private sealed class PathTrie
    {
        public SortedDictionary<string, PathTrie> Children { get; } = new(StringComparer.Ordinal);
        public bool Target { get; set; }
    }

    private static PathTrie BuildTrie(string[] paths)
    {
        var root = new PathTrie();
        foreach (var p in paths)
        {
            var node = root;
            foreach (var part in p.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!node.Children.TryGetValue(part, out var next)) node.Children[part] = next = new PathTrie();
                node = next;
            }
            node.Target = true;
        }
        if (root.Target) root.Children.Clear(); // backing up "/" itself
        return root;
    }

    /// <summary>
    /// Builds the snapshot's root: directories on the way to each path carry their real metadata but only the
    /// entries leading to backed-up paths, as restic does; each target is backed up whole.
    /// </summary>
    private static async Task<IReadOnlyList<ObjectId>> BackupRootAsync(BackupSession session, PathTrie trie, string fsDir, TreeNode? previousDir)
    {
        if (trie.Target)
        {
            var whole = await session.BackupPathAsync(fsDir.Length == 0 ? "/" : fsDir, "", "/", previousDir).ConfigureAwait(false);
            return whole?.Content ?? await session.SaveDirectoryAsync([], previousDir).ConfigureAwait(false);
        }
        var previousChildren = await session.LoadPreviousChildrenAsync(previousDir).ConfigureAwait(false);
        var entries = new List<TreeNode>();
        foreach (var (name, child) in trie.Children)
        {
            var fsPath = fsDir + "/" + name;
            previousChildren.TryGetValue(name, out var prev);
            if (child.Target)
            {
                var node = await session.BackupPathAsync(fsPath, fsPath, name, prev).ConfigureAwait(false);
                if (node is not null) entries.Add(node);
                continue;
            }
            FileStatus st;
            try
            {
                st = PosixFile.LStat(fsPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                st = default; // the target below will report the missing path
            }
            var content = await BackupRootAsync(session, child, fsPath, prev).ConfigureAwait(false);
            entries.Add(BackupSession.NodeFromStatus(name, st) with
            {
                Type = NodeType.Directory, Content = content, Links = 0,
                ExtendedAttributes = st.Type == NodeType.Directory ? session.ReadExtendedAttributes(fsPath) : [],
            });
        }
        return await session.SaveDirectoryAsync(entries, previousDir).ConfigureAwait(false);
    }
}

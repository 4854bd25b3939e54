using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.PutOnly;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Cache;

/// <summary>
/// A local record of packs a backup stored but may not have indexed yet. The writer indexes every few packs, but a
/// backup killed or cut off by an outage in between would leave its last packs unindexed, and so not reusable: a
/// write-only key cannot read pack headers to find them again. So each stored pack's index entry is appended here
/// first (it holds only IDs, sizes and a wrapped key, nothing secret), the file is removed when the backup finishes,
/// and the next backup indexes whatever an earlier one left behind.
/// Layout: BASE/&lt;repository id&gt;/pending/&lt;session&gt;.journal, records of (u32 length, index plaintext of one pack).
/// </summary>
public sealed class PendingIndexJournal
{
    private readonly string _file;
    private readonly Lock _gate = new();
    private bool _broken;

    private PendingIndexJournal(string file) => _file = file;

    /// <summary>One folder per repository and dedup domain: a pack recovered into the index must be claimed in the domain it holds.</summary>
    private static string Folder(string baseDir, ObjectId repositoryId, DomainId domain) => Path.Join(baseDir, repositoryId.ToString(), "pending-" + domain);

    /// <param name="started">When the run started (before its first pack): a put-only host reuses the packs of a killed
    /// run only within <see cref="PutOnlyRules.ResumeWindow"/> of it, so it is kept beside the journal.</param>
    public static PendingIndexJournal? Create(string baseDir, ObjectId repositoryId, DomainId domain, ObjectId session, DateTimeOffset started)
    {
        try
        {
            var dir = Folder(baseDir, repositoryId, domain);
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Join(dir, session + ".started"), started.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new PendingIndexJournal(Path.Join(dir, session + ".journal"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Records a stored pack. Called from upload threads.</summary>
    public void Append(IndexPack pack)
    {
        var bytes = EncodeRecord(pack);
        lock (_gate)
        {
            if (_broken) return;
            try
            {
                using var f = new FileStream(_file, FileMode.Append, FileAccess.Write, FileShare.Read);
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _broken = true; // the journal is an optimisation; the backup goes on without it
            }
        }
    }

    /// <summary>The backup finished and indexed everything: nothing to recover.</summary>
    public void Complete()
    {
        try
        {
            File.Delete(_file);
            File.Delete(Path.ChangeExtension(_file, ".started"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Indexes packs that earlier, interrupted backups stored but never indexed, if they are still in the store.
    /// Returns how many packs it indexed. Damaged journals are ignored: they only cost re-uploading.
    /// </summary>
    public static async Task<int> RecoverAsync(Repo repo, string baseDir, CancellationToken ct)
    {
        var domain = repo.Keys.Own;
        var dir = Folder(baseDir, repo.Keys.RepositoryId, domain.Id);
        if (!Directory.Exists(dir)) return 0;
        var recovered = new List<IndexPack>();
        var files = Directory.GetFiles(dir, "*.journal");
        foreach (var file in files)
        {
            foreach (var pack in ReadJournal(file))
            {
                if (repo.Index.ContainsPack(pack.PackId) || recovered.Exists(p => p.PackId == pack.PackId)) continue;
                var stat = await repo.Storage.StatAsync(Layout.Pack(pack.PackId), ct).ConfigureAwait(false);
                if (stat is not null) recovered.Add(pack);
            }
        }
        if (recovered.Count > 0)
        {
            var bytes = IndexFile.Seal(recovered, domain, repo.Keys);
            await repo.Storage.PutAsync(Layout.Index(ObjectId.HashOf(bytes)), bytes, ct).ConfigureAwait(false);
            foreach (var p in recovered) repo.Index.AddPack(p, domain.Id);
        }
        Remove(dir);
        return recovered.Count;
    }

    /// <summary>
    /// A put-only host's recovery (spec prune-protocol "Put-only writers"): it cannot stat packs, so it reuses the
    /// packs of killed runs that started less than <see cref="PutOnlyRules.ResumeWindow"/> ago (no mark listing them can
    /// expire before this run stores its snapshot) and forgets older ones (their content is uploaded again). Reused
    /// packs are claimed in a new index file and count as stored in this run. Returns how many packs it reused.
    /// </summary>
    public static async Task<int> RecoverPutOnlyAsync(Repo repo, string baseDir, CancellationToken ct)
    {
        var domain = repo.Keys.Own;
        var dir = Folder(baseDir, repo.Keys.RepositoryId, domain.Id);
        if (!Directory.Exists(dir)) return 0;
        var now = repo.Clock.GetUtcNow();
        var recovered = new Dictionary<ObjectId, IndexPack>();
        foreach (var file in Directory.GetFiles(dir, "*.journal"))
        {
            if (StartedAt(file) is not { } started || now - started >= PutOnlyRules.ResumeWindow || started > now) continue;
            foreach (var pack in ReadJournal(file)) recovered.TryAdd(pack.PackId, pack);
        }
        if (recovered.Count > 0)
        {
            var packs = recovered.Values.ToList();
            var bytes = IndexFile.Seal(packs, domain, repo.Keys);
            await repo.Storage.PutAsync(Layout.Index(ObjectId.HashOf(bytes)), bytes, ct).ConfigureAwait(false);
            foreach (var p in packs) repo.Index.AddPack(p, domain.Id);
        }
        Remove(dir);
        return recovered.Count;
    }

    private static DateTimeOffset? StartedAt(string journal)
    {
        try
        {
            return long.TryParse(File.ReadAllText(Path.ChangeExtension(journal, ".started")), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null; // unknown start: not reused
        }
    }

    private static void Remove(string dir)
    {
        foreach (var file in Directory.GetFiles(dir).Where(f => f.EndsWith(".journal", StringComparison.Ordinal) || f.EndsWith(".started", StringComparison.Ordinal)))
            try { File.Delete(file); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>One journal record: u32 length (little-endian), then the index plaintext of one pack.</summary>
    internal static byte[] EncodeRecord(IndexPack pack)
    {
        using var w = new PooledBufferWriter();
        w.WriteUInt32(0);
        IndexCodec.Write(w, [pack]);
        var bytes = w.ToArray();
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), bytes.Length - 4);
        return bytes;
    }

    private static List<IndexPack> ReadJournal(string file)
    {
        try
        {
            return ParseJournal(File.ReadAllBytes(file), file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The packs of a journal's whole records, up to the first damaged or torn one (damage only costs re-uploading).</summary>
    internal static List<IndexPack> ParseJournal(ReadOnlySpan<byte> bytes, string source)
    {
        var packs = new List<IndexPack>();
        int pos = 0;
        while (bytes.Length - pos >= 4)
        {
            int length = BitConverter.ToInt32(bytes[pos..]);
            if (length <= 0 || length > bytes.Length - pos - 4) break; // a torn last record (compared without overflow)
            var record = new List<IndexPack>();
            try
            {
                IndexCodec.Read(bytes.Slice(pos + 4, length), source, record.Add);
            }
            catch (CorruptObjectException)
            {
                break;
            }
            packs.AddRange(record);
            pos += 4 + length;
        }
        return packs;
    }
}

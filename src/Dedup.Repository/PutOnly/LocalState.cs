using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dedup.Format;

namespace Dedup.Repository.PutOnly;

/// <summary>A snapshot a put-only host stored, as its local state remembers it ('snapshots' on that host).</summary>
public sealed record LocalSnapshot(string Id, DateTimeOffset Time, string Host, IReadOnlyList<string> Paths, IReadOnlyList<string> Tags,
    long FilesChanged, long FilesNew, long BytesAdded);

/// <summary>
/// A put-only host's memory of what it stored, kept where state belongs rather than in the cache (a cache may be
/// wiped by any tool; losing this costs a full upload, losing the enrolment stops backups):
/// BASE = DEDUP_STATE_DIR, else $XDG_STATE_HOME/dedup, else ~/.local/state/dedup. Folders are 0700.
/// <list type="bullet">
/// <item>BASE/enrolled/&lt;sha256(repository URL)&gt;.json: installed enrolments.</item>
/// <item>BASE/&lt;repository id&gt;/snapshots.jsonl: one line per snapshot this host stored.</item>
/// <item>BASE/&lt;repository id&gt;/&lt;sha256(host, paths)&gt;/newest.ids: blob IDs of this writer's newest snapshot of
/// that path set (every ID in it is referenced by whichever snapshot of the set is newest in the repository);
/// pending.ids: those of a snapshot whose PUT is in progress or whose outcome is unknown.</item>
/// </list>
/// ID files: "DDPS", u8 version 1, u32 count, count × 32-byte IDs, SHA-256 of everything before. A damaged file
/// counts as absent (a full upload, never a wrong dedup).
/// </summary>
public sealed class LocalState : IDisposable
{
    private static readonly byte[] Magic = "DDPS"u8.ToArray();
    private readonly string _dir, _repoDir;
    private FileStream? _lock;

    private LocalState(string repoDir, string dir) => (_repoDir, _dir) = (repoDir, dir);

    public static string DefaultBase() =>
        Environment.GetEnvironmentVariable("DEDUP_STATE_DIR") is { Length: > 0 } d ? d
        : Path.Join(Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } x ? x
            : Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"), "dedup");

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void CreatePrivate(string dir) =>
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>Installs an enrolment for <paramref name="url"/> (the -r given on this host). Returns the file written.</summary>
    public static string Install(string baseDir, string url, Enrollment enrollment)
    {
        var dir = Path.Join(baseDir, "enrolled");
        CreatePrivate(dir);
        var file = Path.Join(dir, Hash(url) + ".json");
        WriteAtomically(file, (enrollment with { RepositoryUrl = url }).Serialize());
        return file;
    }

    /// <summary>The enrolment installed for <paramref name="url"/>, or null.</summary>
    public static Enrollment? FindEnrollment(string baseDir, string url)
    {
        var file = Path.Join(baseDir, "enrolled", Hash(url) + ".json");
        return File.Exists(file) ? Enrollment.Parse(File.ReadAllBytes(file), file) : null;
    }

    public static LocalState Open(string baseDir, ObjectId repositoryId, string host, IReadOnlyList<string> paths)
    {
        var repoDir = Path.Join(baseDir, repositoryId.ToString());
        var dir = Path.Join(repoDir, Hash(host + "\0" + string.Join("\0", paths)));
        CreatePrivate(dir);
        return new LocalState(repoDir, dir);
    }

    /// <summary>
    /// Takes this path set's lock (BASE/&lt;repository id&gt;/&lt;path set&gt;/lock, an exclusive flock held while the
    /// file is open (<see cref="Dedup.Storage.FileLock"/>); the kernel drops it when the process dies, so a killed run leaves nothing to clean up). Two runs
    /// of one path set at once would interleave their journals and each record its snapshot as the newest. The holder
    /// writes its process ID beside it (lock.pid) for the refusal's message. Throws <see cref="RepositoryException"/>.
    /// </summary>
    public LocalState Lock()
    {
        var file = Path.Join(_dir, "lock");
        FileStream? stream = null;
        try
        {
            stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (IOException)
        {
            // Where .NET's own file locking is on (not in the CLI), its shared lock on open fails against our exclusive one.
        }
        if (stream is not null && Dedup.Storage.FileLock.TryLockExclusive(stream.SafeFileHandle)) _lock = stream;
        else
        {
            stream?.Dispose();
            string? holder = null;
            try
            {
                holder = File.ReadAllText(Path.Join(_dir, "lock.pid")).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            throw new RepositoryException($"another backup of these paths is running on this host{(holder is { Length: > 0 } ? $" (process {holder})" : "")}; "
                                          + "let it finish, then run this one (one backup of a path set at a time)");
        }
        File.WriteAllText(Path.Join(_dir, "lock.pid"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return this;
    }

    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }

    private string Newest => Path.Join(_dir, "newest.ids");
    private string Pending => Path.Join(_dir, "pending.ids");

    /// <summary>
    /// The blobs this run may deduplicate against from local state. If the last commit's outcome is unknown (a
    /// pending file is left: killed between recording and confirming the snapshot PUT), it is settled first: the
    /// newest snapshot in the repository is the old one or the pending one, so only their intersection is safe, and
    /// that is what newest.ids holds from now on.
    /// </summary>
    public HashSet<ObjectId> LoadNewest(out bool settledUnknownCommit)
    {
        var newest = ReadIds(Newest) ?? [];
        settledUnknownCommit = File.Exists(Pending);
        if (settledUnknownCommit)
        {
            newest.IntersectWith(ReadIds(Pending) ?? []);
            WriteIds(Newest, newest);
            File.Delete(Pending);
        }
        return newest;
    }

    /// <summary>False when this path set has no newest record (never backed up from here, or the state was lost): P5.</summary>
    public bool HasNewest => File.Exists(Newest);

    /// <summary>Records the blobs of a snapshot about to be PUT. Throws when it cannot: the snapshot must not be stored unrecorded.</summary>
    public void BeginCommit(IReadOnlyCollection<ObjectId> blobs) => WriteIds(Pending, blobs);

    /// <summary>The snapshot PUT succeeded: its blobs are now the newest, and it joins this host's list.</summary>
    public void EndCommit(LocalSnapshot snapshot)
    {
        try
        {
            File.Move(Pending, Newest, overwrite: true);
            SyncDirectory(_dir);
            File.AppendAllText(Path.Join(_repoDir, "snapshots.jsonl"), JsonSerializer.Serialize(snapshot, PutOnlyJson.Default.LocalSnapshot) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // pending.ids stays: the next run settles it as an unknown outcome (the intersection), which is safe.
        }
    }

    /// <summary>The snapshots this host stored in the repository, oldest first, as recorded locally.</summary>
    public static List<LocalSnapshot> ListSnapshots(string baseDir, ObjectId repositoryId)
    {
        var file = Path.Join(baseDir, repositoryId.ToString(), "snapshots.jsonl");
        return File.Exists(file) ? ParseSnapshotLines(File.ReadLines(file)) : [];
    }

    /// <summary>snapshots.jsonl's lines; a line that is not a snapshot (a torn last line from a crash) is skipped.</summary>
    internal static List<LocalSnapshot> ParseSnapshotLines(IEnumerable<string> lines)
    {
        var list = new List<LocalSnapshot>();
        foreach (var line in lines)
        {
            try
            {
                if (JsonSerializer.Deserialize(line, PutOnlyJson.Default.LocalSnapshot) is { Id: not null, Host: not null, Paths: not null, Tags: not null } s) list.Add(s);
            }
            catch (JsonException)
            {
            }
        }
        return list;
    }

    internal static HashSet<ObjectId>? ReadIds(string file) => File.Exists(file) ? ParseIds(File.ReadAllBytes(file)) : null;

    /// <summary>An ID file's blob IDs, or null when it is damaged in any way (then it counts as absent: P5).</summary>
    internal static HashSet<ObjectId>? ParseIds(ReadOnlySpan<byte> bytes)
    {
        const int head = 9;
        if (bytes.Length < head + 32 || !bytes[..4].SequenceEqual(Magic) || bytes[4] != 1) return null;
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[5..]);
        if ((long)count * ObjectId.Size + head + 32 != bytes.Length) return null;
        int body = bytes.Length - 32;
        if (!SHA256.HashData(bytes[..body]).AsSpan().SequenceEqual(bytes[body..])) return null;
        var set = new HashSet<ObjectId>((int)count);
        for (int at = head; at < body; at += ObjectId.Size) set.Add(new ObjectId(bytes.Slice(at, ObjectId.Size)));
        return set;
    }

    private static void WriteIds(string file, IReadOnlyCollection<ObjectId> ids) => WriteAtomically(file, EncodeIds(ids));

    internal static byte[] EncodeIds(IReadOnlyCollection<ObjectId> ids)
    {
        var bytes = new byte[9 + ids.Count * ObjectId.Size + 32];
        Magic.CopyTo(bytes, 0);
        bytes[4] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(5), (uint)ids.Count);
        int at = 9;
        foreach (var id in ids)
        {
            id.WriteTo(bytes.AsSpan(at));
            at += ObjectId.Size;
        }
        SHA256.HashData(bytes.AsSpan(0, at), bytes.AsSpan(at));
        return bytes;
    }

    /// <summary>Temp file, fsync, rename, fsync of the folder: after a crash the file is the old or the new one, whole.</summary>
    private static void WriteAtomically(string file, byte[] bytes)
    {
        var temp = file + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, file, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(file)!);
    }

    private static void SyncDirectory(string dir) => Dedup.Storage.DirectorySync.Flush(dir);
}

/// <summary>Local-state JSON, source-generated (the native binary has no reflection-based serializer).</summary>
[JsonSerializable(typeof(LocalSnapshot))]
[JsonSerializable(typeof(EnrollmentJson))]
internal sealed partial class PutOnlyJson : JsonSerializerContext;

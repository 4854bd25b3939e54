using System.Text;
using Dedup.Archiver.Cache;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.PutOnly;

namespace Dedup.Fuzz.Targets;

// A put-only host's local files (spec repository-format 21.1). Whoever can write the host's state folder can feed
// these parsers anything; damage must only ever cost a full upload or a clear refusal.

/// <summary>An enrolment file as 'dedup enroll' and every later run read it; the refusal is one RepositoryException.</summary>
public sealed class EnrollmentTarget : IFuzzTarget
{
    public string Name => "enrollment";

    public void Run(ReadOnlySpan<byte> data)
    {
        try
        {
            Enrollment.Parse(data, "fuzz.enrol");
        }
        catch (RepositoryException)
        {
        }
    }

    public IEnumerable<byte[]> Seeds()
    {
        var key = new KeyFileTarget().Seeds().First();
        yield return new Enrollment(FuzzKeys.ConfigBytes, key, ObjectId.HashOf(key), "s3:https://s3.example.net/backups/repo").Serialize();
        yield return new Enrollment(FuzzKeys.ConfigBytes, key, ObjectId.HashOf(key), null).Serialize();
    }
}

/// <summary>newest.ids / pending.ids: a damaged file is null (absent), never an exception.</summary>
public sealed class LocalBlobIdsTarget : IFuzzTarget
{
    public string Name => "local-blob-ids";

    public void Run(ReadOnlySpan<byte> data) => LocalState.ParseIds(data);

    public IEnumerable<byte[]> Seeds()
    {
        yield return LocalState.EncodeIds([]);
        yield return LocalState.EncodeIds([ObjectId.HashOf("a"u8)]);
        yield return LocalState.EncodeIds(Enumerable.Range(0, 5).Select(i => ObjectId.HashOf(BitConverter.GetBytes(i))).ToList());
    }
}

/// <summary>snapshots.jsonl: lines that are not snapshots are skipped, never an exception.</summary>
public sealed class LocalSnapshotListTarget : IFuzzTarget
{
    public string Name => "local-snapshots";

    public void Run(ReadOnlySpan<byte> data) => LocalState.ParseSnapshotLines(Encoding.UTF8.GetString(data).Split('\n'));

    public IEnumerable<byte[]> Seeds()
    {
        var time = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var a = System.Text.Json.JsonSerializer.Serialize(new LocalSnapshot(ObjectId.HashOf("s1"u8).ToString(), time, "db1", ["/srv", "/etc"], ["daily"], 3, 1, 4096),
            PutOnlyJson.Default.LocalSnapshot);
        var b = System.Text.Json.JsonSerializer.Serialize(new LocalSnapshot(ObjectId.HashOf("s2"u8).ToString(), time.AddDays(1), "db1", ["db.sql"], [], 0, 1, 0),
            PutOnlyJson.Default.LocalSnapshot);
        yield return Encoding.UTF8.GetBytes(a + "\n");
        yield return Encoding.UTF8.GetBytes(a + "\n" + b + "\n" + b[..20]);
    }
}

/// <summary>The pending-index journal a backup appends after each pack it stored: records up to the first bad one count.</summary>
public sealed class PendingJournalTarget : IFuzzTarget
{
    public string Name => "journal";

    public void Run(ReadOnlySpan<byte> data) => PendingIndexJournal.ParseJournal(data, "fuzz.journal");

    public IEnumerable<byte[]> Seeds()
    {
        foreach (var packs in SeedData.IndexPacks())
            yield return packs.SelectMany(PendingIndexJournal.EncodeRecord).ToArray();
    }
}

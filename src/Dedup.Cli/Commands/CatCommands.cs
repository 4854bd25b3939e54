using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>'cat': repository objects decrypted, for debugging. IDs may be unique prefixes.</summary>
public static class CatCommands
{
    private const int MaxObject = 64 << 20;

    public static VerbGroup Create() => new("cat", "Print a repository object, decrypted, for debugging.",
        "Everything prints as JSON except 'blob', which writes the blob's raw content to stdout.",
        new CatConfig(),
        new CatObject("index", "The packs and blobs an index file lists.", PrintIndex),
        new CatObject("snapshot", "A snapshot's metadata (ID, unique prefix or 'latest').", PrintSnapshot),
        new CatObject("key", "A key file's envelope; the sealed secrets are never printed.", PrintKey),
        new CatObject("pack", "The blobs the index records for a pack.", PrintPack),
        new CatObject("blob", "A blob's raw content, to stdout.", PrintBlob),
        new CatObject("tree", "A tree blob's entries.", PrintTree));

    /// <summary>'cat config': plaintext, so no password is needed.</summary>
    private sealed class CatConfig() : Verb("config", "The repository's config object (plaintext; no password needed).")
    {
        public override async Task<int> RunAsync(CliContext ctx)
        {
            var bytes = await ReadAsync(ctx.OpenStorage().Storage, Layout.Config, null, ctx.Cancellation).ConfigureAwait(false);
            ctx.WriteJson(RepositoryConfig.Parse(bytes), CliJson.Default.RepositoryConfig);
            return ExitCodes.Ok;
        }
    }

    /// <summary>'cat KIND ID': one verb per kind, each with the ID argument.</summary>
    private sealed class CatObject : Verb
    {
        private readonly Argument<string> _id;
        private readonly Func<CliContext, string, Task> _print;

        public CatObject(string kind, string summary, Func<CliContext, string, Task> print) : base(kind, summary)
        {
            _id = Arg<string>("ID", "the object's ID or a unique prefix", ArgumentArity.ExactlyOne);
            _print = print;
        }

        public override async Task<int> RunAsync(CliContext ctx)
        {
            await _print(ctx, ctx.Get(_id)!.ToLowerInvariant()).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
    }

    private static async Task PrintSnapshot(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync(reads: "decrypt a snapshot").ConfigureAwait(false);
        ctx.WriteJson(SnapshotJson.From(await repo.Snapshots.ResolveAsync(reference, SnapshotFilter.Trusted with { IncludeUntrusted = true }, ctx.Cancellation)
            .ConfigureAwait(false)), CliJson.Default.SnapshotJson);
    }

    private static async Task PrintIndex(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var (name, id) = await FindAsync(repo, Layout.IndexPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
        var bytes = await ReadAsync(repo.Storage, name, id, ctx.Cancellation).ConfigureAwait(false);
        var header = IndexFile.ReadHeader(bytes, name);
        var stat = await repo.Storage.StatAsync(name, ctx.Cancellation).ConfigureAwait(false);
        var signer = (await repo.GetTrustAsync(ctx.Cancellation).ConfigureAwait(false))
            .Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, stat?.LastModified ?? default);
        var packs = new List<PackJson>();
        IndexFile.Open(bytes, repo.Keys.For(header.Domain), signer.Trust, name, p => packs.Add(
            PackJson.From(p.PackId, p.Type, p.Blobs.Select(b => (b.Id, b.Offset, b.StoredLength, b.RawLength)))
                with { Origin = p.Origin == PackOrigin.FullKey ? "full-key" : "writer" }));
        ctx.WriteJson(new IndexJson(id.ToString(), header.Domain.ToString(), signer.Identity, signer.IsTrusted, signer.Problem, packs), CliJson.Default.IndexJson);
    }

    private static async Task PrintKey(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var (name, id) = await FindAsync(repo, Layout.KeysPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
        var key = KeyFile.Parse(await ReadAsync(repo.Storage, name, id, ctx.Cancellation).ConfigureAwait(false), name);
        // The payload is sealed, but it is still key material: nothing gains from printing it.
        var json = JsonSerializer.SerializeToNode(key with { Payload = $"(sealed, {key.Payload.Length} base64 characters)" }, CliJson.Default.KeyFile)!.AsObject();
        json["id"] = id.ToString();
        ctx.WriteJson(json, CliJson.Default.JsonObject);
    }

    private static async Task PrintPack(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true).ConfigureAwait(false);
        var (name, id) = await FindAsync(repo, Layout.DataPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
        var blobs = repo.Index.Blobs().Where(b => b.Location.PackId == id).OrderBy(b => b.Location.Offset).ToList();
        var size = (await repo.Storage.StatAsync(name, ctx.Cancellation).ConfigureAwait(false))?.Size;
        var type = blobs.Count > 0 ? blobs[0].Location.Type : BlobType.Data;
        var json = PackJson.From(id, type, blobs.Select(b => (b.Id, b.Location.Offset, b.Location.StoredLength, b.Location.RawLength)))
            with { Size = size, Source = "index" };
        ctx.WriteJson(json, CliJson.Default.PackJson);
    }

    private static async Task PrintBlob(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "decrypt a blob").ConfigureAwait(false);
        var id = FindBlob(repo, reference);
        using var blob = await repo.Blobs.ReadAsync(id, DomainOf(repo, id), ctx.Cancellation).ConfigureAwait(false);
        await using var stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(blob.Memory, ctx.Cancellation).ConfigureAwait(false);
    }

    private static async Task PrintTree(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "decrypt a tree").ConfigureAwait(false);
        var id = FindBlob(repo, reference);
        using var blob = await repo.Blobs.ReadAsync(id, DomainOf(repo, id), ctx.Cancellation).ConfigureAwait(false);
        var nodes = TreeCodec.Decode(blob.Span, $"tree {id.ToShortString()}");
        ctx.WriteJson(new TreeJson(id.ToString(), nodes.Select(n => LsEntry.From(n.Name, n)).ToList()), CliJson.Default.TreeJson);
    }

    private static async Task<(string Name, ObjectId Id)> FindAsync(Repo repo, string prefix, string reference, CancellationToken ct)
    {
        var found = new List<(string, ObjectId)>();
        await foreach (var obj in repo.Storage.ListAsync(prefix, ct).ConfigureAwait(false))
            if (Layout.TryParseId(obj.Name, out var id) && id.ToString().StartsWith(reference, StringComparison.Ordinal)) found.Add((obj.Name, id));
        return found.Count == 1 ? found[0]
            : throw new UsageException(found.Count == 0 ? $"no object under {prefix} has an ID starting with '{reference}'" : $"'{reference}' matches {found.Count} objects; give more digits");
    }

    private static ObjectId FindBlob(Repo repo, string reference)
    {
        if (ObjectId.TryParse(reference, out var full)) return full;
        var found = repo.Index.Blobs().Select(b => b.Id).Where(id => id.ToString().StartsWith(reference, StringComparison.Ordinal)).Take(2).ToList();
        return found.Count == 1 ? found[0]
            : throw new UsageException(found.Count == 0 ? $"no blob in the index has an ID starting with '{reference}'" : $"'{reference}' matches several blobs; give more digits");
    }

    /// <summary>The blob's own dedup domain, from its best location: cat is for debugging and names what it prints.</summary>
    private static DomainId DomainOf(Repo repo, ObjectId id)
    {
        var entry = repo.Index.Blobs().FirstOrDefault(b => b.Id == id);
        return entry.Id == id ? entry.Location.Domain : throw new UsageException($"no blob in the index has the ID {id}");
    }

    /// <summary>Reads a whole object and, when it is content-addressed, checks that its bytes still hash to its name.</summary>
    private static async Task<byte[]> ReadAsync(Dedup.Storage.IStorage storage, string name, ObjectId? id, CancellationToken ct)
    {
        await using var s = await storage.OpenReadAsync(name, 0, -1, ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await s.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > MaxObject) throw new CorruptObjectException(name, $"larger than {MaxObject} bytes");
            ms.Write(buffer, 0, n);
        }
        var bytes = ms.ToArray();
        if (id is { } expected && ObjectId.HashOf(bytes) != expected)
            throw new CorruptObjectException(name, "its content does not match its name (damaged or replaced)");
        return bytes;
    }
}

public sealed record PackBlobJson(string Id, long Offset, int StoredLength, int Length);

public sealed record PackJson(
    string Id, string Type, IReadOnlyList<PackBlobJson> Blobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Size = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Origin = null)
{
    public static PackJson From(ObjectId id, BlobType type, IEnumerable<(ObjectId Id, long Offset, int Stored, int Raw)> blobs) =>
        new(id.ToString(), type.ToString().ToLowerInvariant(), blobs.Select(b => new PackBlobJson(b.Id.ToString(), b.Offset, b.Stored, b.Raw)).ToList());
}

/// <summary>'cat index': the file's dedup domain and who signed it (trusted or not, and why not), then its packs with their origin.</summary>
public sealed record IndexJson(string Id, string Domain, string Signer, bool Trusted, string? Problem, IReadOnlyList<PackJson> Packs);

public sealed record TreeJson(string Id, IReadOnlyList<LsEntry> Nodes);

using System.Text.Json;
using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository.Index;
using Dedup.Repository.Keys;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>Prints repository objects decrypted, for debugging. IDs may be unique prefixes.</summary>
public static class CatCommand
{
    public static readonly Verb Verb = new("cat", "config | index ID | snapshot ID | key ID | pack ID | blob ID | tree ID",
        "Print a repository object, decrypted, for debugging.",
        """
        Everything prints as JSON except 'blob', which writes the blob's raw content to stdout.
        'pack' lists the blobs the index records for the pack. 'key' never prints the sealed secrets.
        """,
        [], 1, 2, RunAsync);

    private const int MaxObject = 64 << 20;

    private static async Task<int> RunAsync(CliContext ctx)
    {
        var kind = ctx.Args.Positionals[0];
        if (kind == "config")
        {
            var storage = ctx.OpenStorage().Storage;
            var bytes = await ReadAsync(storage, Layout.Config, null, ctx.Cancellation).ConfigureAwait(false);
            var config = Dedup.Repository.RepositoryConfig.Parse(bytes);
            ctx.WriteJson(JsonSerializer.SerializeToNode(config));
            return ExitCodes.Ok;
        }
        if (ctx.Args.Positionals.Count != 2) throw new UsageException($"'cat {kind}' needs an ID: dedup cat {kind} ID");
        var reference = ctx.Args.Positionals[1].ToLowerInvariant();
        var repo = await ctx.OpenRepositoryAsync(loadIndex: kind is "pack" or "blob" or "tree",
            reads: kind is "snapshot" or "blob" or "tree" ? $"decrypt a {kind}" : null).ConfigureAwait(false);
        switch (kind)
        {
            case "snapshot":
                ctx.WriteJson(SnapshotsCommand.ToJson(await repo.Snapshots.ResolveAsync(reference, Dedup.Repository.Snapshots.SnapshotFilter.Trusted with { IncludeUntrusted = true }, ctx.Cancellation).ConfigureAwait(false)));
                break;
            case "index":
            {
                var (name, id) = await FindAsync(repo, Layout.IndexPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
                var packs = new JsonArray();
                var bytes = await ReadAsync(repo.Storage, name, id, ctx.Cancellation).ConfigureAwait(false);
                var header = IndexFile.ReadHeader(bytes, name);
                var stat = await repo.Storage.StatAsync(name, ctx.Cancellation).ConfigureAwait(false);
                var signer = (await repo.GetTrustAsync(ctx.Cancellation).ConfigureAwait(false))
                    .Evaluate(header.Signer, header.Certificate, header.SignatureValid, header.Domain, stat?.LastModified ?? default);
                IndexFile.Open(bytes, repo.Keys.For(header.Domain), signer.Trust, name, p =>
                {
                    var pack = PackJson(p.PackId, p.Type, p.Blobs.Select(b => (b.Id, b.Offset, b.StoredLength, b.RawLength)));
                    pack["origin"] = p.Origin == PackOrigin.FullKey ? "full-key" : "writer";
                    packs.Add(pack);
                });
                ctx.WriteJson(new JsonObject
                {
                    ["id"] = id.ToString(), ["domain"] = header.Domain.ToString(), ["signer"] = signer.Identity,
                    ["trusted"] = signer.IsTrusted, ["problem"] = signer.Problem, ["packs"] = packs,
                });
                break;
            }
            case "key":
            {
                var (name, id) = await FindAsync(repo, Layout.KeysPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
                var key = KeyFile.Parse(await ReadAsync(repo.Storage, name, id, ctx.Cancellation).ConfigureAwait(false), name);
                var json = JsonSerializer.SerializeToNode(key)!.AsObject();
                // The payload is sealed, but it is still key material: nothing gains from printing it.
                json["payload"] = $"(sealed, {key.Payload.Length} base64 characters)";
                json["id"] = id.ToString();
                ctx.WriteJson(json);
                break;
            }
            case "pack":
            {
                var (name, id) = await FindAsync(repo, Layout.DataPrefix, reference, ctx.Cancellation).ConfigureAwait(false);
                var blobs = repo.Index.Blobs().Where(b => b.Location.PackId == id).OrderBy(b => b.Location.Offset).ToList();
                var size = (await repo.Storage.StatAsync(name, ctx.Cancellation).ConfigureAwait(false))?.Size;
                var type = blobs.Count > 0 ? blobs[0].Location.Type : BlobType.Data;
                var json = PackJson(id, type, blobs.Select(b => (b.Id, b.Location.Offset, b.Location.StoredLength, b.Location.RawLength)));
                json["size"] = size;
                json["source"] = "index";
                ctx.WriteJson(json);
                break;
            }
            case "blob" or "tree":
            {
                var id = FindBlob(repo, reference);
                // The blob's own domain, from its best location: cat is for debugging and names what it prints.
                var entry = repo.Index.Blobs().FirstOrDefault(b => b.Id == id);
                if (entry.Id != id) throw new UsageException($"no blob in the index has the ID {id}");
                var domain = entry.Location.Domain;
                using var blob = await repo.Blobs.ReadAsync(id, domain, ctx.Cancellation).ConfigureAwait(false);
                if (kind == "tree")
                {
                    var nodes = TreeCodec.Decode(blob.Span, $"tree {id.ToShortString()}");
                    ctx.WriteJson(new JsonObject
                    {
                        ["id"] = id.ToString(),
                        ["nodes"] = new JsonArray(nodes.Select(n => (JsonNode)BrowseCommands.ToJson(n.Name, n)).ToArray()),
                    });
                }
                else
                {
                    await using var stdout = Console.OpenStandardOutput();
                    await stdout.WriteAsync(blob.Memory, ctx.Cancellation).ConfigureAwait(false);
                }
                break;
            }
            default:
                throw new UsageException($"cannot cat '{kind}': use config, index, snapshot, key, pack, blob or tree");
        }
        return ExitCodes.Ok;
    }

    private static JsonObject PackJson(ObjectId id, BlobType type, IEnumerable<(ObjectId Id, long Offset, int Stored, int Raw)> blobs) => new()
    {
        ["id"] = id.ToString(),
        ["type"] = type.ToString().ToLowerInvariant(),
        ["blobs"] = new JsonArray(blobs.Select(b => (JsonNode)new JsonObject
        {
            ["id"] = b.Id.ToString(), ["offset"] = b.Offset, ["stored_length"] = b.Stored, ["length"] = b.Raw,
        }).ToArray()),
    };

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

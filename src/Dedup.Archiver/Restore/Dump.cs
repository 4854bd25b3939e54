using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>Writes a file's content from a snapshot to a stream (the 'dump' verb), verifying each blob.</summary>
public static class Dump
{
    public static async Task WriteFileAsync(Repo repo, DomainId domain, TreeNode file, Stream output, CancellationToken ct = default)
    {
        if (file.Type != NodeType.File) throw new ArgumentException($"'{file.Name}' is a {file.Type}, not a file.");
        foreach (var id in file.Content)
        {
            using var blob = await repo.Blobs.ReadAsync(id, domain, ct).ConfigureAwait(false);
            await output.WriteAsync(blob.Memory, ct).ConfigureAwait(false);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}

using Dedup.Format;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Archiver.Restore;

/// <summary>Writes a file's content from a snapshot to a stream (the 'dump' verb), verifying each blob; read pack by pack, a window at a time.</summary>
public static class Dump
{
    public static async Task WriteFileAsync(Repo repo, DomainId domain, TreeNode file, Stream output, CancellationToken ct = default)
    {
        if (file.Type != NodeType.File) throw new ArgumentException($"'{file.Name}' is a {file.Type}, not a file.");
        await using (var content = new Dedup.Repository.ContentStream(repo.Blobs, repo.Streamer(), domain, file.Content))
            await content.CopyToAsync(output, 1 << 20, ct).ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}

using Dedup.Fuse;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Mount;

/// <summary>
/// 'dedup mount DIR': shows the repository's trusted snapshots read-only at DIR until the mount ends, either by
/// cancellation (Ctrl-C, SIGTERM) or by an unmount from outside (fusermount3 -u DIR). Runs in the foreground.
/// </summary>
public static class RepositoryMounter
{
    /// <summary>The line printed once the mount is ready, so scripts and tests can wait for it.</summary>
    public const string ReadyPrefix = "Mounted ";

    /// <param name="repo">An opened repository with its index loaded and a key that reads.</param>
    /// <param name="output">Progress for people: mounted, unmounted.</param>
    /// <param name="errors">One line per failed read (the reader gets EIO) and per snapshot left out.</param>
    public static async Task RunAsync(Repo repo, string mountPoint, MountOptions options, TextWriter output, TextWriter errors, CancellationToken ct)
    {
        var full = Path.GetFullPath(mountPoint);
        RefuseMountOverRepository(repo.Storage.Location, full);
        FuseMount.EnsureAvailable();
        var all = await repo.Snapshots.LoadAllAsync(
            (id, e) => Warn(errors, $"snapshot {id.ToShortString()} is damaged and not shown: {e.Message}"), ct).ConfigureAwait(false);
        int untrusted = all.Count(s => !SnapshotVisibility.MayShow(s));
        if (untrusted > 0) Warn(errors, $"{untrusted} untrusted snapshot(s) are not shown; 'dedup snapshots' lists them as UNTRUSTED");

        using var fs = new RepositoryFileSystem(repo, all, options);
        if (options.Hosts.Count > 0 && fs.Snapshots.Count == 0)
            Warn(errors, $"no trusted snapshot of host {string.Join(", ", options.Hosts)}; the mount is empty");
        using var mount = FuseMount.Mount(full, fs, new FuseMountOptions
        {
            AllowOther = options.AllowOther,
            OnError = (what, e) => Warn(errors, $"{what}: {e.Message}"),
        });
        int hosts = fs.Snapshots.Select(s => s.Info.Host).Distinct().Count();
        output.WriteLine($"{ReadyPrefix}{fs.Snapshots.Count} snapshot(s) of {hosts} host(s) read-only at {full}. Ctrl-C or 'fusermount3 -u {full}' unmounts.");
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        int result;
        try
        {
            result = await mount.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (mount.RequestUnmount() == UnmountOutcome.DetachedWhileBusy)
                output.WriteLine($"{full} is still in use: it is detached now and ends when the last program using it closes its files (Ctrl-C again stops at once).");
            result = await mount.Completion.ConfigureAwait(false);
        }
        // libfuse's loop ends with 0 when the mount went away, and with an error when the kernel connection failed.
        if (result != 0) throw new IOException($"the FUSE session at {full} failed (libfuse error {result}); unmount it with 'fusermount3 -u {full}' if it is still there");
        output.WriteLine($"Unmounted {full}.");
    }

    /// <summary>A local repository inside the mount point would be hidden by the mount, and its reads would go through it.</summary>
    private static void RefuseMountOverRepository(string location, string mountPoint)
    {
        if (!Path.IsPathFullyQualified(location)) return;
        var repo = Path.GetFullPath(location).TrimEnd('/') + "/";
        if (repo.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal))
            throw new ArgumentException($"the repository {location} is inside the mount point {mountPoint}; mount somewhere else");
    }

    private static void Warn(TextWriter errors, string line)
    {
        lock (errors) errors.WriteLine("dedup: " + line.ReplaceLineEndings(" "));
    }
}

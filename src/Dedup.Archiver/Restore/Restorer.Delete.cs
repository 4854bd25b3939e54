using Dedup.Archiver.Platform;
using Dedup.Format;

namespace Dedup.Archiver.Restore;

/// <summary>
/// --delete: after a directory's entries are restored, what else is in its target directory and within the restored
/// scope (not excluded, and selected by the includes, if any) is removed, so the target matches the snapshot. Only
/// directories the restore walks are looked at, one at a time, so memory is one directory's names. Symlinks are removed
/// themselves, never followed. An extra directory is emptied of what is in scope and removed only when that leaves it
/// empty: an excluded file inside it keeps it. A directory whose tree could not be read deletes nothing.
/// </summary>
public sealed partial class Restorer
{
    private long _deleted, _deletedBytes;

    private void DeleteExtras(List<TreeNode> entries, string snapDir, string fsDir)
    {
        // A directory this run created holds only what the run wrote; one that is not a real directory (missing in a
        // dry run, or a symlink) is not entered.
        if (_created.Contains(fsDir)) return;
        if (snapDir.Length == 0 ? !Directory.Exists(fsDir) : !(PosixFile.TryLStat(fsDir, out var st) && st.Type == NodeType.Directory)) return;
        var names = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var child in Directory.GetFileSystemEntries(fsDir))
        {
            var name = Path.GetFileName(child);
            if (names.Contains(name)) continue;
            // The temporary file of an entry still being written by a batch in flight.
            if (name.EndsWith(TempSuffix, StringComparison.Ordinal) && names.Contains(name[..^TempSuffix.Length])) continue;
            DeleteExtra(child, snapDir + "/" + name);
        }
    }

    /// <summary>Removes what is in scope at and below the path; true when nothing is left there.</summary>
    private bool DeleteExtra(string fsPath, string snapPath)
    {
        _ct.ThrowIfCancellationRequested();
        if (_excludes.Matches(snapPath)) return false;
        if (!PosixFile.TryLStat(fsPath, out var st)) return true;
        bool selected = _includes.IsEmpty || _includes.Matches(snapPath);
        try
        {
            if (st.Type == NodeType.Directory)
            {
                if (!selected && !_includes.CouldMatchBelow(snapPath)) return false;
                bool empty = true;
                foreach (var child in Directory.GetFileSystemEntries(fsPath))
                    empty &= DeleteExtra(child, snapPath + "/" + Path.GetFileName(child));
                if (!selected || !empty) return false;
                if (!_options.DryRun) Directory.Delete(fsPath);
            }
            else
            {
                if (!selected) return false;
                if (!_options.DryRun) File.Delete(fsPath); // a symlink itself, never its target
                if (st.Type == NodeType.File) Interlocked.Add(ref _deletedBytes, st.Size);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(snapPath, e);
            return false;
        }
        Interlocked.Increment(ref _deleted);
        Record(RestoreAction.Delete, snapPath, st.Type == NodeType.File ? st.Size : 0);
        return true;
    }
}

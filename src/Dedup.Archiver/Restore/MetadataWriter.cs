using Dedup.Archiver.Platform;
using Dedup.Format;

namespace Dedup.Archiver.Restore;

/// <summary>
/// Applies an entry's metadata to what was restored, in the one order that works: owner first (chown clears set-id bits
/// and security.capability), then extended attributes (before the mode: a read-only mode would forbid setting user.*
/// attributes without privileges; POSIX ACLs are among them, and the mode written after an ACL is the one it implies),
/// then the mode, then the times (everything before changes the ctime, never the mtime). Each failure is reported on its
/// own and the rest still applied: an attribute the target file system or the user's privileges refuse costs only that
/// attribute.
/// </summary>
internal sealed class MetadataWriter(bool owners, bool extendedAttributes, Action<string, Exception> fail)
{
    public void Apply(string path, TreeNode node)
    {
        Try(path, () =>
        {
            if (owners) PosixCalls.SetOwner(path, node.Uid, node.Gid);
        });
        if (extendedAttributes)
            foreach (var attribute in node.ExtendedAttributes)
                Try(path, () => ExtendedAttributes.Set(path, attribute));
        Try(path, () =>
        {
            if (node.Type != NodeType.Symlink) File.SetUnixFileMode(path, (UnixFileMode)(node.Mode & 0xFFF));
            PosixCalls.SetTimes(path, node.MTimeNs, node.MTimeNs);
        });
    }

    private void Try(string path, Action apply)
    {
        try
        {
            apply();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            fail(path, e);
        }
    }
}

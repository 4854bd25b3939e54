namespace Dedup.Format;

/// <summary>
/// Upper bounds a reader enforces on every length it reads from storage, so that a hostile object
/// cannot make the client allocate without limit. Writers never come near them.
/// </summary>
public static class Limits
{
    /// <summary>Largest blob (plaintext or stored). Chunks are at most 64 MiB; tree blobs are cut well below this.</summary>
    public const int MaxBlobSize = 64 * 1024 * 1024;
    /// <summary>Largest pack a reader accepts.</summary>
    public const long MaxPackSize = 4L * 1024 * 1024 * 1024;
    /// <summary>Largest index file or pack header plaintext.</summary>
    public const int MaxIndexSize = 256 * 1024 * 1024;
    public const int MaxNameBytes = 4096;
    public const int MaxLinkTargetBytes = 64 * 1024;
    public const int MaxUserNameBytes = 256;
    /// <summary>Linux's XATTR_NAME_MAX.</summary>
    public const int MaxXattrNameBytes = 255;
    /// <summary>Linux's XATTR_SIZE_MAX.</summary>
    public const int MaxXattrValueBytes = 64 * 1024;
    /// <summary>Extended attributes of one entry; Linux lists at most 64 KiB of names, so fewer than 9,400 fit.</summary>
    public const int MaxXattrCount = 16 * 1024;
    /// <summary>How deep a snapshot's directory tree may nest before a reader refuses it.</summary>
    public const int MaxTreeDepth = 512;
    public const int MaxSnapshotSize = 16 * 1024 * 1024;
}

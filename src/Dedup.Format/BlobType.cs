namespace Dedup.Format;

/// <summary>What a blob holds. Data and tree blobs go in separate packs.</summary>
public enum BlobType : byte
{
    Data = 0,
    Tree = 1,
}

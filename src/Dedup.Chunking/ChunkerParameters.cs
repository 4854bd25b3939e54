using System.Numerics;

namespace Dedup.Chunking;

/// <summary>
/// Chunk size bounds for <see cref="Chunker"/>. Chunk boundaries depend on every field, so a
/// repository must record the parameters it was created with; changing them loses deduplication
/// against existing data but never correctness.
/// </summary>
/// <param name="MinSize">No boundary is placed before this many bytes (cut-point skipping).</param>
/// <param name="AverageSize">Target size; a power of two because it selects the mask bit counts.</param>
/// <param name="MaxSize">A boundary is forced at this many bytes.</param>
public readonly record struct ChunkerParameters(int MinSize, int AverageSize, int MaxSize)
{
    /// <summary>Smallest allowed <see cref="MinSize"/>: the rolling hash needs a window to mix.</summary>
    public const int MinimumMinSize = 64;

    /// <summary>
    /// Largest allowed <see cref="MaxSize"/>. Bounds the StreamChunker buffer (2 * MaxSize) and
    /// keeps every chunk well inside the pack format's blob limits.
    /// </summary>
    public const int MaximumMaxSize = 64 * 1024 * 1024;

    /// <summary>
    /// 256 KiB / 1 MiB / 4 MiB, chosen by measurement (spec/chunking.md, "Default parameters"):
    /// a small edit costs about one mean chunk (~1.1 MiB) of new data; 512 KiB halves that but
    /// doubles the chunk count (index memory, per-blob overhead). MaxSize 8x gave identical
    /// results to 4x on random data, so 4x keeps the StreamChunker buffer at 8 MiB.
    /// </summary>
    public static ChunkerParameters Default { get; } = new(256 * 1024, 1024 * 1024, 4 * 1024 * 1024);

    /// <summary>log2(AverageSize); only meaningful after <see cref="Validate"/>.</summary>
    internal int AverageBits => BitOperations.Log2((uint)AverageSize);

    /// <summary>Throws <see cref="ArgumentException"/> describing the first violated constraint.</summary>
    public void Validate()
    {
        if (MinSize < MinimumMinSize)
        {
            throw new ArgumentException(
                $"Chunker MinSize must be at least {MinimumMinSize} bytes, got {MinSize}.");
        }

        if (!BitOperations.IsPow2(AverageSize))
        {
            throw new ArgumentException(
                $"Chunker AverageSize must be a power of two, got {AverageSize}.");
        }

        if (AverageSize <= MinSize)
        {
            throw new ArgumentException(
                $"Chunker AverageSize ({AverageSize}) must be greater than MinSize ({MinSize}).");
        }

        if (MaxSize <= AverageSize)
        {
            throw new ArgumentException(
                $"Chunker MaxSize ({MaxSize}) must be greater than AverageSize ({AverageSize}).");
        }

        if (MaxSize > MaximumMaxSize)
        {
            throw new ArgumentException(
                $"Chunker MaxSize must be at most {MaximumMaxSize} bytes (64 MiB), got {MaxSize}.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"min={MinSize} avg={AverageSize} max={MaxSize}";
}

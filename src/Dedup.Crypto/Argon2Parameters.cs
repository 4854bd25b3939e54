namespace Dedup.Crypto;

/// <summary>Argon2id cost parameters, stored per key file so they can be raised later without a format change.</summary>
public sealed record Argon2Parameters(int MemoryKiB, int Iterations, int Parallelism)
{
    /// <summary>64 MiB, 3 passes, 2 lanes: about 0.5 s on the reference 2-core machine with the managed implementation.</summary>
    public static Argon2Parameters Default { get; } = new(64 * 1024, 3, 2);

    /// <summary>Limits a reader enforces so that a hostile key file cannot demand unbounded memory or time.</summary>
    public const int MaxMemoryKiB = 4 * 1024 * 1024;
    public const int MaxIterations = 100;
    public const int MaxParallelism = 64;

    /// <summary>
    /// The most work a reader does for one key file unless told otherwise (spec "Reader limits"): 1 GiB, 16 passes,
    /// 16 lanes. Sixteen times the default memory, and about 10 s here; anything above it is refused before Argon2 runs,
    /// so a planted key file cannot make every command allocate gigabytes or spin for minutes.
    /// </summary>
    public static Argon2Parameters Ceiling { get; } = new(1024 * 1024, 16, 16);

    public void Validate()
    {
        if (Parallelism < 1 || Parallelism > MaxParallelism) throw new ArgumentException($"Argon2 parallelism must be 1..{MaxParallelism}.");
        if (MemoryKiB < 8 * Parallelism || MemoryKiB > MaxMemoryKiB) throw new ArgumentException($"Argon2 memory must be {8 * Parallelism}..{MaxMemoryKiB} KiB.");
        if (Iterations < 1 || Iterations > MaxIterations) throw new ArgumentException($"Argon2 iterations must be 1..{MaxIterations}.");
    }
}

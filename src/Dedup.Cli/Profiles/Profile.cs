namespace Dedup.Cli.Profiles;

/// <summary>
/// A named profile from the config file: what 'dedup -p NAME VERB' takes when neither an option nor the
/// environment says otherwise. It names a password file, never a password.
/// </summary>
public sealed record Profile
{
    public required string Name { get; init; }
    /// <summary>The config file it came from, for messages.</summary>
    public required string Source { get; init; }
    public string? Repository { get; init; }
    public string? PasswordFile { get; init; }
    public string? CacheDir { get; init; }
    public string? S3Region { get; init; }
    public string? S3StorageClass { get; init; }
    public int? S3Connections { get; init; }
    /// <summary>The key file to try first (full ID), as --key.</summary>
    public string? Key { get; init; }
    /// <summary>KiB/s, as --limit-upload and --limit-download.</summary>
    public long? LimitUploadKiB { get; init; }
    public long? LimitDownloadKiB { get; init; }

    // What 'backup' takes from the profile.
    public IReadOnlyList<string> Paths { get; init; } = [];
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public IReadOnlyList<string> ExcludeFiles { get; init; } = [];
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Host { get; init; }
    public bool? OneFileSystem { get; init; }

    /// <summary>What 'forget' keeps when no --keep-* option is given.</summary>
    public Retention Retention { get; init; } = new();

    public ProfileHooks Hooks { get; init; } = new();
}

public sealed record Retention
{
    public int? Last { get; init; }
    public int? Hourly { get; init; }
    public int? Daily { get; init; }
    public int? Weekly { get; init; }
    public int? Monthly { get; init; }
    public int? Yearly { get; init; }
    public TimeSpan? Within { get; init; }
    public IReadOnlyList<string> KeepTags { get; init; } = [];
    public IReadOnlyList<string>? GroupBy { get; init; }

    public bool IsEmpty => Last is null && Hourly is null && Daily is null && Weekly is null && Monthly is null && Yearly is null
                           && Within is null && KeepTags.Count == 0;
}

/// <summary>Shell commands run around a backup of the profile (see <see cref="HookRunner"/>).</summary>
public sealed record ProfileHooks
{
    public IReadOnlyList<string> Before { get; init; } = [];
    public IReadOnlyList<string> After { get; init; } = [];
    public IReadOnlyList<string> OnFailure { get; init; } = [];
    public IReadOnlyList<string> Always { get; init; } = [];

    public bool IsEmpty => Before.Count + After.Count + OnFailure.Count + Always.Count == 0;
}

using System.Text.Json.Serialization;

namespace Dedup.Format;

/// <summary>
/// The plaintext of a snapshot: JSON, encrypted inside the snapshot envelope
/// (spec/repository-format.md, "Snapshots").
/// </summary>
public sealed record SnapshotInfo
{
    [JsonPropertyName("time")] public required DateTimeOffset Time { get; init; }
    [JsonPropertyName("host")] public required string Host { get; init; }
    [JsonPropertyName("username")] public string Username { get; init; } = "";
    [JsonPropertyName("paths")] public required IReadOnlyList<string> Paths { get; init; }
    [JsonPropertyName("tags")] public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The tree blobs of the snapshot's root directory, in order.</summary>
    [JsonPropertyName("tree")] public required IReadOnlyList<string> Tree { get; init; }
    [JsonPropertyName("parent")] public string? Parent { get; init; }
    [JsonPropertyName("program_version")] public string ProgramVersion { get; init; } = "";
    /// <summary>True when some files could not be read and were left out.</summary>
    [JsonPropertyName("incomplete")] public bool Incomplete { get; init; }
    /// <summary>The backup marker (inflight/ID) this run wrote, so prune can tell the backup finished.</summary>
    [JsonPropertyName("session")] public string? Session { get; init; }
    /// <summary>For a snapshot made by 'copy', the ID of the snapshot it was copied from.</summary>
    [JsonPropertyName("original")] public string? Original { get; init; }
    [JsonPropertyName("excludes")] public IReadOnlyList<string> Excludes { get; init; } = [];
    [JsonPropertyName("summary")] public SnapshotSummary Summary { get; init; } = new();
}

public sealed record SnapshotSummary
{
    [JsonPropertyName("files_new")] public long FilesNew { get; init; }
    [JsonPropertyName("files_changed")] public long FilesChanged { get; init; }
    [JsonPropertyName("files_unmodified")] public long FilesUnmodified { get; init; }
    [JsonPropertyName("dirs_new")] public long DirsNew { get; init; }
    [JsonPropertyName("dirs_changed")] public long DirsChanged { get; init; }
    [JsonPropertyName("dirs_unmodified")] public long DirsUnmodified { get; init; }
    [JsonPropertyName("files_failed")] public long FilesFailed { get; init; }
    [JsonPropertyName("bytes_read")] public long BytesRead { get; init; }
    [JsonPropertyName("bytes_total")] public long BytesTotal { get; init; }
    [JsonPropertyName("bytes_added")] public long BytesAdded { get; init; }
    [JsonPropertyName("bytes_added_stored")] public long BytesAddedStored { get; init; }
    [JsonPropertyName("blobs_added")] public long BlobsAdded { get; init; }
    [JsonPropertyName("duration_seconds")] public double DurationSeconds { get; init; }
}

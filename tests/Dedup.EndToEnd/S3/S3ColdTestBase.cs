using Amazon.S3.Model;
using Dedup.Storage.S3;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// What the cold-storage tests share: the archive emulation's state folder (DEDUP_EMULATE_ARCHIVE, an emulation on
/// top of the real server: RGW keeps GLACIER objects readable and has no RestoreObject), the storage classes as the
/// admin's listing reports them, and files to back up.
/// </summary>
public abstract class S3ColdTestBase : S3TestBase
{
    protected readonly string EmulationState;

    protected S3ColdTestBase() => EmulationState = Cli.Dir.Combine("archive-emulation");

    protected Dictionary<string, string?> Emulated => new() { [ArchiveEmulatingStorage.EnvironmentVariable] = EmulationState };

    /// <summary>Key (under the prefix) → storage class, as the admin's listing reports it.</summary>
    protected static async Task<SortedDictionary<string, string>> ClassesAsync(string bucket, string prefix)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix + "/" };
        ListObjectsV2Response page;
        do
        {
            page = await s3.ListObjectsV2Async(request);
            foreach (var o in page.S3Objects ?? []) result[o.Key[(prefix.Length + 1)..]] = o.StorageClass?.Value is { Length: > 0 } c ? c : "STANDARD";
            request.ContinuationToken = page.NextContinuationToken;
        } while (page.IsTruncated == true);
        return result;
    }

    protected static void WriteFiles(string dir, int seed)
    {
        Directory.CreateDirectory(dir);
        for (int i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(dir, $"f{i}.bin"), RandomBytes(2 << 20, seed + i));
    }
}

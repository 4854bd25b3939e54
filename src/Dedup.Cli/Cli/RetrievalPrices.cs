using Dedup.Storage;

namespace Dedup.Cli.Cli;

/// <summary>
/// AWS S3's published retrieval prices, us-east-1, as listed on https://aws.amazon.com/s3/pricing/ and in AWS's
/// "manage data retrieval" knowledge-center article (read 2026-11-30). Other regions and providers differ: the plan
/// says they are AWS us-east-1 figures. GLACIER is S3 Glacier Flexible Retrieval; DEEP_ARCHIVE has no Expedited tier.
/// </summary>
public static class RetrievalPrices
{
    /// <param name="PerGb">USD per GB retrieved.</param>
    /// <param name="Per1000Requests">USD per 1,000 restore requests (one per pack).</param>
    /// <param name="Typical">How long AWS says a retrieval typically takes.</param>
    public sealed record Price(decimal PerGb, decimal Per1000Requests, string Typical);

    /// <summary>Null when the class has no such tier.</summary>
    public static Price? For(string storageClass, RetrievalTier tier) => (storageClass, tier) switch
    {
        ("GLACIER", RetrievalTier.Expedited) => new(0.03m, 10.00m, "1-5 minutes"),
        ("GLACIER", RetrievalTier.Standard) => new(0.01m, 0.05m, "3-5 hours"),
        ("GLACIER", RetrievalTier.Bulk) => new(0.00m, 0.00m, "5-12 hours"),
        ("DEEP_ARCHIVE", RetrievalTier.Standard) => new(0.02m, 0.10m, "within 12 hours"),
        ("DEEP_ARCHIVE", RetrievalTier.Bulk) => new(0.0025m, 0.025m, "within 48 hours"),
        _ => null,
    };

    /// <summary>Storage per GB-month (for the README's comparison): STANDARD 0.023, STANDARD_IA 0.0125, GLACIER_IR 0.004, GLACIER 0.0036, DEEP_ARCHIVE 0.00099.</summary>
    public static decimal StoragePerGbMonth(string storageClass) => storageClass switch
    {
        "STANDARD_IA" => 0.0125m,
        "GLACIER_IR" => 0.004m,
        "GLACIER" => 0.0036m,
        "DEEP_ARCHIVE" => 0.00099m,
        _ => 0.023m,
    };

    /// <summary>The cost of retrieving these objects (class, bytes) at a tier; null when some class lacks the tier.</summary>
    public static decimal? Cost(IEnumerable<(string StorageClass, long Bytes)> objects, RetrievalTier tier)
    {
        decimal total = 0;
        foreach (var (storageClass, bytes) in objects)
        {
            if (For(storageClass, tier) is not { } price) return null;
            total += price.PerGb * bytes / (1L << 30) + price.Per1000Requests / 1000m;
        }
        return total;
    }
}

using System.Text.Json.Nodes;
using Dedup.Cli.Commands;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>
/// Spec threat 34: no backup role may touch Object Lock. Every role explicitly denies changing or bypassing a retention,
/// legal holds, the bucket's default retention and version deletes, on the bucket and on every object of the prefix; the
/// admin role keeps them all. (S3RetentionTests applies the client policy to a radosgw user and shows the refusals.)
/// </summary>
public sealed class PolicyObjectLockTests
{
    public static TheoryData<string> Roles => PolicyStorageClassTests.Roles;

    private static IamPolicy For(string role) => PolicyStorageClassTests.For(role);

    private static IEnumerable<string> Resources(JsonNode node) => PolicyStorageClassTests.Resources(node);

    [Theory]
    [MemberData(nameof(Roles))]
    public void Every_backup_role_denies_every_retention_action_on_bucket_and_objects(string role)
    {
        var policy = For(role);
        var deny = Assert.Single(policy.Statement, s => s.Sid == "NeverTouchRetention");
        Assert.Equal("Deny", deny.Effect);
        Assert.Null(deny.Condition); // unconditional: no header or key can lift it
        foreach (var action in new[] { "s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:DeleteObjectVersion" })
            Assert.Contains(action, deny.Action);
        Assert.Equal(new HashSet<string> { "arn:aws:s3:::b", "arn:aws:s3:::b/repo/*" }, Resources(deny.Resource).ToHashSet());
        // Nothing the role allows grants one of them either.
        var allowed = policy.Statement.Where(s => s.Effect == "Allow").SelectMany(s => s.Action).ToList();
        Assert.DoesNotContain(allowed, a => PolicyCommand.RetentionActions.Contains(a) || a == "s3:*" || a == "s3:Delete*");
    }

    [Fact]
    public void The_admin_role_is_not_denied_what_retention_and_versioned_prune_use()
    {
        var policy = PolicyCommand.Admin("b", "repo");
        Assert.DoesNotContain(policy.Statement, s => s.Effect == "Deny");
        Assert.All(policy.Statement, s => Assert.Equal(["s3:*"], s.Action));
        Assert.Equal(new HashSet<string> { "arn:aws:s3:::b", "arn:aws:s3:::b/repo/*" }, policy.Statement.SelectMany(s => Resources(s.Resource)).ToHashSet());
    }
}

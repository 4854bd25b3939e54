using System.Text.Json.Nodes;
using Dedup.Cli.Commands;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>
/// Spec threat 29: a host that may put objects must not be able to put metadata in an archive storage class, which on
/// AWS answers every read with 403 and would stop the admin's forget and prune. Every role's policy refuses a put of
/// any object outside data/ that asks for a class other than STANDARD, and only those: packs may go cold.
/// (Ceph RGW ignores the condition key, so the refusal itself can only be shown on AWS; the S3 tests that apply these
/// policies to radosgw users show that the statement is accepted and refuses nothing Dedup does.)
/// </summary>
public sealed class PolicyStorageClassTests
{
    public static TheoryData<string> Roles => new() { "client", "write-only", "put-only" };

    internal static IamPolicy For(string role) => role switch
    {
        "client" => PolicyCommand.Client("b", "repo"),
        "write-only" => PolicyCommand.WriteOnly("b", "repo", [new string('a', 64)]),
        _ => PolicyCommand.PutOnly("b", "repo", withList: true, withMultipart: true),
    };

    internal static IEnumerable<string> Resources(JsonNode node) =>
        node is JsonArray a ? a.Select(n => n!.GetValue<string>()) : [node.GetValue<string>()];

    [Theory]
    [MemberData(nameof(Roles))]
    public void Every_put_outside_data_that_asks_for_another_class_is_refused(string role)
    {
        var policy = For(role);
        var deny = Assert.Single(policy.Statement, s => s.Sid == "MetadataStaysReadable");
        Assert.Equal("Deny", deny.Effect);
        Assert.Equal(["s3:PutObject"], deny.Action);
        Assert.Equal("STANDARD", deny.Condition!["StringNotEquals"]["s3:x-amz-storage-class"].GetValue<string>());
        Assert.Equal("false", deny.Condition["Null"]["s3:x-amz-storage-class"].GetValue<string>());

        var covered = Resources(deny.Resource).ToHashSet();
        Assert.DoesNotContain(covered, r => r.StartsWith("arn:aws:s3:::b/repo/data/", StringComparison.Ordinal));
        // Every prefix the role may create objects under, except data/, is covered; for the client (which may put
        // anywhere under the prefix) every metadata prefix of the layout.
        var allowedPuts = policy.Statement.Where(s => s.Effect == "Allow" && s.Action.Contains("s3:PutObject")).SelectMany(s => Resources(s.Resource));
        string[] expected = role == "client"
            ? ["config", "keys/*", "index/*", "snapshots/*", "inflight/*", "marks/*", "revocations/*", "tombstones/*"]
            : allowedPuts.Select(r => r["arn:aws:s3:::b/repo/".Length..]).Where(r => r != "data/*").ToArray();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(r => "arn:aws:s3:::b/repo/" + r).ToHashSet(), covered);
    }
}

using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Cli.Commands;
using Dedup.Storage;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Dedup.Tests.Cli;

/// <summary>
/// How 'dedup doctor' reads a credential probe: its table of what each role needs agrees with what 'dedup policy'
/// grants that role, the role it names is the narrowest the credentials keep to, and the overwrite warning appears
/// exactly when the server let a create-only put replace an object.
/// </summary>
public sealed class CredentialCheckTests
{
    private const string Bucket = "b", Prefix = "repo";

    /// <summary>Capability → (S3 action, object or bucket) as the probe exercises it on its canary under inflight/.</summary>
    private static readonly Dictionary<string, (string Action, string Resource)> Probed = new()
    {
        ["put"] = ("s3:PutObject", $"arn:aws:s3:::{Bucket}/{Prefix}/inflight/canary"),
        ["list"] = ("s3:ListBucket", $"arn:aws:s3:::{Bucket}"),
        ["read"] = ("s3:GetObject", $"arn:aws:s3:::{Bucket}/{Prefix}/inflight/canary"),
        ["delete"] = ("s3:DeleteObject", $"arn:aws:s3:::{Bucket}/{Prefix}/inflight/canary"),
    };

    /// <summary>
    /// A minimal reading of an IAM policy for one request carrying If-None-Match: allowed when an Allow statement
    /// matches and no Deny does (conditional Denies, which only refuse puts without If-None-Match, are left out).
    /// </summary>
    private static bool Allows(IamPolicy policy, string action, string resource)
    {
        bool Matches(PolicyStatement s) =>
            s.Action.Any(a => a == action || a == "s3:*")
            && (s.Resource is JsonArray many ? many.Select(r => r!.GetValue<string>()) : [s.Resource.GetValue<string>()])
                .Any(r => r == resource || (r.EndsWith('*') && resource.StartsWith(r[..^1], StringComparison.Ordinal)));
        return policy.Statement.Any(s => s.Effect == "Allow" && Matches(s))
               && !policy.Statement.Any(s => s.Effect == "Deny" && s.Condition is null && Matches(s));
    }

    [Theory]
    [InlineData("client")]
    [InlineData("write-only")]
    [InlineData("admin")]
    public void WhatEachRoleNeeds_IsWhatDedupPolicyGrantsIt(string role)
    {
        var policy = role switch
        {
            "client" => PolicyCommand.Client(Bucket, Prefix),
            "write-only" => PolicyCommand.WriteOnly(Bucket, Prefix, []),
            _ => PolicyCommand.Admin(Bucket, Prefix),
        };
        foreach (var (capability, (action, resource)) in Probed)
        {
            var need = CredentialCheck.NeedOf(role, capability);
            Assert.True(need != Need.Any, $"{role} {capability}");
            Assert.True((need == Need.Yes) == Allows(policy, action, resource), $"{role} {capability}: needs {need}, policy allows {Allows(policy, action, resource)}");
        }
        // No role needs an overwrite; only the admin, who may delete anyway, may have one.
        Assert.Equal(role == "admin" ? Need.Any : Need.No, CredentialCheck.NeedOf(role, "overwrite"));
    }

    private static readonly Gen<Capability> Cap = Gen.Elements(Capability.Allowed, Capability.Denied, Capability.NotTried);

    private static Arbitrary<CredentialReport> Reports() =>
        (from put in Cap
         from list in Cap
         from read in Cap
         from overwrite in Cap
         from tookEffect in Gen.Elements<bool?>(true, false, null)
         from delete in Cap
         select new CredentialReport("inflight/x", put, list, read, overwrite, tookEffect, delete)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property TheRoleNamed_IsTheNarrowestTheCredentialsKeepTo() =>
        Prop.ForAll(Reports(), r =>
        {
            var fits = CredentialCheck.Fits(r);
            string[] narrowToWide = ["put-only", "write-only", "client", "admin"];
            bool keepsTo(string role) => CredentialCheck.Exceeds(r, role).All(c => c == "overwrite");
            return (keepsTo(fits) && narrowToWide.TakeWhile(x => x != fits).All(x => !keepsTo(x))).Label($"{r} fits {fits}");
        });

    [Fact]
    public void Exceeds_AndMissing_NameTheCapabilities()
    {
        var admin = new CredentialReport("c", Capability.Allowed, Capability.Allowed, Capability.Allowed, Capability.Denied, false, Capability.Allowed);
        Assert.Equal(["delete"], CredentialCheck.Exceeds(admin, "client"));
        Assert.Equal(["list", "read", "delete"], CredentialCheck.Exceeds(admin, "put-only"));
        Assert.Empty(CredentialCheck.Missing(admin, "admin"));

        var blind = new CredentialReport("c", Capability.Allowed, Capability.Denied, Capability.Denied, Capability.Allowed, null, Capability.Denied);
        Assert.Equal("put-only", CredentialCheck.Fits(blind));
        Assert.Equal(["overwrite"], CredentialCheck.Exceeds(blind, "put-only"));
        Assert.Equal(["list", "read"], CredentialCheck.Missing(blind, "client"));
        // An accepted second put that left the original in place replaced nothing.
        var kept = blind with { OverwriteTookEffect = false };
        Assert.Empty(CredentialCheck.Exceeds(kept, "put-only"));
        Assert.Null(CredentialCheck.OverwriteWarning(kept));
    }

    [Fact]
    public void TheOverwriteWarning_SaysPlainlyWhatTheServerDid()
    {
        var replaced = new CredentialReport("c", Capability.Allowed, Capability.Allowed, Capability.Allowed, Capability.Allowed, true, Capability.Denied);
        Assert.StartsWith("warning: this server ignores the create-only condition on this bucket (Ceph RGW does on versioned buckets): a compromised client could replace objects",
            CredentialCheck.OverwriteWarning(replaced));
        Assert.Contains("cannot read back whether it replaced", CredentialCheck.OverwriteWarning(replaced with { OverwriteTookEffect = null }));
        Assert.Null(CredentialCheck.OverwriteWarning(replaced with { Overwrite = Capability.Denied, OverwriteTookEffect = false }));

        var rows = CredentialCheck.Table(replaced, "client").ToList();
        Assert.Matches(@"^capability +result +client +write-only +put-only +admin +verdict \(client\)$", rows[0]);
        Assert.Matches(@"^overwrite +ALLOWED: the object was replaced +no +no +no +may +TOO MUCH: client must not overwrite$", rows[4]);
        Assert.Matches(@"^delete +denied +no +no +no +yes +ok$", rows[5]);
    }
}

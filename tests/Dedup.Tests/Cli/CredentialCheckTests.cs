using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Cli.Commands;
using Dedup.Storage;
using Dedup.Storage.S3;
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

    private static readonly Gen<bool?> TookEffect = Gen.Elements<bool?>(true, false, null);

    private static Arbitrary<CredentialFindings> Findings() =>
        (from put in Cap
         from list in Cap
         from read in Cap
         from overwrite in Cap
         from tookEffect in TookEffect
         from delete in Cap
         from multipart in Cap
         from multipartTookEffect in TookEffect
         from copy in Cap
         from s3 in Gen.Elements(true, false)
         select new CredentialFindings(new CredentialReport("inflight/x", put, list, read, overwrite, tookEffect, delete),
             s3 ? new OverwriteRoutes(multipart, multipartTookEffect, copy) : null)).ToArbitrary();

    private static readonly string[] Overwrites = ["overwrite", CredentialCheck.MultipartOverwrite, CredentialCheck.CopyOntoItself];

    [Property(MaxTest = 300)]
    public Property TheRoleNamed_IsTheNarrowestTheCredentialsKeepTo() =>
        Prop.ForAll(Findings(), f =>
        {
            var fits = CredentialCheck.Fits(f);
            string[] narrowToWide = ["put-only", "write-only", "client", "admin"];
            bool keepsTo(string role) => CredentialCheck.Exceeds(f, role).All(Overwrites.Contains);
            return (keepsTo(fits) && narrowToWide.TakeWhile(x => x != fits).All(x => !keepsTo(x))).Label($"{f} fits {fits}");
        });

    [Property(MaxTest = 300)]
    public Property AWarning_NamesEveryRouteThatChangedAnExistingObject() =>
        Prop.ForAll(Findings(), f =>
        {
            var changed = Overwrites.Where(c => CredentialCheck.Result(f, c) == Capability.Allowed).ToList();
            var warnings = CredentialCheck.Warnings(f).ToList();
            bool named(string c) => c switch
            {
                "overwrite" => warnings.Any(w => w.Contains("create-only put") || w.Contains("ignores the create-only condition")),
                CredentialCheck.MultipartOverwrite => warnings.Any(w => w.Contains("multipart upload")),
                _ => warnings.Any(w => w.Contains("copying it onto itself")),
            };
            // Every route that changed an object is warned about, and nothing is warned about when none did.
            return (changed.All(named) && (changed.Count > 0 || warnings.Count == 0)).Label($"{f}: {string.Join(" | ", warnings)}");
        });

    [Fact]
    public void Exceeds_AndMissing_NameTheCapabilities()
    {
        var admin = new CredentialFindings(new CredentialReport("c", Capability.Allowed, Capability.Allowed, Capability.Allowed, Capability.Denied, false, Capability.Allowed), null);
        Assert.Equal(["delete"], CredentialCheck.Exceeds(admin, "client"));
        Assert.Equal(["list", "read", "delete"], CredentialCheck.Exceeds(admin, "put-only"));
        Assert.Empty(CredentialCheck.Missing(admin, "admin"));

        var blind = new CredentialFindings(new CredentialReport("c", Capability.Allowed, Capability.Denied, Capability.Denied, Capability.Allowed, null, Capability.Denied), null);
        Assert.Equal("put-only", CredentialCheck.Fits(blind));
        Assert.Equal(["overwrite"], CredentialCheck.Exceeds(blind, "put-only"));
        Assert.Equal(["list", "read"], CredentialCheck.Missing(blind, "client"));
        // An accepted second put that left the original in place replaced nothing.
        var kept = blind with { Probe = blind.Probe with { OverwriteTookEffect = false } };
        Assert.Empty(CredentialCheck.Exceeds(kept, "put-only"));
        Assert.Empty(CredentialCheck.Warnings(kept));

        // On S3 the other routes count too: a multipart completion that replaced the object and a copy that re-dated it.
        var rgw = kept with { Routes = new OverwriteRoutes(Capability.Allowed, true, Capability.Allowed) };
        Assert.Equal([CredentialCheck.MultipartOverwrite, CredentialCheck.CopyOntoItself], CredentialCheck.Exceeds(rgw, "put-only"));
        Assert.Equal("put-only", CredentialCheck.Fits(rgw));
        Assert.Empty(CredentialCheck.Exceeds(rgw with { Routes = new OverwriteRoutes(Capability.Allowed, false, Capability.Denied) }, "put-only"));
    }

    [Fact]
    public void TheOverwriteWarning_SaysPlainlyWhatTheServerDid()
    {
        var replaced = new CredentialReport("c", Capability.Allowed, Capability.Allowed, Capability.Allowed, Capability.Allowed, true, Capability.Denied);
        Assert.StartsWith("warning: this server ignores the create-only condition on this bucket (Ceph RGW does on versioned buckets): a compromised client could replace objects",
            CredentialCheck.OverwriteWarning(replaced));
        Assert.Contains("cannot read back whether it replaced", CredentialCheck.OverwriteWarning(replaced with { OverwriteTookEffect = null }));
        Assert.Null(CredentialCheck.OverwriteWarning(replaced with { Overwrite = Capability.Denied, OverwriteTookEffect = false }));

        var rows = CredentialCheck.Table(new CredentialFindings(replaced, null), "client").ToList();
        Assert.Matches(@"^capability +result +client +write-only +put-only +admin +verdict \(client\)$", rows[0]);
        Assert.Matches(@"^overwrite +ALLOWED: the object was replaced +no +no +no +may +TOO MUCH: client must not overwrite$", rows[4]);
        Assert.Matches(@"^multipart-overwrite +not tried \(S3 only\) +no +no +no +may +-$", rows[5]);
        Assert.Matches(@"^delete +denied +no +no +no +yes +ok$", rows[7]);

        var routes = CredentialCheck.Table(new CredentialFindings(replaced, new OverwriteRoutes(Capability.Allowed, null, Capability.Allowed)), "client").ToList();
        Assert.Matches(@"^multipart-overwrite +ACCEPTED \(cannot read back whether it replaced the object\) +no +no +no +may +TOO MUCH: client must not multipart-overwrite$", routes[5]);
        Assert.Matches(@"^copy-onto-itself +ALLOWED: the object was re-dated +no +no +no +may +TOO MUCH: client must not copy-onto-itself$", routes[6]);
        Assert.StartsWith("warning: this server lets these credentials complete a multipart upload over an existing object (these credentials cannot read back "
                          + "whether it replaced it), and re-date an object by copying it onto itself, despite the create-only condition",
            CredentialCheck.RoutesWarning(new OverwriteRoutes(Capability.Allowed, null, Capability.Allowed)));
    }
}

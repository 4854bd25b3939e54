using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Repository.Maintenance;
using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Cli.Commands;

/// <summary>
/// 'doctor': what the storage credentials in use can really do, tried on a canary object (issue 12, "Credentials,
/// checked"), next to what each role needs. No password: only the store is opened.
/// </summary>
public sealed class DoctorCommand : Verb
{
    private readonly Option<string> _expect = Opt.OneOf("expect",
        "the role these credentials are for: exit 5 if they can do more than it allows, 6 if they lack what it needs",
        [.. CredentialCheck.Roles]);

    public DoctorCommand() : base("doctor", "Check what the storage credentials can really do: create, list, read, overwrite, delete.", """
        Tries each on a canary object under inflight/ (the only objects it touches; credentials that cannot delete
        leave them there, and the admin's prune removes them). On S3 it also tries the other routes to change an
        object that exists, each create-only as a put: completing a multipart upload over it, and copying it onto
        itself (which re-dates it); and reads the bucket's versioning and Object Lock settings. It prints one
        table: the result, what each role needs, and the verdict against --expect (or against the narrowest role
        the credentials keep to). Roles, as 'dedup policy' grants them:
          client      put, list and read; never overwrite or delete
          write-only  put and list; read only config, index/, marks/, revocations/ and its own key; never delete
          put-only    put only
          admin       everything
        A server that accepted a create-only write over an existing object, by any route, is named with a warning:
        on such a bucket a compromised client could replace or re-date objects. So is a bucket with neither
        versioning nor Object Lock.
        Exit codes: 0 when the credentials can do nothing beyond what --expect allows (always, without --expect),
        5 when they can do more, 6 when they keep to it but lack something it needs. Needs no password.
        Example: AWS_PROFILE=web1 dedup -r s3:https://s3.example.net/backups/web1 doctor --expect write-only
        """)
    {
        Add(_expect);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var expect = ctx.Get(_expect);
        var report = await ProbeAsync(ctx, ctx.OpenStorage(), expect).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(report, CliJson.Default.CredentialsReport);
        return report.Exceeds.Count > 0 ? ExitCodes.CredentialsExceed
            : report.Missing.Count > 0 ? ExitCodes.CredentialsLack
            : ExitCodes.Ok;
    }

    /// <summary>
    /// Runs the probes with the store handle that can delete (so that deleting is really tried), reads the bucket's
    /// protection, and prints the table and warnings for people; the caller prints the JSON. 'init' uses it too.
    /// </summary>
    public static async Task<CredentialsReport> ProbeAsync(CliContext ctx, StorageHandle handle, string? expect)
    {
        var probe = await CredentialProbe.RunAsync(handle.Storage, BackupMarker.Prefix, ctx.Cancellation).ConfigureAwait(false);
        OverwriteRoutes? routes = null;
        BucketProtection? protection = null;
        if (handle.S3 is { } s3)
        {
            routes = await s3.ProbeOverwriteRoutesAsync(BackupMarker.Prefix, ctx.Cancellation).ConfigureAwait(false);
            protection = await s3.GetProtectionAsync(ctx.Cancellation).ConfigureAwait(false);
        }
        var findings = new CredentialFindings(probe, routes);
        var fits = CredentialCheck.Fits(findings);
        var role = expect ?? fits;
        var exceeds = expect is null ? [] : CredentialCheck.Exceeds(findings, expect);
        var missing = CredentialCheck.Missing(findings, role);
        var warnings = CredentialCheck.Warnings(findings).ToList();
        if (protection is { Versioning: not VersioningState.Enabled, ObjectLock: not ObjectLockState.Enabled } q)
            warnings.Add(q.Versioning == VersioningState.Unknown || q.ObjectLock == ObjectLockState.Unknown
                ? "warning: could not read the bucket's versioning and Object Lock settings with these credentials; make sure one is on, or a compromised client could overwrite backups"
                : "warning: the bucket has neither versioning nor Object Lock: a compromised client could overwrite backups; enable versioning (see the README)");

        ctx.Say($"credentials at {handle.Storage.Location}, tried on {probe.Canary}:");
        foreach (var line in CredentialCheck.Table(findings, role)) ctx.Say("  " + line);
        if (protection is { } p)
            ctx.Say($"bucket versioning: {StateName(p.Versioning)}, object lock: {StateName(p.ObjectLock)}");
        ctx.Say(expect is null ? $"these credentials keep to the {fits} role"
            : exceeds.Count > 0 ? $"these credentials can do more than {expect} allows: {string.Join(", ", exceeds)}"
            : missing.Count > 0 ? $"these credentials keep to {expect}, but lack what it needs: {string.Join(", ", missing)}"
            : $"these credentials keep to the {expect} role");
        foreach (var w in warnings) ctx.Warn(w);

        return new CredentialsReport(handle.Storage.Location, probe.Canary, CredentialCheck.Name(probe.Put), CredentialCheck.Name(probe.List),
            CredentialCheck.Name(probe.Read), CredentialCheck.Name(probe.Overwrite), probe.OverwriteTookEffect, CredentialCheck.Name(probe.Delete),
            routes is null ? null : new WriteRoutesJson(CredentialCheck.Name(routes.MultipartReplace), routes.MultipartTookEffect, CredentialCheck.Name(routes.CopyOntoItself)),
            protection?.Versioning is { } versioning ? StateName(versioning) : null, protection?.ObjectLock is { } objectLock ? StateName(objectLock) : null,
            fits, expect, exceeds, missing, warnings);
    }

    private static string StateName<T>(T state) where T : Enum => state.ToString().ToLowerInvariant();
}

/// <summary>
/// 'doctor --json', and 'credentials' in 'init --json': each capability allowed, denied or not_tried; write_routes (S3
/// only, left out elsewhere) are the other ways to change an object that exists.
/// </summary>
public sealed record CredentialsReport(
    string Location, string Canary, string Put, string List, string Read, string Overwrite, bool? OverwriteTookEffect, string Delete,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WriteRoutesJson? WriteRoutes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Versioning,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ObjectLock,
    string Fits, string? Expect, IReadOnlyList<string> Exceeds, IReadOnlyList<string> Missing, IReadOnlyList<string> Warnings)
{
    [JsonPropertyOrder(-1)] public string MessageType => "credentials";
}

/// <summary>A create-only multipart completion over the canary (and whether it then held the upload's bytes), and a create-only copy onto itself.</summary>
public sealed record WriteRoutesJson(string MultipartOverwrite, bool? MultipartTookEffect, string CopyOntoItself);

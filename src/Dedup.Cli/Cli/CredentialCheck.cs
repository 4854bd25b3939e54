using Dedup.Storage;
using Dedup.Storage.S3;

namespace Dedup.Cli.Cli;

/// <summary>What a role's credentials must (Yes), must not (No) or may (Any) be able to do.</summary>
public enum Need
{
    Yes,
    No,
    Any,
}

/// <summary>
/// What the probes found: the put probe (<see cref="CredentialProbe"/>, every store) and, on S3, the other write routes
/// that can replace or re-date an existing object (<see cref="S3Storage.ProbeOverwriteRoutesAsync"/>); null elsewhere.
/// </summary>
public sealed record CredentialFindings(CredentialReport Probe, OverwriteRoutes? Routes);

/// <summary>
/// Reads <see cref="CredentialFindings"/> against the four kinds of credentials the README and 'dedup policy' describe
/// (issue 12, "Credentials, checked"): which role's limits the credentials keep to, what they can do beyond a role,
/// and what a role needs that they cannot do. 'dedup doctor' and 'dedup init' print it.
/// </summary>
public static class CredentialCheck
{
    public static readonly IReadOnlyList<string> Roles = ["client", "write-only", "put-only", "admin"];

    /// <summary>The probes' capabilities, in the table's order.</summary>
    public static readonly IReadOnlyList<string> Capabilities = ["put", "list", "read", "overwrite", MultipartOverwrite, CopyOntoItself, "delete"];

    /// <summary>Completing a multipart upload over an existing object, create-only (S3 only).</summary>
    public const string MultipartOverwrite = "multipart-overwrite";

    /// <summary>Copying an object onto itself, create-only, which re-dates it (S3 only).</summary>
    public const string CopyOntoItself = "copy-onto-itself";

    /// <summary>The ways to change an object that exists: no role needs one, and a server that allows one is warned about.</summary>
    private static readonly string[] Overwrites = ["overwrite", MultipartOverwrite, CopyOntoItself];

    /// <summary>
    /// What each role needs of each capability, as 'dedup policy' grants it. The probe reads a canary under inflight/,
    /// which write-only credentials may not read (they read only config, index/, marks/, revocations/ and their own
    /// key file). Overwrite means a create-only put of an existing name replaced it, and the multipart and copy routes
    /// that a create-only write replaced or re-dated it: no role needs that, and only an admin (who may delete anyway)
    /// may have it.
    /// </summary>
    public static Need NeedOf(string role, string capability) => (role, capability) switch
    {
        (_, "put") => Need.Yes,
        ("admin", "overwrite" or MultipartOverwrite or CopyOntoItself) => Need.Any,
        ("admin", _) => Need.Yes,
        (_, "overwrite" or MultipartOverwrite or CopyOntoItself or "delete") => Need.No,
        ("put-only", _) => Need.No,
        ("write-only", "list") => Need.Yes,
        ("write-only", "read") => Need.No,
        ("client", _) => Need.Yes,
        _ => throw new ArgumentException($"unknown role or capability: {role} {capability}"),
    };

    /// <summary>
    /// Allowed, Denied or NotTried for one capability. A replacing route counts as allowed unless it is known that the
    /// original object stayed: when these credentials cannot read back, the accepted write is assumed to have replaced it.
    /// </summary>
    public static Capability Result(CredentialFindings f, string capability)
    {
        var (r, routes) = (f.Probe, f.Routes);
        return capability switch
        {
            "put" => r.Put,
            "list" => r.List,
            "read" => r.Read,
            "overwrite" => r.Overwrite == Capability.Allowed && r.OverwriteTookEffect == false ? Capability.Denied : r.Overwrite,
            MultipartOverwrite => routes is null ? Capability.NotTried
                : routes.MultipartReplace == Capability.Allowed && routes.MultipartTookEffect == false ? Capability.Denied : routes.MultipartReplace,
            CopyOntoItself => routes?.CopyOntoItself ?? Capability.NotTried,
            "delete" => r.Delete,
            _ => throw new ArgumentException($"unknown capability {capability}"),
        };
    }

    /// <summary>What the credentials can do that <paramref name="role"/> must not.</summary>
    public static IReadOnlyList<string> Exceeds(CredentialFindings f, string role) =>
        Capabilities.Where(c => NeedOf(role, c) == Need.No && Result(f, c) == Capability.Allowed).ToList();

    /// <summary>What <paramref name="role"/> needs that the credentials were refused.</summary>
    public static IReadOnlyList<string> Missing(CredentialFindings f, string role) =>
        Capabilities.Where(c => NeedOf(role, c) == Need.Yes && Result(f, c) == Capability.Denied).ToList();

    /// <summary>
    /// The narrowest role whose limits the credentials keep to, leaving the overwrites aside: they are the server's doing
    /// (it ignored the create-only condition on some route) more than the credentials', and are warned about on their own.
    /// </summary>
    public static string Fits(CredentialFindings f) =>
        new[] { "put-only", "write-only", "client" }.FirstOrDefault(role => Exceeds(f, role).All(Overwrites.Contains)) ?? "admin";

    public static string ResultText(CredentialFindings f, string capability)
    {
        var (r, routes) = (f.Probe, f.Routes);
        var (accepted, tookEffect) = capability switch
        {
            "overwrite" => (r.Overwrite == Capability.Allowed, r.OverwriteTookEffect),
            MultipartOverwrite => (routes?.MultipartReplace == Capability.Allowed, routes?.MultipartTookEffect),
            _ => (false, null),
        };
        if (accepted)
            return tookEffect switch
            {
                true => "ALLOWED: the object was replaced",
                false => "accepted, but the original stayed",
                null => "ACCEPTED (cannot read back whether it replaced the object)",
            };
        if (capability == CopyOntoItself && routes?.CopyOntoItself == Capability.Allowed) return "ALLOWED: the object was re-dated";
        return Result(f, capability) switch
        {
            Capability.Allowed => "allowed",
            // Refused by the create-only condition or for want of permission (a copy must read its source): the object stayed.
            Capability.Denied => Overwrites.Contains(capability) ? "refused" : "denied",
            _ when routes is null && capability is MultipartOverwrite or CopyOntoItself => "not tried (S3 only)",
            _ => "not tried",
        };
    }

    public static string NeedText(Need n) => n switch
    {
        Need.Yes => "yes",
        Need.No => "no",
        _ => "may",
    };

    /// <summary>One row per capability: result, what each role needs, and the verdict against <paramref name="role"/>.</summary>
    public static IEnumerable<string> Table(CredentialFindings f, string role)
    {
        string[] header = ["capability", "result", .. Roles, "verdict (" + role + ")"];
        var rows = new List<string[]> { header };
        foreach (var c in Capabilities)
        {
            var result = Result(f, c);
            var need = NeedOf(role, c);
            var verdict = result == Capability.NotTried ? (f.Routes is null && c is MultipartOverwrite or CopyOntoItself ? "-" : "not tried (put failed)")
                : need == Need.No && result == Capability.Allowed ? $"TOO MUCH: {role} must not {c}"
                : need == Need.Yes && result == Capability.Denied ? $"MISSING: {role} needs to {c}"
                : "ok";
            rows.Add([c, ResultText(f, c), .. Roles.Select(x => NeedText(NeedOf(x, c)) + (x == "write-only" && c == "read" ? " (1)" : "")), verdict]);
        }
        return Text.Table(rows).Append("(1) write-only credentials read only config, index/, marks/, revocations/ and their own key file; the canary is under inflight/");
    }

    /// <summary>The warnings for people: a put route and the other write routes that replaced or re-dated an object.</summary>
    public static IEnumerable<string> Warnings(CredentialFindings f)
    {
        if (OverwriteWarning(f.Probe) is { } put) yield return put;
        if (RoutesWarning(f.Routes) is { } routes) yield return routes;
    }

    /// <summary>
    /// The plain warning when the server let a create-only multipart completion replace an object or a create-only copy
    /// re-date it (Ceph RGW does both on every bucket): the append-only premise fails there.
    /// </summary>
    public static string? RoutesWarning(OverwriteRoutes? routes)
    {
        if (routes is null) return null;
        var accepted = new List<string>();
        if (routes.MultipartReplace == Capability.Allowed && routes.MultipartTookEffect != false)
            accepted.Add(routes.MultipartTookEffect == true ? "replace an existing object by completing a multipart upload over it"
                : "complete a multipart upload over an existing object (these credentials cannot read back whether it replaced it)");
        if (routes.CopyOntoItself == Capability.Allowed) accepted.Add("re-date an object by copying it onto itself");
        if (accepted.Count == 0) return null;
        return $"warning: this server lets these credentials {string.Join(", and ", accepted)}, despite the create-only condition (Ceph RGW does on "
               + "every bucket): a compromised client could replace or re-date objects, and a re-dated old snapshot counts as new; use versioning with "
               + "Object Lock, and know that this attack stays open (README, spec threat model row 12)";
    }

    /// <summary>The plain warning when the server accepted a second create-only put of the same name.</summary>
    public static string? OverwriteWarning(CredentialReport r)
    {
        if (r.Overwrite != Capability.Allowed || r.OverwriteTookEffect == false) return null;
        const string consequence = "a compromised client could replace objects; readers detect it and versioning keeps the old version, "
                                   + "but prefer a bucket policy that requires If-None-Match, or a store that enforces it";
        return r.OverwriteTookEffect == true
            ? $"warning: this server ignores the create-only condition on this bucket (Ceph RGW does on versioned buckets): {consequence}"
            : "warning: this server accepted a second create-only put of the same name (these credentials cannot read back whether it replaced "
              + $"the object), so it seems to ignore the create-only condition on this bucket (Ceph RGW does on versioned buckets): {consequence}";
    }

    public static string Name(Capability c) => c switch
    {
        Capability.Allowed => "allowed",
        Capability.Denied => "denied",
        _ => "not_tried",
    };
}

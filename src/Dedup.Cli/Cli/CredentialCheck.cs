using Dedup.Storage;

namespace Dedup.Cli.Cli;

/// <summary>What a role's credentials must (Yes), must not (No) or may (Any) be able to do.</summary>
public enum Need
{
    Yes,
    No,
    Any,
}

/// <summary>
/// Reads a <see cref="CredentialReport"/> against the four kinds of credentials the README and 'dedup policy' describe
/// (issue 12, "Credentials, checked"): which role's limits the credentials keep to, what they can do beyond a role,
/// and what a role needs that they cannot do. 'dedup doctor' and 'dedup init' print it.
/// </summary>
public static class CredentialCheck
{
    public static readonly IReadOnlyList<string> Roles = ["client", "write-only", "put-only", "admin"];

    /// <summary>The probe's five capabilities, in the table's order.</summary>
    public static readonly IReadOnlyList<string> Capabilities = ["put", "list", "read", "overwrite", "delete"];

    /// <summary>
    /// What each role needs of each capability, as 'dedup policy' grants it. The probe reads a canary under inflight/,
    /// which write-only credentials may not read (they read only config, index/, marks/, revocations/ and their own
    /// key file). Overwrite means a create-only put of an existing name replaced it: no role needs that, and only an
    /// admin (who may delete anyway) may have it.
    /// </summary>
    public static Need NeedOf(string role, string capability) => (role, capability) switch
    {
        (_, "put") => Need.Yes,
        ("admin", "overwrite") => Need.Any,
        ("admin", _) => Need.Yes,
        (_, "overwrite" or "delete") => Need.No,
        ("put-only", _) => Need.No,
        ("write-only", "list") => Need.Yes,
        ("write-only", "read") => Need.No,
        ("client", _) => Need.Yes,
        _ => throw new ArgumentException($"unknown role or capability: {role} {capability}"),
    };

    /// <summary>
    /// Allowed, Denied or NotTried for one capability. An overwrite counts as allowed unless it is known that the
    /// original object stayed: when these credentials cannot read back, the accepted put is assumed to have replaced it.
    /// </summary>
    public static Capability Result(CredentialReport r, string capability) => capability switch
    {
        "put" => r.Put,
        "list" => r.List,
        "read" => r.Read,
        "overwrite" => r.Overwrite == Capability.Allowed && r.OverwriteTookEffect == false ? Capability.Denied : r.Overwrite,
        "delete" => r.Delete,
        _ => throw new ArgumentException($"unknown capability {capability}"),
    };

    /// <summary>What the credentials can do that <paramref name="role"/> must not.</summary>
    public static IReadOnlyList<string> Exceeds(CredentialReport r, string role) =>
        Capabilities.Where(c => NeedOf(role, c) == Need.No && Result(r, c) == Capability.Allowed).ToList();

    /// <summary>What <paramref name="role"/> needs that the credentials were refused.</summary>
    public static IReadOnlyList<string> Missing(CredentialReport r, string role) =>
        Capabilities.Where(c => NeedOf(role, c) == Need.Yes && Result(r, c) == Capability.Denied).ToList();

    /// <summary>
    /// The narrowest role whose limits the credentials keep to, leaving the overwrite aside: that one is the server's
    /// doing (it ignored the create-only condition) more than the credentials', and is warned about on its own.
    /// </summary>
    public static string Fits(CredentialReport r) =>
        new[] { "put-only", "write-only", "client" }.FirstOrDefault(role => Exceeds(r, role).All(c => c == "overwrite")) ?? "admin";

    public static string ResultText(CredentialReport r, string capability)
    {
        if (capability == "overwrite" && r.Overwrite == Capability.Allowed)
            return r.OverwriteTookEffect switch
            {
                true => "ALLOWED: the object was replaced",
                false => "accepted, but the original stayed",
                null => "ACCEPTED (cannot read back whether it replaced the object)",
            };
        return Result(r, capability) switch
        {
            Capability.Allowed => "allowed",
            Capability.Denied => capability == "overwrite" ? "refused (create-only held)" : "denied",
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
    public static IEnumerable<string> Table(CredentialReport r, string role)
    {
        string[] header = ["capability", "result", .. Roles, "verdict (" + role + ")"];
        var rows = new List<string[]> { header };
        foreach (var c in Capabilities)
        {
            var result = Result(r, c);
            var need = NeedOf(role, c);
            var verdict = result == Capability.NotTried ? "not tried (put failed)"
                : need == Need.No && result == Capability.Allowed ? $"TOO MUCH: {role} must not {c}"
                : need == Need.Yes && result == Capability.Denied ? $"MISSING: {role} needs to {c}"
                : "ok";
            rows.Add([c, ResultText(r, c), .. Roles.Select(x => NeedText(NeedOf(x, c)) + (x == "write-only" && c == "read" ? " (1)" : "")), verdict]);
        }
        return Text.Table(rows).Append("(1) write-only credentials read only config, index/, marks/, revocations/ and their own key file; the canary is under inflight/");
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

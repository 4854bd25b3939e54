using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Keys;
using Dedup.Repository.Keys;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public static class KeyCommands
{
    public static VerbGroup Create() => new("key", "Manage the keys (passwords) that open the repository.",
        """
        Every full key opens the same data. A write-only key (key add --write-only --host NAME) can back up but never
        read backups; it deduplicates only within its own dedup domain, which is its own unless --group names a domain
        that several write-only keys share (they can then tell whether data is already there, so group only hosts
        that may know of each other's files). 'dedup key list' shows each key's domain.
        """,
        new KeyListCommand(), new KeyAddCommand(), new KeyRemoveCommand(), new KeyPasswdCommand());
}

public sealed class KeyListCommand : Verb
{
    public KeyListCommand() : base("list", "Show every key; '*' marks the one this command opened with.")
    {
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var keys = await KeyManager.ListAsync(repo, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(keys.Select(k => new KeyJson(k.Id.ToString(), k.Id.ToShortString(), k.Current, k.Kind, k.Host, k.Username, Text.Iso(k.Created),
                k.Domain)).ToList(), CliJson.Default.ListKeyJson);
            return ExitCodes.Ok;
        }
        var rows = new List<string[]> { new[] { " ", "ID", "Kind", "User", "Host", "Dedup domain", "Created" } };
        rows.AddRange(keys.Select(k => new[] { k.Current ? "*" : " ", k.Id.ToShortString(), k.Kind, k.Username, k.Host,
            k.Kind == "full" ? "repository" : k.Domain[..8], Text.LocalTime(k.Created) }));
        foreach (var line in Text.Table(rows)) ctx.Say(line);
        return ExitCodes.Ok;
    }
}

public sealed class KeyAddCommand : Verb
{
    private readonly Option<string> _newPasswordFile = Opt.Text("new-password-file", "FILE", "read the new password from FILE");
    private readonly Option<bool> _writeOnly = Opt.Flag("write-only", "a key that can back up but cannot decrypt anything");
    private readonly Option<string> _host = Opt.Text("host", "NAME", "the host recorded in the key (a write-only key may only back up as this host)");
    private readonly Option<string> _group = Opt.Text("group", "NAME",
        "with --write-only: share deduplication with the other keys of this group (they can then confirm each other's content)");
    private readonly Option<string> _user = Opt.Text("user", "NAME", "the user name recorded in the key");
    private readonly Option<string> _enroll = Opt.Text("enroll", "FILE",
        "with --write-only: also write FILE, the enrolment a put-only host backs up from ('dedup enroll FILE' there)");
    private readonly KdfOptions _kdf = new();

    public KeyAddCommand() : base("add", "Add a key with a new password (asked twice, or --new-password-file).", """
        --write-only makes a key that can back up but never read backups, bound to --host, in a dedup domain of its
        own, or with --group NAME in the domain of that group.
        With --json the result names the new key's full ID: give it to the host as --key ID (or DEDUP_KEY), and to
        'dedup policy --role write-only --key-id ID' so that its credentials may read that one key file.
        --enroll FILE also writes the enrolment of a put-only host (config and the new key file, no secret in clear):
        copy it to the host and run 'dedup enroll FILE' there; its credentials then need only 'dedup policy --role put-only'.
        """)
    {
        foreach (var o in new Option[] { _newPasswordFile, _writeOnly, _host, _group, _user, _enroll }.Concat(_kdf.All)) Add(o);
        OnlyWith(_group, _writeOnly, "--group is for write-only keys (--write-only): full keys share everything already");
        OnlyWith(_enroll, _writeOnly, "--enroll is for write-only keys (--write-only): a put-only host gets a write-only key");
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var kdf = _kdf.Read(ctx);
        var kind = ctx.Get(_writeOnly) ? KeyKind.WriteOnly : KeyKind.Full;
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        repo.Keys.RequireReadKey("create keys");
        using var password = Passwords.ForNewKey(ctx.Get(_newPasswordFile));
        var id = await KeyManager.AddAsync(repo, password.Memory, kind, ctx.Get(_host) ?? Environment.MachineName,
            ctx.Get(_user) ?? Environment.UserName, kdf, ctx.Get(_group), ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Get(_enroll) is { } enrolFile)
        {
            var enrolment = await Dedup.Repository.PutOnly.Enrollment.CreateAsync(repo, id, ctx.RepositoryUrl, ctx.Cancellation).ConfigureAwait(false);
            using var f = new FileStream(enrolFile, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            f.Write(enrolment.Serialize());
        }
        if (ctx.Json) ctx.WriteJson(new KeyAdded(id.ToString(), KeyFile.KindName(kind)), CliJson.Default.KeyAdded);
        else ctx.Say($"added {KeyFile.KindName(kind)} key {id.ToShortString()}");
        return ExitCodes.Ok;
    }
}

public sealed class KeyRemoveCommand : Verb
{
    private readonly Argument<string> _id;

    public KeyRemoveCommand() : base("remove", "Remove a key; not the one in use, nor the last full key. Needs credentials that can delete.",
        "A removed write-only key is revoked: snapshots it signs afterwards are untrusted.")
    {
        _id = Arg<string>("ID", "the key's ID or a unique prefix ('dedup key list')", ArgumentArity.ExactlyOne);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var reference = ctx.Get(_id)!;
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var keys = await KeyManager.ListAsync(repo, ctx.Cancellation).ConfigureAwait(false);
        var matches = keys.Where(k => k.Id.ToString().StartsWith(reference.ToLowerInvariant(), StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
            throw new UsageException(matches.Count == 0 ? $"no key has an ID starting with '{reference}'; 'dedup key list' shows them"
                : $"'{reference}' matches {matches.Count} keys; give more digits");
        await KeyMaintenance.RemoveAsync(repo, ctx.OpenStorage().Storage, matches[0].Id, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(new KeyRemoved(matches[0].Id.ToString()), CliJson.Default.KeyRemoved);
        else ctx.Say($"removed key {matches[0].Id.ToShortString()}");
        return ExitCodes.Ok;
    }
}

/// <summary>
/// A key's password cannot change in place (objects are immutable), so passwd writes the same secrets under the new
/// password as a new key file and deletes the old one. Delete permission is checked first, so that credentials that
/// cannot delete are refused before anything is written, instead of leaving both passwords valid.
/// </summary>
public sealed class KeyPasswdCommand : Verb
{
    private readonly Option<string> _newPasswordFile = Opt.Text("new-password-file", "FILE", "read the new password from FILE");
    private readonly KdfOptions _kdf = new();

    public KeyPasswdCommand() : base("passwd", "Change this key's password: adds a key with the new password, then removes the old key.")
    {
        Add(_newPasswordFile);
        foreach (var o in _kdf.All) Add(o);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var kdf = _kdf.Read(ctx);
        var storage = ctx.OpenStorage().Storage;
        await AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        using var oldPassword = ctx.RepositoryPassword(confirm: false);
        ObjectId oldId, newId;
        var hints = new KeyHints(ctx.KeyId, ctx.CacheDir, ctx.RepositoryUrl, remember: true);
        await using (var repo = await Repo.OpenAsync(storage, oldPassword.Memory, ct: ctx.Cancellation, options: hints.OpenOptions()).ConfigureAwait(false))
        {
            oldId = repo.KeyId;
            using var newPassword = Passwords.ForNewKey(ctx.Get(_newPasswordFile));
            if (newPassword.SameAs(oldPassword)) throw new UsageException("the new password is the same as the old one; nothing was changed");
            (newId, _) = await KeyMaintenance.ChangePasswordAsync(repo, newPassword.Memory, kdf, storage, ctx.Cancellation).ConfigureAwait(false);
        }
        hints.Remember(newId);
        if (ctx.Json) ctx.WriteJson(new PasswordChanged(oldId.ToString(), newId.ToString()), CliJson.Default.PasswordChanged);
        else ctx.Say($"password changed: key {oldId.ToShortString()} replaced by {newId.ToShortString()}");
        return ExitCodes.Ok;
    }
}

/// <summary>'key list --json'; domain is the dedup domain (hex), all zeros for full keys (the repository domain).</summary>
public sealed record KeyJson(string Id, string ShortId, bool Current, string Kind, string Host, string Username, string Created, string Domain);

public sealed record KeyAdded(string Id, string Kind)
{
    [JsonPropertyOrder(-1)] public string MessageType => "key_added";
}

public sealed record KeyRemoved(string Id)
{
    [JsonPropertyOrder(-1)] public string MessageType => "key_removed";
}

public sealed record PasswordChanged(string OldId, string Id)
{
    [JsonPropertyOrder(-1)] public string MessageType => "password_changed";
}

using System.Text.Json.Nodes;
using Dedup.Cli.Cli;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Storage;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

public static class KeyCommand
{
    public static readonly Verb Verb = new("key", "list | add | remove ID | passwd",
        "Manage the keys (passwords) that open the repository.",
        """
        list     show every key; '*' marks the one this command opened with
        add      add a key with a new password (asked twice, or --new-password-file)
                 --write-only makes a key that can back up but never read backups, bound to --host
        remove   remove a key; not the one in use, nor the last full key. Needs credentials that can delete.
        passwd   change this key's password: adds a key with the new password, then removes the old key
        """,
        [
            new("new-password-file", null, "FILE", "read the new password from FILE"),
            new("write-only", null, null, "add: a key that can back up but cannot decrypt anything"),
            new("host", null, "NAME", "add: the host recorded in the key (a write-only key may only back up as this host)"),
            new("group", null, "NAME", "add --write-only: share deduplication with the other keys of this group (they can then confirm each other's content)"),
            new("user", null, "NAME", "add: the user name recorded in the key"),
            .. InitCommand.KdfOptions,
        ],
        1, 2, RunAsync);

    private static Task<int> RunAsync(CliContext ctx)
    {
        var sub = ctx.Args.Positionals[0];
        int expected = sub == "remove" ? 2 : 1;
        if (ctx.Args.Positionals.Count != expected)
            throw new UsageException(sub == "remove" ? "key remove needs the key ID: dedup key remove ID" : $"'key {sub}' takes no further arguments");
        return sub switch
        {
            "list" => ListAsync(ctx),
            "add" => AddAsync(ctx),
            "remove" => RemoveAsync(ctx, ctx.Args.Positionals[1]),
            "passwd" => PasswdAsync(ctx),
            _ => throw new UsageException($"unknown key command '{sub}': use list, add, remove or passwd"),
        };
    }

    private static async Task<int> ListAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var keys = await KeyManager.ListAsync(repo, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json)
        {
            ctx.WriteJson(new JsonArray(keys.Select(k => (JsonNode)new JsonObject
            {
                ["id"] = k.Id.ToString(), ["short_id"] = k.Id.ToShortString(), ["current"] = k.Current, ["kind"] = k.Kind,
                ["host"] = k.Host, ["username"] = k.Username, ["created"] = Text.Iso(k.Created), ["domain"] = k.Domain,
            }).ToArray()));
            return ExitCodes.Ok;
        }
        var rows = new List<string[]> { new[] { " ", "ID", "Kind", "User", "Host", "Dedup domain", "Created" } };
        rows.AddRange(keys.Select(k => new[] { k.Current ? "*" : " ", k.Id.ToShortString(), k.Kind, k.Username, k.Host,
            k.Kind == "full" ? "repository" : k.Domain[..8], Text.LocalTime(k.Created) }));
        foreach (var line in Text.Table(rows)) ctx.Say(line);
        return ExitCodes.Ok;
    }

    private static async Task<int> AddAsync(CliContext ctx)
    {
        var kdf = InitCommand.Kdf(ctx.Args);
        var kind = ctx.Args.Has("write-only") ? KeyKind.WriteOnly : KeyKind.Full;
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        repo.Keys.RequireReadKey("create keys");
        using var password = Passwords.ForNewKey(ctx.Args);
        var group = ctx.Args.Get("group");
        if (group is not null && kind != KeyKind.WriteOnly) throw new UsageException("--group is for write-only keys: full keys share everything already");
        var id = await KeyManager.AddAsync(repo, password.Memory, kind, ctx.Args.Get("host") ?? Environment.MachineName,
            ctx.Args.Get("user") ?? Environment.UserName, kdf, group, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(new JsonObject { ["message_type"] = "key_added", ["id"] = id.ToString(), ["kind"] = KeyFile.KindName(kind) });
        else ctx.Say($"added {KeyFile.KindName(kind)} key {id.ToShortString()}");
        return ExitCodes.Ok;
    }

    private static async Task<int> RemoveAsync(CliContext ctx, string reference)
    {
        var repo = await ctx.OpenRepositoryAsync().ConfigureAwait(false);
        var keys = await KeyManager.ListAsync(repo, ctx.Cancellation).ConfigureAwait(false);
        var matches = keys.Where(k => k.Id.ToString().StartsWith(reference.ToLowerInvariant(), StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
            throw new UsageException(matches.Count == 0 ? $"no key has an ID starting with '{reference}'; 'dedup key list' shows them"
                : $"'{reference}' matches {matches.Count} keys; give more digits");
        await Dedup.Maintenance.Keys.KeyMaintenance.RemoveAsync(repo, ctx.OpenStorage().Storage, matches[0].Id, ctx.Cancellation).ConfigureAwait(false);
        if (ctx.Json) ctx.WriteJson(new JsonObject { ["message_type"] = "key_removed", ["id"] = matches[0].Id.ToString() });
        else ctx.Say($"removed key {matches[0].Id.ToShortString()}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// A key's password cannot change in place (objects are immutable), so passwd writes the same secrets under the new
    /// password as a new key file and deletes the old one. Delete permission is checked first, so that credentials that
    /// cannot delete are refused before anything is written, instead of leaving both passwords valid.
    /// </summary>
    private static async Task<int> PasswdAsync(CliContext ctx)
    {
        var kdf = InitCommand.Kdf(ctx.Args);
        var storage = ctx.OpenStorage().Storage;
        await Dedup.Maintenance.AdminAccess.RequireDeleteAsync(storage, ctx.Cancellation).ConfigureAwait(false);
        using var oldPassword = Passwords.ForRepository(ctx.Args, confirm: false);
        ObjectId oldId, newId;
        await using (var repo = await Repo.OpenAsync(storage, oldPassword.Memory, ct: ctx.Cancellation).ConfigureAwait(false))
        {
            oldId = repo.KeyId;
            using var newPassword = Passwords.ForNewKey(ctx.Args);
            if (newPassword.SameAs(oldPassword)) throw new UsageException("the new password is the same as the old one; nothing was changed");
            (newId, _) = await Dedup.Maintenance.Keys.KeyMaintenance.ChangePasswordAsync(repo, newPassword.Memory, kdf, storage, ctx.Cancellation).ConfigureAwait(false);
        }
        if (ctx.Json) ctx.WriteJson(new JsonObject { ["message_type"] = "password_changed", ["old_id"] = oldId.ToString(), ["id"] = newId.ToString() });
        else ctx.Say($"password changed: key {oldId.ToShortString()} replaced by {newId.ToShortString()}");
        return ExitCodes.Ok;
    }
}

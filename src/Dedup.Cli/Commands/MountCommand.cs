using System.CommandLine;
using Dedup.Cli.Cli;
using Dedup.Mount;

namespace Dedup.Cli.Commands;

/// <summary>'mount': the verb's options; <see cref="RepositoryMounter"/> does the work.</summary>
public sealed class MountCommand : Verb
{
    private readonly Argument<string> _dir;
    private readonly Option<string[]> _host = Opt.List("host", "NAME[,NAME]", "show only the snapshots of these hosts");
    private readonly Option<bool> _allowOther = Opt.Flag("allow-other", "let other users in (needs user_allow_other in /etc/fuse.conf unless root)");

    public MountCommand() : base("mount", "Show the repository's snapshots read-only at DIR (FUSE), until Ctrl-C or 'fusermount3 -u DIR'.", """
        DIR must be an existing directory. The layout follows restic's:
          latest                      link to the newest snapshot
          snapshots/TIME/...          every snapshot by time (local, ISO 8601), and snapshots/latest
          hosts/HOST/TIME/...         by host, each with its own latest
          tags/TAG/TIME/...           by tag, each with its own latest
          ids/ID/...                  by short snapshot ID
        Under each snapshot are the paths it backed up, with their stored modes, owners and times; the kernel checks
        permissions by them. Untrusted snapshots are not shown. Needs FUSE 3 (Debian: apt-get install fuse3).
        Example: dedup mount /mnt/backup, then in another terminal: cp -a /mnt/backup/latest/etc/hosts /tmp/
        """)
    {
        _dir = Arg<string>("DIR", "an existing, empty directory to mount at", ArgumentArity.ExactlyOne);
        Add(_host);
        Add(_allowOther);
    }

    public override async Task<int> RunAsync(CliContext ctx)
    {
        var repo = await ctx.OpenRepositoryAsync(loadIndex: true, reads: "show snapshot contents").ConfigureAwait(false);
        var options = new MountOptions { Hosts = (ctx.Get(_host) ?? []).SelectMany(h => h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList(), AllowOther = ctx.Get(_allowOther) };
        await RepositoryMounter.RunAsync(repo, ctx.Get(_dir)!, options, ctx.Out, ctx.Error, ctx.Cancellation).ConfigureAwait(false);
        return ExitCodes.Ok;
    }
}

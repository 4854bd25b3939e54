using System.CommandLine;
using Dedup.Cli.Cli;
using Dedup.Repository.PutOnly;
using Repo = Dedup.Repository.Repository;

namespace Dedup.Cli.Commands;

/// <summary>'dedup enroll FILE': a put-only host installs the enrolment the admin wrote (spec 21.1).</summary>
public sealed class EnrollCommand : Verb
{
    private readonly Argument<string> _file;

    public EnrollCommand() : base("enroll", "Install an enrolment file, so that this host backs up without reading the repository.", """
        FILE comes from 'dedup key add --write-only --host H --enroll FILE' on the admin host. It holds the config and
        this host's key file (sealed under its password). Installed for the repository URL (-r or DEDUP_REPOSITORY)
        under $XDG_STATE_HOME/dedup (DEDUP_STATE_DIR); from then on every command for that URL opens from it and never
        reads the repository. '--enrollment FILE' uses a file without installing it. Needs no password.
        """)
    {
        _file = Arg<string>("FILE", "the enrolment file the admin wrote", ArgumentArity.ExactlyOne);
    }

    public override Task<int> RunAsync(CliContext ctx)
    {
        var file = ctx.Get(_file)!;
        if (!File.Exists(file)) throw new UsageException($"no enrolment file '{file}'; the admin writes it with 'dedup key add --write-only --enroll FILE'");
        var enrolment = Enrollment.Parse(File.ReadAllBytes(file), file);
        var installed = LocalState.Install(LocalState.DefaultBase(), ctx.RepositoryUrl, enrolment);
        if (ctx.Json)
            ctx.WriteJson(new Enrolled(enrolment.KeyId.ToString(), enrolment.RepositoryId.ToString(), ctx.RepositoryUrl, installed), CliJson.Default.Enrolled);
        else
            ctx.Say($"enrolled: key {enrolment.KeyId.ToShortString()} of repository {enrolment.RepositoryId.ToShortString()} for {ctx.RepositoryUrl} ({installed})");
        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>'snapshots' on a put-only host: what it stored, from its local state (it cannot list the repository).</summary>
    /// <param name="filter">Which of the host's snapshots to show, in which order (the 'snapshots' filters).</param>
    public static int ListLocal(CliContext ctx, Repo repo, Func<IEnumerable<LocalSnapshot>, List<LocalSnapshot>> filter)
    {
        var mine = filter(LocalState.ListSnapshots(LocalState.DefaultBase(), repo.Keys.RepositoryId));
        if (ctx.Json)
            ctx.WriteJson(mine.Select(s => new LocalSnapshotJson(s.Id, s.Id[..8], Text.Iso(s.Time), s.Host, s.Paths, s.Tags, s.FilesNew, s.FilesChanged,
                s.BytesAdded)).ToList(), CliJson.Default.ListLocalSnapshotJson);
        else
        {
            var rows = new List<string[]> { new[] { "ID", "Time", "Host", "Paths", "Added" } };
            rows.AddRange(mine.Select(s => new[] { s.Id[..8], Text.LocalTime(s.Time), s.Host, string.Join(",", s.Paths), Text.Bytes(s.BytesAdded) }));
            foreach (var line in Text.Table(rows)) ctx.Say(line);
            ctx.Say($"{mine.Count} snapshots this host stored (from its local state)");
        }
        return ExitCodes.Ok;
    }
}

public sealed record Enrolled(string KeyId, string RepositoryId, string Repository, string InstalledAt);

/// <summary>A snapshot a put-only host stored, as its local state remembers it.</summary>
public sealed record LocalSnapshotJson(string Id, string ShortId, string Time, string Host, IReadOnlyList<string> Paths, IReadOnlyList<string> Tags,
    long FilesNew, long FilesChanged, long BytesAdded);

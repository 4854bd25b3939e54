using System.CommandLine;
using Dedup.Cli.Commands;

namespace Dedup.Cli;

/// <summary>
/// The verbs, in the order 'dedup help' lists them. A new verb is its own file (its options, rules, help and result
/// records), a line here, and its result records' lines in <see cref="CliJson"/>.
/// </summary>
public static class Verbs
{
    public static IReadOnlyList<Command> All { get; } =
    [
        new InitCommand(), new BackupCommand(), new SnapshotsCommand(), new RestoreCommand(), new LsCommand(), new DiffCommand(), new FindCommand(), new StatsCommand(), new DumpCommand(), new MountCommand(),
        new CheckCommand(), new ForgetCommand(), new PruneCommand(), RetentionCommands.Create(), new CopyCommand(), new RollbackCommand(), RepairCommands.Create(), KeyCommands.Create(),
        CatCommands.Create(), new PolicyCommand(), new DoctorCommand(), new EnrollCommand(), new StatusCommand(), ScheduleCommands.Create(), CompletionCommands.Create(), new VersionCommand(), new HelpCommand(),
    ];
}

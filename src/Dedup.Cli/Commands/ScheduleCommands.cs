using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Dedup.Cli.Cli;
using Dedup.Cli.Profiles;

namespace Dedup.Cli.Commands;

/// <summary>'schedule': systemd service and timer units that run a profile's verb on a calendar.</summary>
public static partial class ScheduleCommands
{
    public static readonly string[] ScheduledVerbs = ["backup", "forget", "prune", "check"];

    public static VerbGroup Create() => new("schedule", "Run a profile on a schedule with systemd timers.", """
        'dedup schedule install home --daily 02:30' writes dedup-backup-home.service and dedup-backup-home.timer,
        which run 'dedup -p home backup' every day at 02:30 (a missed run starts at the next boot), and enables the
        timer. As root the units go to /etc/systemd/system, otherwise (or with --user) to ~/.config/systemd/user.
        Stopping the service sends SIGTERM: dedup stops cleanly and the profile's on-failure and always hooks run.
        """,
        new ScheduleInstall(), new ScheduleShow(), new ScheduleRemove());

    /// <summary>The options every schedule sub-command shares, and the units they describe.</summary>
    private sealed class Target
    {
        public readonly Argument<string> Profile = new("PROFILE") { Description = "the profile to run ('dedup help profiles')", Arity = ArgumentArity.ExactlyOne };
        public readonly Option<string> Verb = Opt.OneOf("verb", "what the timer runs (default backup)", ScheduledVerbs);
        public readonly Option<bool> User = Opt.Flag("user", "a user unit (the default when not root)");
        public readonly Option<string> UnitDir = Opt.Text("unit-dir", "DIR", "write the units here instead of systemd's folder (nothing is enabled)");

        public void AddTo(Cli.Verb verb, bool withVerb = true)
        {
            verb.Arguments.Add(Profile);
            if (withVerb) verb.Options.Add(Verb);
            verb.Options.Add(User);
            verb.Options.Add(UnitDir);
        }

        public bool IsUser(CliContext ctx) => ctx.Get(User) || !Environment.IsPrivilegedProcess;

        public string Directory(CliContext ctx) => ctx.Get(UnitDir) ?? (IsUser(ctx)
            ? Path.Join(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } c ? c
                : Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "systemd", "user")
            : "/etc/systemd/system");

        public string UnitName(CliContext ctx) => $"dedup-{ctx.Get(Verb) ?? "backup"}-{ctx.Get(Profile)}";
    }

    private sealed class ScheduleInstall : Cli.Verb
    {
        private readonly Target _target = new();
        private readonly Option<string> _daily = Opt.Text("daily", "HH:MM", "every day at this time (local)");
        private readonly Option<bool> _hourly = Opt.Flag("hourly", "every hour");
        private readonly Option<string> _onCalendar = Opt.Text("on-calendar", "SPEC", "a systemd calendar expression, e.g. 'Mon..Fri 22:00'");
        private readonly Option<bool> _noEnable = Opt.Flag("no-enable", "write the units but do not enable the timer");

        public ScheduleInstall() : base("install", "Write (and enable) a service and timer that run the profile's verb.", "Give one of --daily, --hourly or --on-calendar.")
        {
            _target.AddTo(this);
            foreach (var o in new Option[] { _daily, _hourly, _onCalendar, _noEnable }) Add(o);
            NotTogether(_daily, _hourly);
            NotTogether(_daily, _onCalendar);
            NotTogether(_hourly, _onCalendar);
        }

        public override async Task<int> RunAsync(CliContext ctx)
        {
            var units = Units.For(ctx, _target, Calendar(ctx));
            var dir = _target.Directory(ctx);
            Directory.CreateDirectory(dir);
            var service = Path.Join(dir, units.Name + ".service");
            var timer = Path.Join(dir, units.Name + ".timer");
            await File.WriteAllTextAsync(service, units.Service, ctx.Cancellation).ConfigureAwait(false);
            await File.WriteAllTextAsync(timer, units.Timer, ctx.Cancellation).ConfigureAwait(false);
            bool enable = !ctx.Get(_noEnable) && ctx.Get(_target.UnitDir) is null && SystemdRuns();
            if (enable)
            {
                Systemctl(ctx, _target.IsUser(ctx), "daemon-reload");
                Systemctl(ctx, _target.IsUser(ctx), "enable", "--now", units.Name + ".timer");
            }
            if (ctx.Json) ctx.WriteJson(new ScheduleInstalled(service, timer, units.Calendar, enable), CliJson.Default.ScheduleInstalled);
            else
            {
                ctx.Say($"wrote {service} and {timer} ({units.Calendar})");
                ctx.Say(enable ? $"timer enabled; 'systemctl{(_target.IsUser(ctx) ? " --user" : "")} list-timers {units.Name}.timer' shows the next run"
                    : $"enable it with: systemctl{(_target.IsUser(ctx) ? " --user" : "")} daemon-reload && systemctl{(_target.IsUser(ctx) ? " --user" : "")} enable --now {units.Name}.timer");
            }
            return ExitCodes.Ok;
        }

        private string Calendar(CliContext ctx)
        {
            if (ctx.Get(_daily) is { } daily)
            {
                if (!DailyTime().IsMatch(daily)) throw new UsageException($"--daily takes a time as HH:MM (00:00 to 23:59), not '{daily}'");
                return $"*-*-* {daily}:00";
            }
            if (ctx.Get(_hourly)) return "hourly";
            if (ctx.Get(_onCalendar) is { } spec)
            {
                if (spec.Length == 0 || spec.Any(char.IsControl) || spec.Contains('%'))
                    throw new UsageException($"--on-calendar takes a systemd calendar expression, not '{spec}'");
                return spec;
            }
            throw new UsageException("give --daily HH:MM, --hourly or --on-calendar SPEC");
        }
    }

    private sealed class ScheduleShow : Cli.Verb
    {
        private readonly Target _target = new();

        public ScheduleShow() : base("show", "Print the service and timer units that 'install' would write, for a daily run at 02:30.")
        {
            _target.AddTo(this);
        }

        public override Task<int> RunAsync(CliContext ctx)
        {
            var units = Units.For(ctx, _target, "*-*-* 02:30:00");
            ctx.Out.WriteLine($"# {units.Name}.service");
            ctx.Out.Write(units.Service);
            ctx.Out.WriteLine($"# {units.Name}.timer");
            ctx.Out.Write(units.Timer);
            return Task.FromResult(ExitCodes.Ok);
        }
    }

    private sealed class ScheduleRemove : Cli.Verb
    {
        private readonly Target _target = new();

        public ScheduleRemove() : base("remove", "Disable the timer and delete the units 'install' wrote.")
        {
            _target.AddTo(this);
        }

        public override Task<int> RunAsync(CliContext ctx)
        {
            var name = _target.UnitName(ctx);
            var dir = _target.Directory(ctx);
            var files = new[] { Path.Join(dir, name + ".timer"), Path.Join(dir, name + ".service") };
            if (!files.Any(File.Exists)) throw new UsageException($"there is no {name}.timer in {dir}");
            if (ctx.Get(_target.UnitDir) is null && SystemdRuns()) Systemctl(ctx, _target.IsUser(ctx), "disable", "--now", name + ".timer");
            foreach (var f in files) File.Delete(f);
            ctx.Say($"removed {string.Join(" and ", files)}");
            return Task.FromResult(ExitCodes.Ok);
        }
    }

    /// <summary>The two unit files for one profile and verb.</summary>
    private sealed record Units(string Name, string Calendar, string Service, string Timer)
    {
        public static Units For(CliContext ctx, Target target, string calendar)
        {
            var profile = ctx.Get(target.Profile)!;
            ConfigFile.Load(profile); // refuses a profile that does not exist, before anything is written
            var verb = ctx.Get(target.Verb) ?? "backup";
            var name = $"dedup-{verb}-{profile}";
            var user = target.IsUser(ctx);
            var config = Environment.GetEnvironmentVariable("DEDUP_CONFIG") is { Length: > 0 } c ? Path.GetFullPath(c) : null;
            var service = $"""
                # Written by 'dedup schedule install {profile}'; 'dedup schedule remove {profile}' removes it.
                [Unit]
                Description=dedup {verb} of profile {profile}
                {(user ? "" : "Wants=network-online.target\nAfter=network-online.target\n")}
                [Service]
                Type=oneshot
                ExecStart={ExecStart(profile, verb)}
                {(config is null ? "" : $"Environment={Quote("DEDUP_CONFIG=" + config)}\n")}Nice=10
                IOSchedulingClass=idle
                # Stopping sends SIGTERM: dedup stops cleanly and the profile's on-failure and always hooks still run.
                TimeoutStopSec=15min

                """;
            var timer = $"""
                # Written by 'dedup schedule install {profile}'; 'dedup schedule remove {profile}' removes it.
                [Unit]
                Description=dedup {verb} of profile {profile} ({calendar})

                [Timer]
                OnCalendar={calendar}
                Persistent=true
                RandomizedDelaySec=60

                [Install]
                WantedBy=timers.target

                """;
            return new Units(name, calendar, service.Replace("\n\n\n", "\n\n", StringComparison.Ordinal), timer);
        }

        /// <summary>This very binary: the native one, or 'dotnet dedup.dll' when a runtime runs it.</summary>
        private static string ExecStart(string profile, string verb)
        {
            var process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell where dedup runs from");
            var command = Path.GetFileNameWithoutExtension(process) == "dotnet"
                ? $"{Quote(process)} {Quote(Path.Join(AppContext.BaseDirectory, "dedup.dll"))}"
                : Quote(process);
            return $"{command} -p {profile} {verb}";
        }

        /// <summary>systemd's quoting: double quotes, with backslash, quote and '%' escaped.</summary>
        private static string Quote(string s) =>
            s.Any(c => c is ' ' or '"' or '\\' or '%' or '$') ? "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("%", "%%").Replace("$", "$$") + "\"" : s;
    }

    private static bool SystemdRuns() => Directory.Exists("/run/systemd/system");

    private static void Systemctl(CliContext ctx, bool user, params string[] args)
    {
        var psi = new ProcessStartInfo("systemctl") { UseShellExecute = false };
        if (user) psi.ArgumentList.Add("--user");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start systemctl");
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"'systemctl {(user ? "--user " : "")}{string.Join(' ', args)}' failed with exit code {p.ExitCode}");
        ctx.Cancellation.ThrowIfCancellationRequested();
    }

    [GeneratedRegex("^([01]?[0-9]|2[0-3]):[0-5][0-9]$")]
    private static partial Regex DailyTime();
}

public sealed record ScheduleInstalled(string Service, string Timer, string OnCalendar, bool Enabled)
{
    [JsonPropertyOrder(-1)] public string MessageType => "schedule_installed";
}

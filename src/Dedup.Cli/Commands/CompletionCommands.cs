using System.CommandLine;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;

namespace Dedup.Cli.Commands;

/// <summary>'completion': shell completion scripts, printed or installed where each shell looks for them.</summary>
public static class CompletionCommands
{
    public static readonly string[] Shells = ["bash", "zsh", "fish"];

    public static VerbGroup Create() => new("completion", "Print or install shell completion for bash, zsh or fish.", """
        The scripts ask dedup itself what fits at the cursor (verbs, options, sub-commands, option values), so they
        stay right as dedup changes; where dedup has nothing to offer, the shell completes file names.
        One command installs for the shell in $SHELL: dedup completion install
        """,
        new CompletionScript("bash", "Print the bash completion script: source <(dedup completion bash)"),
        new CompletionScript("zsh", "Print the zsh completion script (an autoloadable _dedup)."),
        new CompletionScript("fish", "Print the fish completion script."),
        new CompletionInstall());

    private sealed class CompletionScript(string shell, string summary) : Verb(shell, summary)
    {
        public override Task<int> RunAsync(CliContext ctx)
        {
            ctx.Out.Write(Completion.Script(Name));
            return Task.FromResult(ExitCodes.Ok);
        }
    }

    private sealed class CompletionInstall : Verb
    {
        private readonly Option<string> _shell = Opt.OneOf("shell", "the shell (default: the one in $SHELL)", Shells);

        public CompletionInstall() : base("install", "Install the completion script for your shell, where it loads it from.", """
            bash: $XDG_DATA_HOME/bash-completion/completions/dedup (~/.local/share/...; loaded by bash-completion)
            zsh:  $XDG_DATA_HOME/zsh/site-functions/_dedup (add that folder to fpath before compinit)
            fish: $XDG_CONFIG_HOME/fish/completions/dedup.fish (~/.config/...)
            """)
        {
            Add(_shell);
        }

        public override async Task<int> RunAsync(CliContext ctx)
        {
            var shell = ctx.Get(_shell) ?? Path.GetFileName(Environment.GetEnvironmentVariable("SHELL") ?? "");
            if (!Shells.Contains(shell))
                throw new UsageException($"cannot tell the shell from $SHELL ('{shell}'); give --shell bash, zsh or fish");
            var path = Completion.InstallPath(shell);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, Completion.Script(shell), ctx.Cancellation).ConfigureAwait(false);
            if (ctx.Json) ctx.WriteJson(new CompletionInstalled(shell, path), CliJson.Default.CompletionInstalled);
            else
            {
                ctx.Say($"installed {shell} completion in {path}");
                if (shell == "zsh") ctx.Say($"add 'fpath+=({Path.GetDirectoryName(path)})' before 'compinit' in ~/.zshrc, then start a new shell");
                else ctx.Say("start a new shell to use it");
            }
            return ExitCodes.Ok;
        }
    }
}

public sealed record CompletionInstalled(string Shell, string Path)
{
    [JsonPropertyOrder(-1)] public string MessageType => "completion_installed";
}

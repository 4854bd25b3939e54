using System.CommandLine;

namespace Dedup.Cli.Cli;

/// <summary>
/// Shell completion. The scripts are thin: they call 'dedup __complete WORD...' with the words before the cursor
/// and the word being typed, and System.CommandLine answers from the command model, so a new verb or option
/// completes without touching the scripts.
/// </summary>
public static class Completion
{
    /// <summary>The hidden first argument the scripts call dedup with; never a verb.</summary>
    public const string Hidden = "__complete";

    /// <summary>
    /// Prints what may follow: the last word is the one being completed (empty after a space). Options are offered
    /// once the word starts with '-', so that after "key " the sub-commands stand alone.
    /// </summary>
    public static void Suggest(IReadOnlyList<string> words, TextWriter output)
    {
        // Parsed as text with the cursor at its end: only that way does System.CommandLine know a space was typed.
        var current = words.Count > 0 ? words[^1] : "";
        var line = string.Join(' ', words.Take(words.Count - 1).Select(Quote).Append(current.Length == 0 ? "" : Quote(current)));
        var labels = CommandLine.Root.Parse(line, CommandLine.Config).GetCompletions(line.Length)
            .Select(c => c.Label)
            .Where(l => l.StartsWith(current, StringComparison.Ordinal) && l != Hidden && (current.StartsWith('-') || !l.StartsWith('-')))
            .Distinct(StringComparer.Ordinal);
        foreach (var label in labels) output.WriteLine(label);
    }

    private static string Quote(string word) =>
        !word.Any(c => char.IsWhiteSpace(c) || c == '"') && word.Length > 0 ? word : "\"" + word.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public static string InstallPath(string shell)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var data = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } d ? d : Path.Join(home, ".local", "share");
        var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } c ? c : Path.Join(home, ".config");
        return shell switch
        {
            "bash" => Path.Join(data, "bash-completion", "completions", "dedup"),
            "zsh" => Path.Join(data, "zsh", "site-functions", "_dedup"),
            "fish" => Path.Join(config, "fish", "completions", "dedup.fish"),
            _ => throw new UsageException($"no completion for '{shell}': use bash, zsh or fish"),
        };
    }

    public static string Script(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        "fish" => Fish,
        _ => throw new UsageException($"no completion for '{shell}': use bash, zsh or fish"),
    };

    private const string Bash = """
        # bash completion for dedup ('dedup completion install' puts it where bash-completion loads it)
        _dedup() {
            local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
        }
        complete -o default -o bashdefault -F _dedup dedup

        """;

    private const string Zsh = """
        #compdef dedup
        # zsh completion for dedup ('dedup completion install' puts it in a site-functions folder)
        _dedup() {
            local -a suggestions
            suggestions=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
            suggestions=(${suggestions:#})
            if (( ${#suggestions} )); then
                compadd -a suggestions
            else
                _files
            fi
        }
        if [[ "${funcstack[1]}" == "_dedup" ]]; then
            _dedup "$@"
        else
            compdef _dedup dedup
        fi

        """;

    private const string Fish = """
        # fish completion for dedup ('dedup completion install' puts it in ~/.config/fish/completions)
        function __dedup_complete
            set -l words (commandline -opc) (commandline -ct)
            $words[1] __complete $words[2..-1] 2>/dev/null
        end
        complete -c dedup -a '(__dedup_complete)'

        """;
}

using Dedup.Cli.Cli;
using Dedup.Maintenance;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Dedup.Cli.Profiles;

/// <summary>
/// Reads the profiles from the TOML config files: /etc/dedup/config.toml, then the user's
/// ($XDG_CONFIG_HOME/dedup/config.toml or ~/.config/dedup/config.toml), whose profiles replace the system's of the
/// same name; DEDUP_CONFIG names one file instead. Tomlyn parses; the schema is checked here on the syntax tree, so
/// that every mistake names its file and line: an unknown key, a value of the wrong type, or a password (the config
/// names a password file, never a password).
/// </summary>
public static class ConfigFile
{
    public const string SystemPath = "/etc/dedup/config.toml";

    public const string Help = """
        Profiles live in /etc/dedup/config.toml and in $XDG_CONFIG_HOME/dedup/config.toml (~/.config/dedup/config.toml);
        a profile in the user's file replaces the system's of the same name. DEDUP_CONFIG=FILE reads only FILE.
        'dedup -p NAME VERB' takes the profile's settings wherever no option and no environment variable gives them.

          [profiles.home]
          repository = "s3:https://s3.example.net/backups/home"
          password-file = "/root/.config/dedup/home.pass"   # never the password itself
          cache-dir = "/var/cache/dedup"                      # optional
          key = "3f1c…"                                       # optional: the key file to try first (--key), full ID
          limit-upload = 2048                                 # optional: KiB/s (--limit-upload); limit-download too
          paths = ["/home", "/etc"]                           # backup: what to back up when no PATH is given
          exclude = ["*.tmp", "/home/*/.cache"]               # backup: --exclude
          exclude-file = ["/etc/dedup/excludes"]              # backup: --exclude-file
          tags = ["nightly"]                                  # backup: --tag
          host = "web1"                                       # backup: --host
          one-file-system = true                              # backup: --one-file-system

          [profiles.home.s3]                                  # credentials come from the AWS chain, never from here
          region = "eu-west-1"
          connections = 8
          storage-class = "STANDARD_IA"

          [profiles.home.retention]                           # forget, when no --keep-* option is given
          keep-daily = 7
          keep-weekly = 4
          keep-monthly = 12
          keep-within = "2d"
          keep-tag = ["keep"]
          group-by = ["host", "paths"]

          [profiles.home.hooks]                               # around 'dedup -p home backup'; each a /bin/sh command
          before = ["systemctl stop myapp", "mysqldump db > /var/backups/db.sql"]
          after = "systemctl start myapp"
          on-failure = "mail -s 'backup failed' root < /dev/null"
          always = ["rm -f /var/backups/db.sql"]

        Hooks run in order, with stdin from /dev/null and their output on dedup's stderr. 'before' hooks run first;
        the first that fails stops the backup (exit code 4), nothing is backed up. 'after' hooks run when the backup
        succeeded (exit 0), 'on-failure' hooks when it did not (including a failed before-hook and a partial
        backup), 'always' hooks last in every case. A failing after, on-failure or always hook is reported, and
        turns a successful run's exit code into 1. Their environment adds:
          DEDUP_PROFILE       the profile's name
          DEDUP_REPOSITORY    the repository URL
          DEDUP_HOOK          before, after, on-failure or always
          DEDUP_VERB          backup
          DEDUP_SNAPSHOT_ID   the saved snapshot's ID (after a snapshot was saved; empty otherwise)
          DEDUP_EXIT_CODE     the backup's exit code (not for before)
          DEDUP_ERROR         the one-line error, when the backup failed
        DEDUP_PASSWORD and DEDUP_FROM_PASSWORD are removed from a hook's environment.
        Relative file names (password-file, exclude-file, cache-dir) are relative to the config file's folder;
        '~/' is the home folder. An unknown key is an error that names its line.
        """;

    /// <summary>The files read, in order; later ones win. Only those that exist are read.</summary>
    public static IReadOnlyList<string> SearchPath()
    {
        if (Environment.GetEnvironmentVariable("DEDUP_CONFIG") is { Length: > 0 } explicitFile) return [explicitFile];
        return [SystemPath, UserPath()];
    }

    public static string UserPath()
    {
        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } x ? x
            : Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Join(configHome, "dedup", "config.toml");
    }

    /// <summary>Every profile of the config files; a broken file is an error even if another profile is asked for.</summary>
    public static IReadOnlyDictionary<string, Profile> LoadAll()
    {
        var all = new Dictionary<string, Profile>(StringComparer.Ordinal);
        var files = SearchPath();
        if (Environment.GetEnvironmentVariable("DEDUP_CONFIG") is { Length: > 0 } only && !File.Exists(only))
            throw new UsageException($"DEDUP_CONFIG names {only}, which does not exist");
        foreach (var file in files.Where(File.Exists))
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read the config file {file}: {e.Message}");
            }
            foreach (var (name, profile) in Parse(text, file)) all[name] = profile;
        }
        return all;
    }

    public static Profile Load(string name)
    {
        var all = LoadAll();
        if (all.TryGetValue(name, out var profile)) return profile;
        var where = string.Join(" or ", SearchPath());
        throw new UsageException(all.Count == 0
            ? $"no profile '{name}': there is no [profiles.{name}] in {where} ('dedup help profiles' shows the format)"
            : $"no profile '{name}' in {where}; the profiles are: {string.Join(", ", all.Keys.Order(StringComparer.Ordinal))}");
    }

    public static IReadOnlyDictionary<string, Profile> Parse(string text, string source)
    {
        var doc = SyntaxParser.Parse(text, source, validate: true);
        if (doc.HasErrors)
        {
            var d = doc.Diagnostics.First(m => m.Kind == DiagnosticMessageKind.Error);
            throw Error(source, d.Span.Start.Line, d.Message.TrimEnd('.'));
        }
        var reader = new Reader(source);
        foreach (var kv in doc.KeyValues) reader.Assign([], kv);
        foreach (var table in doc.Tables)
        {
            var header = KeyParts(table.Name!);
            var line = table.Span.Start.Line;
            if (table is TableArraySyntax) throw Error(source, line, $"[[{string.Join('.', header)}]]: arrays of tables are not part of the config");
            reader.CheckHeader(header, line);
            foreach (var kv in table.Items) reader.Assign(header, kv);
        }
        return reader.Profiles;
    }

    private static UsageException Error(string source, int zeroBasedLine, string message) =>
        new($"{source} line {zeroBasedLine + 1}: {message}");

    private static List<string> KeyParts(KeySyntax key)
    {
        var parts = new List<string> { Part(key.Key) };
        parts.AddRange(key.DotKeys.Select(d => Part(d.Key)));
        return parts;
    }

    private static string Part(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key!.Text!,
        StringValueSyntax quoted => quoted.Value!,
        _ => "",
    };

    /// <summary>Walks the key/value pairs into profiles, refusing whatever the schema does not know.</summary>
    private sealed class Reader(string source)
    {
        private static readonly string[] Sections = ["s3", "retention", "hooks"];

        public Dictionary<string, Profile> Profiles { get; } = new(StringComparer.Ordinal);

        public void CheckHeader(List<string> header, int line)
        {
            if (header[0] != "profiles")
                throw Error(source, line, $"unknown table [{string.Join('.', header)}]: profiles are [profiles.NAME] ('dedup help profiles')");
            if ((header.Count == 3 && !Sections.Contains(header[2])) || header.Count > 3)
                throw Error(source, line, $"unknown table [{string.Join('.', header)}]: a profile has the tables {string.Join(", ", Sections)}");
            if (header.Count >= 2) Profile(header[1], line);
        }

        public void Assign(List<string> prefix, KeyValueSyntax kv)
        {
            var path = new List<string>(prefix);
            path.AddRange(KeyParts(kv.Key!));
            var line = kv.Span.Start.Line;
            if (kv.Value is InlineTableSyntax inline)
            {
                if (path.Count < 2) CheckHeader(path, line);
                foreach (var item in inline.Items) Assign(path, item.KeyValue!);
                return;
            }
            if (path.Count < 3 || path[0] != "profiles")
                throw Error(source, line, $"unknown key '{string.Join('.', path)}': settings belong to a profile, under [profiles.NAME]");
            var name = path[1];
            var key = string.Join('.', path.Skip(2));
            Profiles[name] = Set(Profile(name, line), key, kv.Value!, line);
        }

        private Profile Profile(string name, int line)
        {
            if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                throw Error(source, line, $"'{name}' is not a profile name: use letters, digits, '-', '_' and '.'");
            if (!Profiles.TryGetValue(name, out var p)) Profiles[name] = p = new Profile { Name = name, Source = source };
            return p;
        }

        private Profile Set(Profile p, string key, ValueSyntax v, int line)
        {
            var leaf = key[(key.LastIndexOf('.') + 1)..];
            if (leaf.Contains("password", StringComparison.OrdinalIgnoreCase) && key != "password-file")
                throw Error(source, line, $"'{key}': the config names a password file, never a password; put the password in a file only you can read and give password-file = \"FILE\"");
            if (leaf.Contains("secret", StringComparison.OrdinalIgnoreCase) || leaf.Contains("access-key", StringComparison.OrdinalIgnoreCase))
                throw Error(source, line, $"'{key}': S3 credentials come from the AWS chain (AWS_PROFILE, ~/.aws/credentials), never from this file");
            return key switch
            {
                "repository" => p with { Repository = String(v, key, line) },
                "password-file" => p with { PasswordFile = FileName(String(v, key, line)) },
                "cache-dir" => p with { CacheDir = FileName(String(v, key, line)) },
                "key" => p with { Key = String(v, key, line) },
                "limit-upload" => p with { LimitUploadKiB = Int(v, key, line, 1, int.MaxValue) },
                "limit-download" => p with { LimitDownloadKiB = Int(v, key, line, 1, int.MaxValue) },
                "paths" => p with { Paths = Strings(v, key, line).Select(Home).ToList() },
                "exclude" => p with { Excludes = Strings(v, key, line) },
                "exclude-file" => p with { ExcludeFiles = Strings(v, key, line).Select(FileName).ToList() },
                "tags" => p with { Tags = Strings(v, key, line) },
                "host" => p with { Host = String(v, key, line) },
                "one-file-system" => p with { OneFileSystem = Bool(v, key, line) },
                "s3.region" => p with { S3Region = String(v, key, line) },
                "s3.storage-class" => p with { S3StorageClass = String(v, key, line) },
                "s3.connections" => p with { S3Connections = Int(v, key, line, 1, 256) },
                "retention.keep-last" => p with { Retention = p.Retention with { Last = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-hourly" => p with { Retention = p.Retention with { Hourly = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-daily" => p with { Retention = p.Retention with { Daily = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-weekly" => p with { Retention = p.Retention with { Weekly = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-monthly" => p with { Retention = p.Retention with { Monthly = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-yearly" => p with { Retention = p.Retention with { Yearly = Int(v, key, line, 0, int.MaxValue) } },
                "retention.keep-within" => p with { Retention = p.Retention with { Within = Duration(v, key, line) } },
                "retention.keep-tag" => p with { Retention = p.Retention with { KeepTags = Strings(v, key, line) } },
                "retention.group-by" => p with { Retention = p.Retention with { GroupBy = Strings(v, key, line) } },
                "hooks.before" => p with { Hooks = p.Hooks with { Before = Strings(v, key, line) } },
                "hooks.after" => p with { Hooks = p.Hooks with { After = Strings(v, key, line) } },
                "hooks.on-failure" => p with { Hooks = p.Hooks with { OnFailure = Strings(v, key, line) } },
                "hooks.always" => p with { Hooks = p.Hooks with { Always = Strings(v, key, line) } },
                _ => throw Error(source, line, $"unknown key '{key}' in profile '{p.Name}' ('dedup help profiles' lists the keys)"),
            };
        }

        private string String(ValueSyntax v, string key, int line) =>
            v is StringValueSyntax { Value: { } s } ? s : throw Error(source, line, $"'{key}' takes a string in quotes");

        /// <summary>A list of strings; one string is a list of one.</summary>
        private List<string> Strings(ValueSyntax v, string key, int line) => v switch
        {
            StringValueSyntax { Value: { } s } => [s],
            ArraySyntax a => a.Items.Select(i => i.Value is StringValueSyntax { Value: { } s } ? s
                : throw Error(source, line, $"'{key}' takes strings in quotes")).ToList(),
            _ => throw Error(source, line, $"'{key}' takes a string or a list of strings"),
        };

        private int Int(ValueSyntax v, string key, int line, int min, int max) =>
            v is IntegerValueSyntax i && i.Value >= min && i.Value <= max ? (int)i.Value
                : throw Error(source, line, $"'{key}' takes a whole number from {min} to {max}");

        private bool Bool(ValueSyntax v, string key, int line) =>
            v is BooleanValueSyntax b ? b.Value : throw Error(source, line, $"'{key}' takes true or false");

        private TimeSpan Duration(ValueSyntax v, string key, int line)
        {
            var text = String(v, key, line);
            try
            {
                return RetentionPolicy.ParseDuration(text);
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw Error(source, line, $"'{key}': {e.Message}");
            }
        }

        private static string Home(string path) =>
            path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
                ? Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..])
                : path;

        /// <summary>A file the profile names: '~/' is home, a relative name is relative to the config file's folder.</summary>
        private string FileName(string path)
        {
            path = Home(path);
            return Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Join(Path.GetDirectoryName(Path.GetFullPath(source)), path));
        }
    }
}

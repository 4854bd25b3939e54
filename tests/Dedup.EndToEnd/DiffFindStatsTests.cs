using System.Text.Json;
using Xunit;

namespace Dedup.EndToEnd;

/// <summary>Issue 16: diff, find and stats through the CLI on a local repository.</summary>
public sealed class DiffFindStatsTests : IDisposable
{
    private static readonly DateTime Fixed = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
    private readonly DedupCli _cli = new();

    /// <summary>
    /// The tree before: renames, type changes, a retargeted symlink, a chmod, an odd name removed and one with a newline
    /// added, and a deep directory that does not change (and so must never be read).
    /// </summary>
    internal static string BuildBefore(string src)
    {
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "keep.txt"), "same");
        File.WriteAllText(Path.Combine(src, "change.txt"), "v1");
        File.WriteAllText(Path.Combine(src, "old name.txt"), "renamed content");
        File.WriteAllText(Path.Combine(src, "becomes-dir"), "a file");
        File.WriteAllText(Path.Combine(src, "becomes-link"), "also a file");
        File.WriteAllText(Path.Combine(src, "meta.txt"), "mode changes");
        File.WriteAllText(Path.Combine(src, "ünïcødé ☕.txt"), "unicode");
        File.CreateSymbolicLink(Path.Combine(src, "link"), "keep.txt");
        var deep = Path.Combine(src, "same-dir");
        for (int i = 0; i < 12; i++) deep = Path.Combine(deep, $"level {i}");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "leaf.txt"), "deep");
        FixTimes(src, null);
        return Path.GetFullPath(src);
    }

    internal static void ChangeToAfter(string src)
    {
        File.WriteAllText(Path.Combine(src, "change.txt"), "v2 longer");
        File.Move(Path.Combine(src, "old name.txt"), Path.Combine(src, "new name.txt"));
        File.Delete(Path.Combine(src, "becomes-dir"));
        Directory.CreateDirectory(Path.Combine(src, "becomes-dir"));
        File.WriteAllText(Path.Combine(src, "becomes-dir", "inside"), "inside");
        File.Delete(Path.Combine(src, "becomes-link"));
        File.CreateSymbolicLink(Path.Combine(src, "becomes-link"), "keep.txt");
        File.Delete(Path.Combine(src, "link"));
        File.CreateSymbolicLink(Path.Combine(src, "link"), "change.txt");
        File.SetUnixFileMode(Path.Combine(src, "meta.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(Path.Combine(src, "ünïcødé ☕.txt"));
        File.WriteAllText(Path.Combine(src, "line\nbreak"), "odd");
        // Not same-dir: setting a time changes the ctime, which the tree stores, and it must stay the same tree.
        FixTimes(src, Path.Combine(src, "same-dir"));
    }

    /// <summary>Every file and directory gets one mtime, so only the changes made on purpose show (symlinks keep theirs).</summary>
    private static void FixTimes(string src, string? except)
    {
        bool Skip(string p) => except is not null && p.StartsWith(except, StringComparison.Ordinal);
        foreach (var f in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
            if (new FileInfo(f).LinkTarget is null && !Skip(f)) File.SetLastWriteTimeUtc(f, Fixed);
        foreach (var d in Directory.EnumerateDirectories(src, "*", SearchOption.AllDirectories).Reverse())
            if (!Skip(d)) Directory.SetLastWriteTimeUtc(d, Fixed);
        Directory.SetLastWriteTimeUtc(src, Fixed);
    }

    internal static readonly string[] ExpectedDiff =
    [
        "T {0}/becomes-dir/  (file -> dir)",
        "+ {0}/becomes-dir/inside  (6 B)",
        "T {0}/becomes-link  (file -> symlink)",
        "M {0}/change.txt  (2 B -> 9 B)",
        "+ {0}/line\\nbreak  (3 B)",
        "M {0}/link  (-> keep.txt now -> change.txt)",
        "U {0}/meta.txt  (mode)",
        "+ {0}/new name.txt  (15 B)",
        "- {0}/old name.txt  (15 B)",
        "- {0}/ünïcødé ☕.txt  (7 B)",
    ];

    private static List<string> ChangeLines(string stdout)
    {
        var lines = stdout.Split('\n').ToList();
        var start = lines.FindIndex(l => l.StartsWith("comparing snapshot ", StringComparison.Ordinal));
        Assert.True(start >= 0, stdout);
        return lines.Skip(start + 1).TakeWhile(l => l.Length > 0).ToList();
    }

    /// <summary>Lines about paths inside <paramref name="root"/>.</summary>
    internal static List<string> LinesUnder(string stdout, string root) =>
        ChangeLines(stdout).Where(l => l.Contains(" " + root + "/", StringComparison.Ordinal)).ToList();

    /// <summary>The other lines, which may only be metadata changes of <paramref name="root"/>'s ancestors; their count.</summary>
    internal static int AncestorLines(string stdout, string root)
    {
        var others = ChangeLines(stdout).Where(l => !l.Contains(" " + root + "/", StringComparison.Ordinal)).ToList();
        foreach (var other in others)
            Assert.True(other.StartsWith("U ", StringComparison.Ordinal) && other.Contains("/  (", StringComparison.Ordinal)
                        && root.StartsWith(other[2..other.IndexOf("/  (", StringComparison.Ordinal)] + "/", StringComparison.Ordinal),
                $"unexpected line outside {root}: {other}");
        return others.Count;
    }

    /// <summary>Status lines as often as the progress report allows, so a run shows more than the first and the last when it can.</summary>
    internal static readonly Dictionary<string, string?> ManyStatuses = new() { ["DEDUP_PROGRESS_FPS"] = "60" };

    private static bool IsStatus(JsonElement e) => e.TryGetProperty("message_type", out var t) && t.GetString() == "status";

    /// <summary>
    /// A --json run's status lines and its other lines, in order. There is one status line at the start and one at the
    /// end, and no counter goes down between them; the result is the last line, after the final status.
    /// </summary>
    internal static (List<JsonElement> Statuses, List<JsonElement> Others) SplitStatuses(string stdout, params string[] counters)
    {
        var lines = JsonOutput.Lines(stdout);
        var statuses = lines.Where(IsStatus).ToList();
        Assert.True(statuses.Count >= 2, $"{statuses.Count} status lines in:\n{stdout}");
        Assert.False(IsStatus(lines[^1]), stdout);
        foreach (var name in counters.Append("seconds_elapsed"))
            for (int i = 1; i < statuses.Count; i++)
                Assert.True(statuses[i].GetProperty(name).GetDouble() >= statuses[i - 1].GetProperty(name).GetDouble(), $"{name} went down at status {i}:\n{stdout}");
        return (statuses, lines.Where(l => !IsStatus(l)).ToList());
    }

    private static long Long(JsonElement e, string name) => e.GetProperty(name).GetInt64();

    [Fact]
    public void Diff_ListsAddedRemovedModifiedTypeAndMetadataChanges_WithSummary_AndSkipsUnchangedDirectories()
    {
        var root = BuildBefore(_cli.Dir.Combine("src"));
        _cli.Init();
        var first = JsonOutput.Result(_cli.Ok("backup", root, "--json").Stdout).GetProperty("snapshot_id").GetString()!;
        ChangeToAfter(root);
        var second = JsonOutput.Result(_cli.Ok("backup", root, "--json").Stdout).GetProperty("snapshot_id").GetString()!;

        var text = _cli.Ok("diff", first[..8], second[..8]).Stdout;
        Assert.Equal(ExpectedDiff.Select(l => string.Format(l, root)), LinesUnder(text, root));
        // Ancestors of src (/tmp, say) may have another mtime by now: each such is one changed directory.
        int ancestors = AncestorLines(text, root);
        Assert.Contains("files:  4      4        3", text);
        Assert.Contains($"dirs:   1      0        {ancestors}", text);
        Assert.Contains("bytes:  24 B   39 B", text);

        var run = _cli.Run(["-r", _cli.Repo, "diff", first, "latest", "--json"], ManyStatuses);
        Assert.True(run.ExitCode == 0, run.ToString());
        var (statuses, json) = SplitStatuses(run.Stdout, "directories_read", "changes");
        var byPath = json.Where(e => e.TryGetProperty("change", out _)).ToDictionary(e => e.GetProperty("path").GetString()!);
        var change = byPath[root + "/change.txt"];
        Assert.Equal(("M", "file", 2, 9), (change.GetProperty("change").GetString(), change.GetProperty("type").GetString(),
            change.GetProperty("old_size").GetInt64(), change.GetProperty("new_size").GetInt64()));
        var typeChange = byPath[root + "/becomes-dir"];
        Assert.Equal(("T", "dir", "file"), (typeChange.GetProperty("change").GetString(), typeChange.GetProperty("type").GetString(), typeChange.GetProperty("old_type").GetString()));
        Assert.Equal("mode", Assert.Single(byPath[root + "/meta.txt"].GetProperty("metadata").EnumerateArray()).GetString());
        Assert.Equal("+", byPath[root + "/line\nbreak"].GetProperty("change").GetString());
        Assert.Equal("-", byPath[root + "/ünïcødé ☕.txt"].GetProperty("change").GetString());
        Assert.DoesNotContain(byPath.Keys, p => p.Contains("same-dir", StringComparison.Ordinal));

        var summary = json[^1];
        Assert.Equal((4, 4, 3, 1, 0, ancestors, 24, 39), (summary.GetProperty("files_added").GetInt64(), summary.GetProperty("files_removed").GetInt64(),
            summary.GetProperty("files_changed").GetInt64(), summary.GetProperty("dirs_added").GetInt64(), summary.GetProperty("dirs_removed").GetInt64(),
            summary.GetProperty("dirs_changed").GetInt64(), summary.GetProperty("bytes_added").GetInt64(), summary.GetProperty("bytes_removed").GetInt64()));
        Assert.Equal(second, summary.GetProperty("new_snapshot").GetString());
        // Both sides' root and every directory down to src (they changed), and the new directory's listing; none of
        // the 12 unchanged levels of same-dir.
        int components = root.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.Equal(2 * (1 + components) + 1, summary.GetProperty("directories_read").GetInt64());
        // Progress: nothing read at the start; at the end, before the summary, what the summary counts.
        Assert.Equal((0, 0), (Long(statuses[0], "directories_read"), Long(statuses[0], "changes")));
        Assert.Equal(statuses[^1].GetRawText(), JsonOutput.Lines(run.Stdout)[^2].GetRawText());
        Assert.Equal((Long(summary, "directories_read"), json.Count - 1), (Long(statuses[^1], "directories_read"), Long(statuses[^1], "changes")));

        // A snapshot compared with itself: nothing, and not one directory read.
        var sameRun = _cli.Ok("diff", first, first, "--json").Stdout;
        var same = JsonOutput.Result(sameRun);
        Assert.Equal(0, same.GetProperty("directories_read").GetInt64());
        var sameEnd = SplitStatuses(sameRun).Statuses[^1];
        Assert.Equal((0, 0), (Long(sameEnd, "directories_read"), Long(sameEnd, "changes")));
        Assert.Equal(0, same.GetProperty("files_changed").GetInt64());

        var noMeta = _cli.Ok("diff", first, second, "--no-metadata").Stdout;
        Assert.DoesNotContain("U " + root + "/meta.txt", noMeta);
    }

    [Fact]
    public void DiffLive_ComparesASnapshotWithTheDirectoryAsItIsNow()
    {
        var root = BuildBefore(_cli.Dir.Combine("src"));
        _cli.Init();
        var first = JsonOutput.Result(_cli.Ok("backup", root, "--json").Stdout).GetProperty("snapshot_id").GetString()!;
        Assert.Equal([$"comparing snapshot {first[..8]} with the live directory {root}", ""], _cli.Ok("diff", "latest", "--live", root).Stdout.Split('\n').Take(2));
        ChangeToAfter(root);

        var text = _cli.Ok("diff", "latest", "--live", root).Stdout;
        Assert.Equal(ExpectedDiff.Select(l => string.Format(l, root)), ChangeLines(text));
        Assert.Contains("dirs:   1      0        0", text);
        var summary = JsonDocument.Parse(_cli.Ok("diff", first[..8], "--live", root + "/", "--json").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal(("live:" + root, 4, 4, 3, 24, 39), (summary.GetProperty("new_snapshot").GetString(), summary.GetProperty("files_added").GetInt64(),
            summary.GetProperty("files_removed").GetInt64(), summary.GetProperty("files_changed").GetInt64(), summary.GetProperty("bytes_added").GetInt64(),
            summary.GetProperty("bytes_removed").GetInt64()));

        var both = _cli.Run(["-r", _cli.Repo, "diff", first, "latest", "--live", root]);
        Assert.Equal(2, both.ExitCode);
        Assert.StartsWith("dedup: give either a NEW snapshot or --live PATH, not both", both.StderrLines[0]);
        var missing = _cli.Run(["-r", _cli.Repo, "diff", first, "--live", _cli.Dir.CreateDirectory("never backed up")]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("has no directory", missing.StderrLines[0]);
    }

    [Fact]
    public void Diff_UnknownSnapshot_IsOneLineError()
    {
        _cli.Init();
        var r = _cli.Run(["-r", _cli.Repo, "diff", "abcdef12", "latest"]);
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("dedup: ", line);
        Assert.Contains("abcdef12", line);
    }

    [Fact]
    public void Find_GroupsMatchesWithTheSnapshotsThatHoldThem_ByNamePathBlobAndHost()
    {
        var src = _cli.Dir.CreateDirectory("src");
        var root = Path.GetFullPath(src);
        Directory.CreateDirectory(Path.Combine(src, "a"));
        Directory.CreateDirectory(Path.Combine(src, "docs", "c"));
        File.WriteAllText(Path.Combine(src, "a", "report.pdf"), "first report");
        File.WriteAllText(Path.Combine(src, "notes.txt"), "notes");
        File.WriteAllText(Path.Combine(src, "docs", "c", "odd\nname.pdf"), "odd");
        _cli.Init();
        string Backup(string host) => JsonOutput.Result(_cli.Ok("backup", src, "--host", host, "--json").Stdout).GetProperty("snapshot_id").GetString()!;
        var s1 = Backup("h1");
        File.WriteAllText(Path.Combine(src, "docs", "c", "report.pdf"), "second report");
        var s2 = Backup("h1");
        File.Delete(Path.Combine(src, "a", "report.pdf"));
        var s3 = Backup("h1");
        File.WriteAllText(Path.Combine(src, "elsewhere.pdf"), "other host");
        var other = Backup("h2");

        JsonElement lastStatus = default;
        List<JsonElement> Find(params string[] args)
        {
            var r = _cli.Run(["-r", _cli.Repo, "find", .. args, "--json"], ManyStatuses);
            Assert.True(r.ExitCode == 0, r.ToString());
            var (statuses, matches) = SplitStatuses(r.Stdout, "snapshots_done", "directories_read", "directories_reused", "matches");
            // The status lines come first, the matches after them; the last status counts every snapshot searched and every match.
            Assert.Equal(statuses.Count, JsonOutput.Lines(r.Stdout).TakeWhile(IsStatus).Count());
            Assert.Equal((0, 0, 0, 0), (Long(statuses[0], "snapshots_done"), Long(statuses[0], "directories_read"), Long(statuses[0], "directories_reused"), Long(statuses[0], "matches")));
            lastStatus = statuses[^1];
            Assert.Equal(Long(lastStatus, "snapshots_total"), Long(lastStatus, "snapshots_done"));
            Assert.Equal(matches.Count, Long(lastStatus, "matches"));
            return matches;
        }
        static (string, int, string, string, string) Row(JsonElement e) => (e.GetProperty("path").GetString()!, e.GetProperty("count").GetInt32(),
            e.GetProperty("first_snapshot").GetString()!, e.GetProperty("last_snapshot").GetString()!, string.Join(",", e.GetProperty("snapshots").EnumerateArray().Select(x => x.GetString())));

        Assert.Equal(
        [
            (root + "/a/report.pdf", 2, s1, s2, s1 + "," + s2),
            (root + "/docs/c/odd\nname.pdf", 4, s1, other, string.Join(",", s1, s2, s3, other)),
            (root + "/docs/c/report.pdf", 3, s2, other, string.Join(",", s2, s3, other)),
            (root + "/elsewhere.pdf", 1, other, other, other),
        ], Find("*.pdf").Select(Row));
        Assert.Equal(4, Long(lastStatus, "snapshots_total"));

        Assert.Equal([(root + "/a/report.pdf", 1, s2, s2, s2), (root + "/docs/c/report.pdf", 2, s2, s3, s2 + "," + s3)],
            Find("report.pdf", "--host", "h1", "--snapshot", s3, "--snapshot", s2).Select(Row));
        Assert.Equal([(root + "/a/report.pdf", 2, s1, s2, s1 + "," + s2)], Find("--host", "h1", "--full-path", root + "/a/*.pdf").Select(Row));
        // A directory matched by --full-path is listed once, not with everything below it.
        var dir = Assert.Single(Find("--host", "h1", "--full-path", root + "/docs"));
        Assert.Equal(("dir", 3), (dir.GetProperty("type").GetString(), dir.GetProperty("count").GetInt32()));

        var notes = JsonDocument.Parse(_cli.Ok("ls", s1, root + "/notes.txt", "--json").Stdout.Trim()).RootElement;
        var blob = notes.GetProperty("content")[0].GetString()!;
        Assert.Equal([(root + "/notes.txt", 4, s1, other, string.Join(",", s1, s2, s3, other))], Find("--blob", blob).Select(Row));

        var text = _cli.Ok("find", "*.pdf", "--host", "h1").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^first seen +last seen +count +size +path$", text[0]);
        Assert.Matches($@"^\S+ \S+ +{s1[..8]} +\S+ \S+ +{s2[..8]} +2 +12 B +{System.Text.RegularExpressions.Regex.Escape(root)}/a/report.pdf$", text[1]);
        Assert.EndsWith(root + "/docs/c/odd\\nname.pdf", text[2]);
        // The unchanged directories of later snapshots come from what the first search remembered.
        Assert.Matches(@"^3 matches in 3 snapshots \(\d+ directories read, [1-9]\d* reused\)$", text[^1]);
        Assert.Equal(3, Find("*.pdf", "--host", "h1").Count);
        Assert.Equal($"3 matches in {Long(lastStatus, "snapshots_done")} snapshots ({Long(lastStatus, "directories_read")} directories read, {Long(lastStatus, "directories_reused")} reused)",
            text[^1]);
        // --quiet keeps only the matches.
        Assert.DoesNotContain(JsonOutput.Lines(_cli.Ok("find", "*.pdf", "--json", "--quiet").Stdout), IsStatus);

        var bad = _cli.Run(["-r", _cli.Repo, "find", "docs/*.pdf"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("dedup: 'docs/*.pdf' has a '/', but names never do: add --full-path", bad.StderrLines[0]);
        Assert.DoesNotContain("   at ", bad.Stderr);
    }

    [Fact]
    public void Stats_ReportsSizesRatiosPerHostPerSnapshotAndGrowth()
    {
        const int MiB = 1 << 20;
        var src = _cli.Dir.CreateDirectory("src");
        var root = Path.GetFullPath(src);
        static byte[] Random(int seed)
        {
            var b = new byte[MiB];
            new Random(seed).NextBytes(b);
            return b;
        }
        File.WriteAllBytes(Path.Combine(src, "a.bin"), Random(1));
        File.WriteAllBytes(Path.Combine(src, "b.bin"), Random(2));
        _cli.Init();
        string Backup(string path, string host) => JsonOutput.Result(_cli.Ok("backup", path, "--host", host, "--json").Stdout).GetProperty("snapshot_id").GetString()!;
        var s1 = Backup(src, "h1");
        File.WriteAllBytes(Path.Combine(src, "c.bin"), Random(3));
        var s2 = Backup(src, "h1");
        var other = _cli.Dir.CreateDirectory("other");
        File.WriteAllBytes(Path.Combine(other, "d.bin"), Random(4));
        var s3 = Backup(other, "h2");

        var run = _cli.Run(["-r", _cli.Repo, "stats", "--json"], ManyStatuses);
        Assert.True(run.ExitCode == 0, run.ToString());
        var (statuses, rest) = SplitStatuses(run.Stdout, "snapshots_done", "directories_read", "packs_listed");
        var r = Assert.Single(rest);
        Assert.Equal(3, r.GetProperty("snapshot_count").GetInt32());
        // Progress: nothing done at the start; at the end every snapshot measured and every pack the report counts listed.
        Assert.Equal(("reading trees", 0, 3, 0, 0), (statuses[0].GetProperty("phase").GetString(), Long(statuses[0], "snapshots_done"),
            Long(statuses[0], "snapshots_total"), Long(statuses[0], "directories_read"), Long(statuses[0], "packs_listed")));
        Assert.Equal(("done", 3, 3, Long(r, "packs")), (statuses[^1].GetProperty("phase").GetString(), Long(statuses[^1], "snapshots_done"),
            Long(statuses[^1], "snapshots_total"), Long(statuses[^1], "packs_listed")));
        Assert.True(Long(statuses[^1], "directories_read") >= 3, run.Stdout);
        var snaps = r.GetProperty("snapshots").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.Equal([2 * MiB, 3 * MiB, MiB], new[] { s1, s2, s3 }.Select(id => snaps[id].GetProperty("restore_bytes").GetInt64()));
        Assert.Equal(6 * MiB, r.GetProperty("restore_bytes").GetInt64());
        // Trees are a few hundred bytes each: what a snapshot added or alone holds is its files' new data plus those.
        static void About(long expected, JsonElement e, string name) =>
            Assert.InRange(e.GetProperty(name).GetInt64(), expected, expected + 16 * 1024);
        About(2 * MiB, snaps[s1], "added_bytes");
        About(MiB, snaps[s2], "added_bytes");
        About(MiB, snaps[s3], "added_bytes");
        About(0, snaps[s1], "unique_bytes"); // a.bin and b.bin are in s2 as well
        About(MiB, snaps[s2], "unique_bytes");
        About(MiB, snaps[s3], "unique_bytes");
        About(4 * MiB, r, "raw_bytes");
        Assert.InRange(r.GetProperty("dedup_ratio").GetDouble(), 1.49, 1.5);
        // Random data does not compress: stored is raw plus encryption overhead.
        Assert.InRange(r.GetProperty("compression_ratio").GetDouble(), 0.98, 1.01);
        Assert.True(r.GetProperty("stored_bytes").GetInt64() >= r.GetProperty("blobs_stored_bytes").GetInt64(), r.ToString());
        Assert.True(r.GetProperty("packs").GetInt64() >= 1);

        var hosts = r.GetProperty("hosts").EnumerateArray().ToList();
        Assert.Equal(["h1", "h2"], hosts.Select(h => h.GetProperty("host").GetString()));
        Assert.Equal([2, 1], hosts.Select(h => h.GetProperty("snapshots").GetInt32()));
        Assert.Equal([5 * MiB, MiB], hosts.Select(h => h.GetProperty("restore_bytes").GetInt64()));
        About(3 * MiB, hosts[0], "added_bytes");
        var day = Assert.Single(r.GetProperty("growth").EnumerateArray());
        Assert.Equal(3, day.GetProperty("snapshots").GetInt32());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), day.GetProperty("period").GetString());
        About(4 * MiB, day, "added_bytes");

        // Only what is named is measured: s2 alone holds all of its blobs.
        var one = JsonDocument.Parse(Assert.Single(_cli.Ok("stats", s2, "--json", "--quiet").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        About(3 * MiB, one.GetProperty("snapshots")[0], "unique_bytes");
        Assert.Equal(1.0, one.GetProperty("dedup_ratio").GetDouble(), 2);

        var text = _cli.Ok("stats", "--growth", "week").Stdout;
        Assert.Matches(@"(?m)^snapshots: +3$", text);
        Assert.Matches(@"(?m)^restore size: +6\.0 MiB$", text);
        Assert.Matches(@"(?m)^h1 +2 +5\.0 MiB +3\.0\d* MiB ", text);
        Assert.Matches($@"(?m)^{s2[..8]} +\S+ \S+ +h1 +3 +3\.0 MiB +1\.0\d* MiB +1\.0\d* MiB$", text);
        Assert.Matches(@"(?m)^week +snapshots +added +added stored$", text);
        Assert.Matches(@"(?m)^\d{4}-W\d\d  3 ", text);
    }

    public void Dispose() => _cli.Dispose();
}

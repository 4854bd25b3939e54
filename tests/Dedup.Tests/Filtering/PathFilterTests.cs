using Dedup.Archiver.Filtering;
using Xunit;

namespace Dedup.Tests.Filtering;

/// <summary>
/// <see cref="PathFilter"/> against restic's documented pattern semantics (doc/040_backup.rst, "Excluding files", and
/// Go's filepath.Match syntax): whole components, anchored and unanchored patterns, "**", trailing "/", cleaning,
/// sets, escapes, negation and case-insensitive patterns. Each row is one pattern list, one path and the verdict.
/// </summary>
public class PathFilterTests
{
    public static TheoryData<string, string, bool> SinglePatterns => new()
    {
        // Patterns match whole components, at any depth unless anchored; a matched directory matches all below it.
        { "foo", "/dir1/foo/dir2/file", true },
        { "foo", "/dir/foo", true },
        { "foo", "/dir/foobar", false },
        { "foo", "/dir/barfoo", false },
        { "/bin", "/bin/bash", true },
        { "/bin", "/usr/bin/restic", false },
        { "/bin", "/bin", true },
        { "/bin", "/binaries", false },
        { "bar/test.go", "/foo/bar/test.go", true },
        { "bar/test.go", "/foo/bar/test.go.orig", false },
        { "foo/bar", "/x/foo/bar/baz", true },
        { "foo/bar", "/x/foo/baz/bar", false },
        // "*" and "?" stay within one component.
        { "*.go", "/foo/bar/test.go", true },
        { "*.c", "/foo/bar/test.go", false },
        { "*", "/anything/at/all", true },
        { "b*ash", "/bin/bash", true },
        { "b*ash", "/bin/ash", false },
        { "/foo/*", "/foo", false },
        { "/foo/*", "/foo/baz", true },
        { "/foo/*test.*", "/foo/bar/test.go", false },
        { "/foo/*/test.*", "/foo/bar/test.go", true },
        { "/*/*/baz/test.*", "/foo/bar/baz/test.go", true },
        { "/*/*/bar/test.*", "/foo/bar/test.go", false },
        { "test.?o", "/a/test.go", true },
        { "test.?", "/a/test.go", false },
        { "?.txt", "/a/😀.txt", true },   // "?" is one character, even outside the BMP
        { "??.txt", "/a/😀.txt", false },
        { "*.tmp", "/a/.hidden.tmp", true }, // '*' matches a leading dot, as in Go (unlike shells)
        { "tesT.*", "/foo/bar/test.go", false }, // case matters
        // "**" matches any number of components, none included.
        { "foo/**/bar", "/dir1/foo/dir2/bar/file", true },
        { "foo/**/bar", "/foo/bar/file", true },
        { "foo/**/bar", "/tmp/foo/bar", true },
        { "foo/**/bar", "/tmp/foo/a/b/c/bar", true },
        { "foo/**/bar", "/tmp/bar/foo", false },
        { "foo/**/bar/*.go", "/home/user/foo/work/special/bar/test.go", true },
        { "foo/**/bar/*.go", "/home/user/foo/test.c", false },
        { "foo/**/bar/**/x", "/home/user/foo/blaaa/blaz/bar/shared/work/x", true },
        { "user/**/important*", "/home/user/work/x/y/hidden/x", false },
        { "/home/**", "/home", true },
        { "/home/**", "/homes/ann", false },
        { "**", "/any/path", true },
        { "/**/*.log", "/var/log/syslog.log", true },
        // "**" at the start, the end, twice, and inside a component (where it is just two "*").
        { "**/cache", "/a/b/cache/x", true },
        { "**/cache", "/a/b/caches", false },
        { "/**", "/", true },
        { "foo/**", "/a/foo", true },
        { "foo/**", "/a/foo/b/c", true },
        { "foo/**", "/a/foobar", false },
        { "/a/**/**/z", "/a/z", true },
        { "/a/**/**/z", "/a/b/c/d/z", true },
        { "a**b", "/x/aXYb", true },
        { "a**b", "/x/a/b", false },
        // "*" never crosses a "/"; what a pattern matches is a directory whose contents it matches too.
        { "/a*c", "/ab/c", false },
        { "/foo/*", "/foo/bar/baz", true },
        { "/foo/*/baz", "/foo/baz", false },
        { "*.d", "/etc/conf.d/file", true },
        { "/srv/cache", "/srv/cache/deep/er/file", true },
        // A trailing "/" on the path changes nothing.
        { "/foo", "/foo/", true },
        { "/foo/bar", "/foo/", false },
        // A trailing "/" is ignored; "//", "." and ".." are cleaned as filepath.Clean does.
        { "/foo/bar/", "/foo/bar", true },
        { "/foo/", "/foo/baz", true },
        { "/foo///bar", "/foo/bar", true },
        { "/foo/./bar", "/foo/bar", true },
        { "/foo/../bar", "/foo/bar", false },
        { "/foo/../bar", "/bar", true },
        { "/../bar", "/bar", true },
        { "/", "/anything", true },
        { ".", "/anything", false },
        // Sets, ranges, negated sets and escapes (filepath.Match).
        { "/home/[uU]ser/?.go", "/home/user/F.go", true },
        { "/home/[uU]ser/?.go", "/home/User/F.go", true },
        { "/home/[uU]ser/?.go", "/home/xser/F.go", false },
        { "file[0-9].txt", "/a/file7.txt", true },
        { "file[0-9].txt", "/a/filex.txt", false },
        { "file[^0-9].txt", "/a/filex.txt", true },
        { "file[^0-9].txt", "/a/file7.txt", false },
        { "file[!0-9].txt", "/a/filex.txt", true },
        { "file[!0-9].txt", "/a/file7.txt", false },
        { "file[^a].txt", "/a/file😀.txt", true },
        { "file[a-cx-z].txt", "/a/filey.txt", true },
        { "file[a-cx-z].txt", "/a/filem.txt", false },
        { "file[\\]].txt", "/a/file].txt", true },
        { "file[\\-].txt", "/a/file-.txt", true },
        { "a\\*b", "/x/a*b", true },
        { "a\\*b", "/x/aXb", false },
        { "a\\?b", "/x/a?b", true },
        { "\\[x]", "/dir/[x]", true },
        { "\\[x]", "/dir/x", false },
        { "with space.txt", "/d/with space.txt", true },
        { "名前", "/home/ann/名前/x", true },
    };

    [Theory]
    [MemberData(nameof(SinglePatterns))]
    public void One_pattern_matches_as_restic_documents(string pattern, string path, bool expected) =>
        Assert.Equal(expected, new PathFilter([pattern]).Matches(path));

    public static TheoryData<string[], string, bool> PatternLists => new()
    {
        { [], "/a", false },
        { ["*.c", "*.go"], "/x/test.go", true },
        { ["*.c", "*.go"], "/x/test.h", false },
        // Negation cancels earlier matches, in order; a later plain pattern can match again.
        { ["/home/*", "!/home/ann"], "/home/bob", true },
        { ["/home/*", "!/home/ann"], "/home/ann", false },
        { ["/home/*", "!/home/ann"], "/home/ann/notes.txt", false },
        { ["/home/*", "!/home/ann", "*.o"], "/home/ann/main.o", true },
        { ["!/home/ann", "/home/*"], "/home/ann", true }, // a negation only undoes what came before it
        { ["*.log", "!keep.log"], "/var/keep.log", false },
        { ["*.log", "!keep.log"], "/var/drop.log", true },
        { ["!*.log"], "/var/drop.log", false },
        { ["", "*.c"], "/x/test.c", true }, // empty patterns are ignored
    };

    [Theory]
    [MemberData(nameof(PatternLists))]
    public void Pattern_lists_apply_in_order_with_negation(string[] patterns, string path, bool expected) =>
        Assert.Equal(expected, new PathFilter(patterns).Matches(path));

    public static TheoryData<string, string, bool> InsensitivePatterns => new()
    {
        { "*.JPG", "/photos/a.jpg", true },
        { "*.jpg", "/photos/A.JPG", true },
        { "/Home/ANN", "/home/ann/x", true },
        { "[A-C]*.txt", "/d/bravo.txt", true },
        { "ÜBER", "/d/über", true },
        { "*.jpg", "/photos/a.png", false },
        { "/HOME/**/*.JPG", "/home/a/b/x.jpg", true },
        { "Cache/", "/srv/CACHE/blob", true },
        { "file[A-C].txt", "/d/fileb.txt", true },
        { "file?.TXT", "/d/fileXY.txt", false },
    };

    [Theory]
    [MemberData(nameof(InsensitivePatterns))]
    public void Case_insensitive_patterns_ignore_case_of_pattern_and_path(string pattern, string path, bool expected)
    {
        Assert.Equal(expected, new PathFilter([pattern], ignoreCase: true).Matches(path));
        if (expected && pattern != pattern.ToLowerInvariant())
            Assert.False(new PathFilter([pattern]).Matches(path), "without ignoreCase the same pattern must not match");
    }

    public static TheoryData<string[], string, bool> ChildMatches => new()
    {
        // Unanchored patterns may match at any depth below.
        { ["foo/bar"], "/foo", true },
        { ["bar"], "/foo", true },
        { ["*"], "/foo/bar", true },
        // Anchored patterns: only directories on the way to what they can match.
        { ["/foo/bar"], "/foo", true },
        { ["/foo/bar/baz"], "/foo/bar", true },
        { ["/foo/bar/baz"], "/foo/baz", false },
        { ["/baz/bar"], "/foo", false },
        { ["/foo"], "/foo/bar", true },
        { ["/foo/**/qux"], "/foo/bar/baz", true },
        { ["/foo/**"], "/foo/bar/baz", true },
        { ["/foo/*/qux"], "/foo/bar", true },
        { ["/foo/*/qux"], "/foo/bar/boo", false },
        { ["/bar/*"], "/foo", false },
        { ["/**/bar"], "/foo", true },
        // A negation that matches the directory unselects it and all below.
        { ["/home", "!/home/ann"], "/home/ann", false },
        { ["/home", "!/home/ann"], "/home/bob", true },
    };

    [Theory]
    [MemberData(nameof(ChildMatches))]
    public void Could_match_below_tells_restore_which_directories_to_enter(string[] patterns, string path, bool expected) =>
        Assert.Equal(expected, new PathFilter(patterns).CouldMatchBelow(path));

    [Theory]
    [InlineData("test/[")]
    [InlineData("test/**/[")]
    [InlineData("file[].txt")]
    [InlineData("file[^].txt")]
    [InlineData("file[z-a].txt")]
    [InlineData("file[-a].txt")]
    [InlineData("trailing\\")]
    [InlineData("[😀]")]
    public void Malformed_patterns_are_refused_with_one_line_naming_them(string pattern)
    {
        var e = Assert.Throws<ArgumentException>(() => new PathFilter(["ok", pattern]));
        Assert.Contains($"'{pattern}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Exclude_files_are_trimmed_skip_comments_and_expand_environment_variables()
    {
        using var dir = new Dedup.TestKit.TempDir();
        var file = dir.Combine("excludes.txt");
        Environment.SetEnvironmentVariable("DEDUP_FILTER_TEST_USER", "bob");
        try
        {
            File.WriteAllText(file, "# exclude go-files\n  *.go  \n\n/home/$DEDUP_FILTER_TEST_USER/cache\n/srv/${DEDUP_FILTER_TEST_USER}/tmp\nprice$$\n#*.c\n");
            var patterns = PathFilter.ReadFile(file).ToList();
            Assert.Equal(["*.go", "/home/bob/cache", "/srv/bob/tmp", "price$"], patterns);
            var filter = new PathFilter(patterns);
            Assert.True(filter.Matches("/home/bob/cache/x"));
            Assert.False(filter.Matches("/src/main.c"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("DEDUP_FILTER_TEST_USER", null);
        }
    }

    [Fact]
    public void Command_line_patterns_are_taken_verbatim()
    {
        // Only files are trimmed and commented; a pattern given directly may name " lead" or "#hash".
        Assert.True(new PathFilter(["#hash"]).Matches("/d/#hash"));
        Assert.True(new PathFilter([" lead"]).Matches("/d/ lead"));
        Assert.False(new PathFilter([" lead"]).Matches("/d/lead"));
    }
}

using Dedup.Format;
using Dedup.Mount;
using Dedup.Repository.Snapshots;
using Xunit;

namespace Dedup.Tests.Mount;

public sealed class SnapshotLayoutTests
{
    private static readonly string Tree = ObjectId.HashOf("root"u8).ToString();

    private static LoadedSnapshot Snapshot(string idHex, DateTimeOffset time, string host, string[]? tags = null,
        Dedup.Repository.Trust.SignerTrust trust = Dedup.Repository.Trust.SignerTrust.Repository) =>
        new(new SnapshotHeader(ObjectId.Parse(idHex.PadRight(64, '0')), time, DomainId.Repository, new Dedup.Repository.Trust.Signer([], trust, null, null)),
            new SnapshotInfo { Time = time, Host = host, Paths = ["/"], Tree = [Tree], Tags = tags ?? [] }, time);

    private static readonly DateTimeOffset T1 = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static string[] Names(SnapshotLayout layout, string path) =>
        ((LayoutDirectory)layout.Resolve(path).Node!).Children.Keys.ToArray();

    private static string Link(SnapshotLayout layout, string path) => ((LayoutLink)layout.Resolve(path).Node!).Target;

    [Fact]
    public void Snapshots_AreListedByTime_HostTagAndId_WithLatestLinks()
    {
        var layout = SnapshotLayout.Build([
            Snapshot("bb", T1.AddDays(1), "web1", ["nightly", "db"]),
            Snapshot("aa", T1, "web1", ["nightly"]),
            Snapshot("cc", T1.AddHours(1), "db1"),
        ], TimeZoneInfo.Utc);
        Assert.Equal(["hosts", "ids", "latest", "snapshots", "tags"], Names(layout, "/"));
        Assert.Equal(["2024-05-06T07:08:09Z", "2024-05-06T08:08:09Z", "2024-05-07T07:08:09Z", "latest"], Names(layout, "/snapshots"));
        Assert.Equal("2024-05-07T07:08:09Z", Link(layout, "/snapshots/latest"));
        Assert.Equal("snapshots/2024-05-07T07:08:09Z", Link(layout, "/latest"));
        Assert.Equal(["db1", "web1"], Names(layout, "/hosts"));
        Assert.Equal(["2024-05-06T07:08:09Z", "2024-05-07T07:08:09Z", "latest"], Names(layout, "/hosts/web1"));
        Assert.Equal("2024-05-06T08:08:09Z", Link(layout, "/hosts/db1/latest"));
        Assert.Equal(["db", "nightly"], Names(layout, "/tags"));
        Assert.Equal(["2024-05-06T07:08:09Z", "2024-05-07T07:08:09Z", "latest"], Names(layout, "/tags/nightly"));
        Assert.Equal(["aa000000", "bb000000", "cc000000"], Names(layout, "/ids"));

        var (node, inside) = layout.Resolve("/hosts/web1/2024-05-06T07:08:09Z/etc/hosts");
        Assert.Equal("aa", ((LayoutSnapshot)node!).Snapshot.Id.ToString()[..2]);
        Assert.Equal(["etc", "hosts"], inside);
        Assert.Null(layout.Resolve("/hosts/nobody").Node);
        Assert.Null(layout.Resolve("/latest/etc").Node);
    }

    [Fact]
    public void TimesAreLocal_AndSnapshotsOfOneSecondGetSuffixes()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours(2), "plus2", "plus2");
        var layout = SnapshotLayout.Build([Snapshot("02", T1, "h"), Snapshot("01", T1, "h"), Snapshot("03", T1.AddMilliseconds(400), "h")], zone);
        Assert.Equal(["2024-05-06T09:08:09+02:00", "2024-05-06T09:08:09+02:00-1", "2024-05-06T09:08:09+02:00-2", "latest"], Names(layout, "/snapshots"));
        // Same second: ordered by time, then by ID.
        Assert.StartsWith("01", ((LayoutSnapshot)layout.Resolve("/snapshots/2024-05-06T09:08:09+02:00").Node!).Snapshot.Id.ToString());
        Assert.StartsWith("03", ((LayoutSnapshot)layout.Resolve("/snapshots/2024-05-06T09:08:09+02:00-2").Node!).Snapshot.Id.ToString());
        Assert.Equal("2024-05-06T09:08:09+02:00-2", Link(layout, "/snapshots/latest"));
    }

    [Fact]
    public void UntrustedSnapshots_AreNotShownAnywhere()
    {
        var layout = SnapshotLayout.Build([
            Snapshot("aa", T1, "web1"),
            Snapshot("ff", T1.AddYears(10), "db1", ["nightly"], Dedup.Repository.Trust.SignerTrust.Untrusted),
            Snapshot("bb", T1.AddDays(1), "web2", trust: Dedup.Repository.Trust.SignerTrust.CertifiedWriter),
        ], TimeZoneInfo.Utc);
        Assert.Equal(["web1", "web2"], Names(layout, "/hosts"));
        Assert.Empty(Names(layout, "/tags"));
        Assert.Equal(["aa000000", "bb000000"], Names(layout, "/ids"));
        Assert.Equal("snapshots/2024-05-07T07:08:09Z", Link(layout, "/latest"));
        Assert.Equal(2, layout.Snapshots.Count);
    }

    [Fact]
    public void IdsSharingAShortPrefix_AreListedInFull_AndOddHostNamesBecomeSafe()
    {
        var layout = SnapshotLayout.Build([
            Snapshot("abcdef0111", T1, "a/b"),
            Snapshot("abcdef0122", T1.AddSeconds(1), ".."),
            Snapshot("99", T1.AddSeconds(2), ""),
        ], TimeZoneInfo.Utc);
        Assert.Equal(["99000000", "abcdef0111".PadRight(64, '0'), "abcdef0122".PadRight(64, '0')], Names(layout, "/ids"));
        Assert.Equal(["_", "_..", "a_b"], Names(layout, "/hosts"));
    }

    [Fact]
    public void AnEmptyRepository_ShowsEmptyDirectoriesAndNoLatest()
    {
        var layout = SnapshotLayout.Build([], TimeZoneInfo.Utc);
        Assert.Equal(["hosts", "ids", "snapshots", "tags"], Names(layout, "/"));
        Assert.Empty(Names(layout, "/snapshots"));
    }
}

using Dedup.Storage.S3;
using Xunit;

namespace Dedup.Tests.Storage;

public sealed class S3LocationTests
{
    [Theory]
    [InlineData("s3:https://s3.example.com/bucket", "https://s3.example.com/", "bucket", "")]
    [InlineData("s3:https://s3.example.com:9000/bucket/a/b/", "https://s3.example.com:9000/", "bucket", "a/b")]
    [InlineData("s3:http://127.0.0.1:7480/dedup-test/repo", "http://127.0.0.1:7480/", "dedup-test", "repo")]
    [InlineData("s3:http://localhost:7480/dedup-test", "http://localhost:7480/", "dedup-test", "")]
    [InlineData("s3:http://[::1]:7480/dedup-test", "http://[::1]:7480/", "dedup-test", "")]
    [InlineData("s3:my-bucket/some/prefix", null, "my-bucket", "some/prefix")]
    [InlineData("s3:my.bucket", null, "my.bucket", "")]
    public void Parses_valid_urls(string url, string? endpoint, string bucket, string prefix)
    {
        var location = S3Location.Parse(url);
        Assert.Equal(endpoint, location.Endpoint?.ToString());
        Assert.Equal(bucket, location.Bucket);
        Assert.Equal(prefix, location.Prefix);
    }

    [Theory]
    [InlineData("https://host/bucket", "starts with 's3:'")]
    [InlineData("s3:http://s3.example.com/bucket", "only for a server on this machine")]
    [InlineData("s3:https://AKIA:secret@host/bucket", "Credentials in the repository URL")]
    [InlineData("s3:https://host/", "names no bucket")]
    [InlineData("s3:https://host/Bad_Bucket", "not a valid bucket name")]
    [InlineData("s3:ab", "not a valid bucket name")]
    [InlineData("s3:ftp://host/bucket", "http:// or https://")]
    public void Rejects_bad_urls_with_a_clear_message(string url, string expected)
    {
        var e = Assert.Throws<FormatException>(() => S3Location.Parse(url));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Fact]
    public void Keys_and_display_form()
    {
        var location = S3Location.Parse("s3:https://host:9000/bucket/repo");
        Assert.Equal("repo/data/ab/x", location.KeyOf("data/ab/x"));
        Assert.Equal("repo/", location.KeyPrefix);
        Assert.Equal("s3:https://host:9000/bucket/repo", location.ToString());
        Assert.Equal("s3:bucket", S3Location.Parse("s3:bucket").ToString());
        Assert.Equal("config", S3Location.Parse("s3:bucket").KeyOf("config"));
    }

    [Theory]
    [InlineData("s3:https://host/bucket/a/../b")]
    [InlineData("s3:https://host/bucket/./b")]
    [InlineData("s3:bucket/a/../b")]
    [InlineData("s3:bucket/a\\b")]
    public void Rejects_prefixes_that_escape_or_are_ambiguous(string url) =>
        Assert.Throws<FormatException>(() => S3Location.Parse(url));
}

using System.Text.Json;
using Amazon.S3.Model;
using Dedup.Storage.S3;
using Dedup.TestKit;
using Xunit;

namespace Dedup.EndToEnd.S3;

/// <summary>
/// Cold storage against the real S3 server. The storage-class headers are real (RGW stores GLACIER and reports it);
/// the archive semantics come from ArchiveEmulatingStorage (DEDUP_EMULATE_ARCHIVE), an emulation on top of it: RGW
/// keeps GLACIER objects readable and has no RestoreObject.
/// </summary>
[Collection("S3")]
public sealed class S3ColdStorageTests : S3ColdTestBase
{
    [Fact]
    public async Task With_glacier_only_data_packs_are_archived_and_listing_works_while_a_restore_names_what_to_run()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "cold-class");
        var client = S3Env.Client;
        var src = Cli.Dir.CreateDirectory("src");
        WriteFiles(Path.Combine(src, "a"), 1);
        Init(client, url);
        // README "Cold storage": the backup with the archive class.
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);

        var classes = await ClassesAsync(S3Env.Bucket, prefix);
        var glacier = classes.Where(c => c.Value == "GLACIER").Select(c => c.Key).ToList();
        Assert.NotEmpty(glacier);
        Assert.All(glacier, k => Assert.StartsWith("data/", k, StringComparison.Ordinal));
        // Everything else (config, keys, index, snapshots and the tree pack, also under data/) is STANDARD.
        Assert.Contains(classes, c => c.Key.StartsWith("data/", StringComparison.Ordinal) && c.Value == "STANDARD");
        Assert.All(classes.Where(c => !c.Key.StartsWith("data/", StringComparison.Ordinal)), c => Assert.Equal("STANDARD", c.Value));
        // Also by HEAD, as S3Storage sees one data pack.
        var s3 = new S3Storage(Dedup.Storage.S3.S3Location.Parse(url), null, new Amazon.Runtime.BasicAWSCredentials(S3Env.Admin.Key, S3Env.Admin.Secret));
        using (s3)
            Assert.Equal(("GLACIER", Dedup.Storage.ArchiveStatus.Archived), await StateOf(s3, glacier[0]));

        // With archive semantics: snapshots and ls read only hot objects, so they work; a restore hits an archived pack.
        Ok(client, url, ["snapshots"], Emulated);
        Assert.Contains("f0.bin", Ok(client, url, ["ls", "latest"], Emulated).Stdout, StringComparison.Ordinal);
        var failed = Run(client, url, ["restore", "latest", "--target", Cli.Dir.Combine("t")], Emulated);
        AssertOneLineError(failed, "archive storage class", "--plan", "--retrieve-tier");
        // Without --retrieve-tier (threat 38): check names each archived pack and what to run, and does not call it damage;
        // copy fails with one line; neither requests anything.
        var check = Run(client, url, ["check", "--read-data"], Emulated);
        Assert.True(check.ExitCode == 0, check.ToString());
        foreach (var pack in glacier)
            Assert.Contains($"{pack}: archived in GLACIER and not retrieved: not read, so not verified", check.Stdout + check.Stderr, StringComparison.Ordinal);
        Assert.Contains("--retrieve-tier standard", check.Stdout + check.Stderr, StringComparison.Ordinal);
        Cli.Init();
        var copy = Cli.Run(["-r", Cli.Repo, "copy", "--from-repo", url, "--from-password-file", Cli.PasswordFile], client.Env(Emulated));
        AssertOneLineError(copy, "archive storage class", "--retrieve-tier");
        Assert.Empty(ArchiveEmulatingStorage.RequestedNames(EmulationState));
    }

    private static async Task<(string?, Dedup.Storage.ArchiveStatus)> StateOf(S3Storage s3, string name)
    {
        var state = await s3.GetArchiveStateAsync(name);
        return (state.StorageClass, state.Status);
    }

    [Fact]
    public async Task A_partial_restore_plans_and_retrieves_only_its_packs_and_a_kill_while_waiting_resumes()
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, "cold-restore");
        var client = S3Env.Client;
        var src = Cli.Dir.CreateDirectory("src");
        WriteFiles(Path.Combine(src, "a"), 10);
        Init(client, url);
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var packsOfA = (await ClassesAsync(S3Env.Bucket, prefix)).Where(c => c.Value == "GLACIER").Select(c => c.Key).ToHashSet();
        WriteFiles(Path.Combine(src, "b"), 20);
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var allPacks = (await ClassesAsync(S3Env.Bucket, prefix)).Where(c => c.Value == "GLACIER").Select(c => c.Key).ToHashSet();
        Assert.True(allPacks.Count > packsOfA.Count, "the second backup added archived packs of its own");
        var target = Cli.Dir.Combine("t");
        string[] restoreA = ["restore", "latest", "--target", target, "--include", Path.Combine(src, "a")];

        // --plan: exactly the packs of a/, all archived, a cost per tier; nothing requested, nothing written.
        var plan = JsonOutput.Result(Ok(client, url, [.. restoreA, "--plan", "--json"], Emulated).Stdout);
        var planned = plan.GetProperty("unreadable").EnumerateArray().Select(p => p.GetProperty("name").GetString()!).ToHashSet();
        Assert.Equal(packsOfA.Order(), planned.Order());
        Assert.Equal(packsOfA.Count, plan.GetProperty("archived_packs").GetInt32());
        var tiers = plan.GetProperty("tiers").EnumerateArray().ToDictionary(t => t.GetProperty("tier").GetString()!, t => t.GetProperty("cost_usd"));
        Assert.True(tiers["expedited"].GetDecimal() > tiers["standard"].GetDecimal(), "expedited costs more than standard");
        Assert.Empty(ArchiveEmulatingStorage.RequestedNames(EmulationState));
        Assert.False(Directory.Exists(target));
        // The same, as a table on a terminal (the README's command).
        // README "Cold storage": the plan as a table, and below the retrieval with the same arguments.
        var table = Ok(client, url, [.. restoreA, "--plan"], Emulated).Stdout;
        Assert.Contains("standard", table, StringComparison.Ordinal);
        Assert.Contains("GLACIER", table, StringComparison.Ordinal);

        // Retrieve with a frozen clock: the retrievals never finish, the process waits; kill it while it waits.
        KillWhileWaiting(client, ["-r", url, .. restoreA, "--retrieve-tier", "standard", "--retrieve-days", "7"], packsOfA);
        Assert.False(File.Exists(Path.Combine(target + src, "a", "f0.bin")), "nothing was restored before the packs thawed");

        // The re-run, on a clock that moves as the process waits: asks again (idempotent), waits out the 5 hours, restores.
        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.Zero);
        var done = Ok(client, url, [.. restoreA, "--retrieve-tier", "standard", "--retrieve-days", "7"], Emulated);
        Assert.Contains($"retrieval: {packsOfA.Count}/{packsOfA.Count} pack(s) readable", done.Stdout, StringComparison.Ordinal);
        Assert.Equal(packsOfA.Order(), ArchiveEmulatingStorage.RequestedNames(EmulationState));
        for (int i = 0; i < 3; i++)
            Assert.Equal(File.ReadAllBytes(Path.Combine(src, "a", $"f{i}.bin")), File.ReadAllBytes(Path.Combine(target + src, "a", $"f{i}.bin")));
        Assert.False(Directory.Exists(Path.Combine(target + src, "b")));
        // The emulated clock moved by at least the standard tier's 5 hours: the wait was measured on it, not slept.
        var offset = double.Parse(File.ReadAllText(Path.Combine(EmulationState, "clock")).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(offset >= TimeSpan.FromHours(5).TotalSeconds, $"clock moved {offset} s");
    }

    [Fact]
    public async Task Prune_keeps_archived_partly_used_packs_and_deletes_unused_ones_only_after_the_minimum_duration()
    {
        // Spec threat 37: a backup host (client credentials) puts its packs in GLACIER, so that the admin's prune, which
        // would repack partly used packs, cannot read them. The admin's prune keeps them and goes on.
        var (url, prefix) = NewRepo(S3Env.Bucket, "cold-prune");
        var admin = S3Env.Admin;
        var host = S3Env.Client;
        var src = Cli.Dir.CreateDirectory("src");
        Init(admin, url);
        async Task<HashSet<string>> Glacier() =>
            (await ClassesAsync(S3Env.Bucket, prefix)).Where(c => c.Value == "GLACIER").Select(c => Path.GetFileName(c.Key)).ToHashSet();
        // One pack open at a time (one seal slot per processor), so each backup's 6 MiB land in one 16 MiB pack: with
        // two open packs, which blobs share a pack depends on timing, and a's files could each fill a pack of their own
        // (no pack partly used).
        var onePack = new Dictionary<string, string?> { ["DOTNET_PROCESSOR_COUNT"] = "1" };
        WriteFiles(Path.Combine(src, "a"), 30);
        Ok(host, url, ["--s3-storage-class", "GLACIER", "backup", src], onePack);
        var packsOfA = await Glacier();
        Assert.Single(packsOfA);
        WriteFiles(Path.Combine(src, "c"), 40);
        Ok(host, url, ["--s3-storage-class", "GLACIER", "backup", src], onePack);
        var packsOfC = (await Glacier()).Except(packsOfA).ToHashSet();
        Assert.NotEmpty(packsOfC);
        // The latest snapshot keeps a/f1 and a/f2 only: a's packs become partly used, c's wholly unused.
        Directory.Delete(Path.Combine(src, "c"), recursive: true);
        File.Delete(Path.Combine(src, "a", "f0.bin"));
        Ok(host, url, ["--s3-storage-class", "GLACIER", "backup", src], onePack);
        Ok(admin, url, ["forget", "--keep-last", "1"]);

        // --max-unused 0 would repack every partly used pack, --grace 0 would delete at once: the classes stop both.
        var first = JsonOutput.Result(Ok(admin, url, ["prune", "--grace", "0", "--max-unused", "0", "--json"]).Stdout);
        var plan = first.GetProperty("plan").GetProperty("packs").EnumerateArray()
            .ToDictionary(p => p.GetProperty("pack").GetString()!, p => (Action: p.GetProperty("action").GetString()!, Reason: p.GetProperty("reason").GetString()!));
        foreach (var pack in packsOfC)
        {
            Assert.Equal("keep", plan[pack].Action);
            Assert.Contains("minimum storage duration", plan[pack].Reason, StringComparison.Ordinal);
        }
        Assert.Contains(packsOfA, p => plan.TryGetValue(p, out var x) && x.Reason.Contains("archived in GLACIER: never repacked", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Values, p => p.Action == "repack");
        Assert.True(first.GetProperty("archived_packs_kept").GetInt32() >= 1);
        Assert.Equal(packsOfC.Count, first.GetProperty("packs_waiting_min_duration").GetInt32());
        var after = await Glacier();
        Assert.Superset(after, packsOfA.Union(packsOfC).ToHashSet());
        // README "Cold storage": the dry run lists what waits, and until when.
        var dry = Ok(admin, url, ["prune", "--dry-run"]).Stdout;
        Assert.Contains("minimum storage duration", dry, StringComparison.Ordinal);
        Assert.Contains("never repacked", dry, StringComparison.Ordinal);

        // Told to ignore the minimum duration: c's packs are marked and (grace 0) deleted; a's stay, still not repacked.
        var second = JsonOutput.Result(Ok(admin, url, ["prune", "--grace", "0", "--max-unused", "0", "--ignore-min-storage-duration", "--json"]).Stdout);
        Assert.Equal(packsOfC.Count, second.GetProperty("packs_deleted").GetInt32());
        after = await Glacier();
        Assert.Empty(after.Intersect(packsOfC));
        Assert.Superset(packsOfA, after.Intersect(packsOfA).ToHashSet());
        Assert.Equal(packsOfA.Order(), after.Intersect(packsOfA).Order());

        // Nothing the latest snapshot needs was lost: retrieve and restore it, byte-identical.
        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.Zero);
        var target = Cli.Dir.Combine("t");
        // README "Cold storage": the restore with retrieval (bulk: free per GB on GLACIER).
        Ok(admin, url, ["restore", "latest", "--target", target, "--retrieve-tier", "bulk"], Emulated);
        foreach (var f in new[] { "f1.bin", "f2.bin" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(src, "a", f)), File.ReadAllBytes(Path.Combine(target + src, "a", f)));
    }

    /// <summary>A repository under a fresh prefix with one backup of SRC/a (files seeded by <paramref name="seed"/>) in GLACIER, and its archived packs.</summary>
    private async Task<(string Url, string Prefix, string Src, HashSet<string> Glacier)> ColdBackupAsync(string purpose, int seed)
    {
        var (url, prefix) = NewRepo(S3Env.Bucket, purpose);
        var src = Cli.Dir.CreateDirectory("src");
        WriteFiles(Path.Combine(src, "a"), seed);
        Init(S3Env.Client, url);
        Ok(S3Env.Client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var glacier = await GlacierAsync(prefix);
        Assert.NotEmpty(glacier);
        return (url, prefix, src, glacier);
    }

    private static async Task<HashSet<string>> GlacierAsync(string prefix) =>
        (await ClassesAsync(S3Env.Bucket, prefix)).Where(c => c.Value == "GLACIER").Select(c => c.Key).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Runs the command on a frozen emulated clock, on which retrievals never finish, until it says it waits for them;
    /// checks that it asked for exactly <paramref name="requested"/>, and kills it there.
    /// </summary>
    private void KillWhileWaiting(S3Credentials who, string[] args, IEnumerable<string> requested)
    {
        EmulatedArchiveClock.Set(EmulationState, "frozen", TimeSpan.Zero);
        using var waiting = Cli.StartWith(args, who.Env(Emulated));
        waiting.WaitForLine("retrieval: ", TimeSpan.FromMinutes(2));
        Assert.Equal(requested.Order(StringComparer.Ordinal), ArchiveEmulatingStorage.RequestedNames(EmulationState));
        waiting.Signal("KILL");
        Assert.NotEqual(0, waiting.WaitForExit(TimeSpan.FromMinutes(1)).ExitCode);
    }

    /// <summary>Flips one byte of an object with the admin's credentials, keeping its storage class (an attack, or bit rot).</summary>
    private static async Task DamageAsync(string bucket, string prefix, string name)
    {
        using var s3 = S3Env.Sdk(S3Env.Admin);
        byte[] bytes;
        using (var got = await s3.GetObjectAsync(bucket, prefix + "/" + name))
        using (var ms = new MemoryStream())
        {
            await got.ResponseStream.CopyToAsync(ms);
            bytes = ms.ToArray();
        }
        bytes[bytes.Length / 3] ^= 0x01;
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = prefix + "/" + name, InputStream = new MemoryStream(bytes), StorageClass = Amazon.S3.S3StorageClass.Glacier,
        });
    }

    [Fact]
    public async Task Check_read_data_with_a_tier_requests_exactly_the_archived_packs_survives_a_kill_and_a_damaged_archived_pack_is_damage_after_it_thaws()
    {
        var (url, prefix, src, first) = await ColdBackupAsync("cold-check", 50);
        var client = S3Env.Client;
        // --plan: every archived pack the check reads, a cost per tier; nothing requested.
        var plan = JsonOutput.Result(Ok(client, url, ["check", "--read-data", "--plan", "--json"], Emulated).Stdout);
        Assert.Equal("check_plan", plan.GetProperty("message_type").GetString());
        Assert.Equal(first.Order(StringComparer.Ordinal), plan.GetProperty("unreadable").EnumerateArray().Select(p => p.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(first.Count, plan.GetProperty("archived_packs").GetInt32());
        Assert.True(plan.GetProperty("packs").GetInt32() > first.Count, "the tree pack is read too, and is hot");
        // README "Cold storage": check's plan as a table, then check --read-data with retrieval.
        var table = Ok(client, url, ["check", "--read-data", "--plan"], Emulated).Stdout;
        Assert.Contains("GLACIER", table, StringComparison.Ordinal);
        Assert.Contains("then run the same check with --retrieve-tier", table, StringComparison.Ordinal);
        Assert.Empty(ArchiveEmulatingStorage.RequestedNames(EmulationState));
        string[] check = ["check", "--read-data", "--retrieve-tier", "standard"];

        // A frozen clock: the retrievals never finish; the check waits after requesting them, and is killed there.
        KillWhileWaiting(client, ["-r", url, .. check], first);

        // The re-run on a clock that moves as it waits: asks again (idempotent), verifies each pack as it thaws, passes.
        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.Zero);
        var passed = Ok(client, url, check, Emulated);
        var all = passed.Stdout + passed.Stderr;
        Assert.Contains("no errors were found", all, StringComparison.Ordinal);
        Assert.DoesNotContain("not retrieved", all, StringComparison.Ordinal);
        Assert.Matches(@"retrieval: (\d+)/\1 pack\(s\) readable", all);
        Assert.Equal(first.Order(StringComparer.Ordinal), ArchiveEmulatingStorage.RequestedNames(EmulationState));

        // A second backup adds archived packs; one of them is damaged before anything asked for it.
        WriteFiles(Path.Combine(src, "b"), 60);
        Ok(client, url, ["--s3-storage-class", "GLACIER", "backup", src]);
        var all2 = await GlacierAsync(prefix);
        var added = all2.Except(first).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(added);
        await DamageAsync(S3Env.Bucket, prefix, added[0]);
        var damaged = Run(client, url, [.. check, "--json"], Emulated);
        Assert.True(damaged.ExitCode == 12, damaged.ToString());
        var report = JsonOutput.Result(damaged.Stdout);
        var errors = report.GetProperty("problems").EnumerateArray().Where(p => !p.GetProperty("warning").GetBoolean()).ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal(added[0], e.GetProperty("object").GetString()));
        Assert.Contains(errors, e => e.GetProperty("files").GetArrayLength() > 0);
        Assert.DoesNotContain(report.GetProperty("problems").EnumerateArray(), p => p.GetProperty("description").GetString()!.Contains("not retrieved", StringComparison.Ordinal));
        // Only the new archived packs were asked for now; every archived pack was asked for once in all.
        Assert.Equal(all2.Order(StringComparer.Ordinal), ArchiveEmulatingStorage.RequestedNames(EmulationState));
    }

    [Fact]
    public async Task Copy_with_a_tier_retrieves_the_source_packs_copies_every_snapshot_and_the_destination_verifies()
    {
        var (url, prefix, src, glacier) = await ColdBackupAsync("cold-copy", 70);
        var client = S3Env.Client;
        WriteFiles(Path.Combine(src, "b"), 80);
        Ok(client, url, ["backup", src]); // b's packs hot: this snapshot needs a's archived packs too
        Assert.Equal(glacier.Order(StringComparer.Ordinal), (await GlacierAsync(prefix)).Order(StringComparer.Ordinal));
        Cli.Init();
        // --plan: the snapshots to copy and every archived pack they read, a cost per tier; nothing requested or copied.
        var planned = Cli.Run(["-r", Cli.Repo, "copy", "--from-repo", url, "--from-password-file", Cli.PasswordFile, "--plan", "--json"], client.Env(Emulated));
        Assert.True(planned.ExitCode == 0, planned.ToString());
        var plan = JsonOutput.Result(planned.Stdout);
        Assert.Equal("copy_plan", plan.GetProperty("message_type").GetString());
        Assert.Equal(2, plan.GetProperty("snapshots").GetInt32());
        Assert.Equal(glacier.Order(StringComparer.Ordinal), plan.GetProperty("unreadable").EnumerateArray().Select(p => p.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
        Assert.Empty(ArchiveEmulatingStorage.RequestedNames(EmulationState));
        // README "Cold storage": copy with retrieval (the destination here a local folder).
        string[] copy = ["-r", Cli.Repo, "copy", "--from-repo", url, "--from-password-file", Cli.PasswordFile, "--retrieve-tier", "bulk", "--retrieve-days", "2"];

        KillWhileWaiting(client, copy, glacier);
        // Killed while every snapshot still waited for a pack: none was copied.
        var copiedSnapshots = Path.Combine(Cli.Repo, "snapshots");
        Assert.False(Directory.Exists(copiedSnapshots) && Directory.EnumerateFiles(copiedSnapshots, "*", SearchOption.AllDirectories).Any(), "no snapshot was copied");

        EmulatedArchiveClock.Set(EmulationState, "auto", TimeSpan.Zero);
        var done = Cli.Run(copy, client.Env(Emulated));
        Assert.True(done.ExitCode == 0, done.ToString());
        Assert.Contains("2 snapshot(s) copied", done.Stdout + done.Stderr, StringComparison.Ordinal);
        Assert.Equal(glacier.Order(StringComparer.Ordinal), ArchiveEmulatingStorage.RequestedNames(EmulationState));
        var verified = Cli.Run(["-r", Cli.Repo, "check", "--read-data"]);
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Contains("no errors were found", verified.Stdout + verified.Stderr, StringComparison.Ordinal);
        var target = Cli.Dir.Combine("t");
        Cli.Ok("restore", "latest", "--target", target);
        foreach (var dir in new[] { "a", "b" })
            for (int i = 0; i < 3; i++)
                Assert.Equal(File.ReadAllBytes(Path.Combine(src, dir, $"f{i}.bin")), File.ReadAllBytes(Path.Combine(target + src, dir, $"f{i}.bin")));
    }

    [Fact]
    public void Plan_on_a_local_folder_is_one_clear_line()
    {
        Cli.Init();
        var src = Cli.Dir.CreateDirectory("src");
        File.WriteAllText(Path.Combine(src, "x"), "x");
        Cli.Ok("backup", src);
        var r = Cli.Run(["-r", Cli.Repo, "restore", "latest", "--target", Cli.Dir.Combine("t"), "--plan"]);
        AssertOneLineError(r, "local folder");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "restore", "latest", "--target", Cli.Dir.Combine("t"), "--retrieve-tier", "bulk"]), "local folder");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "restore", "latest", "--target", Cli.Dir.Combine("t"), "--retrieve-days", "3"]), "--retrieve-days goes with --retrieve-tier");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "restore", "latest", "--target", Cli.Dir.Combine("t"), "--retrieve-tier", "fast"]), "'fast' not recognized", "expedited");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "check", "--read-data", "--retrieve-tier", "bulk"]), "local folder");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "check", "--retrieve-tier", "bulk"]), "--retrieve-tier goes with --read-data");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "check", "--read-data", "--plan"]), "--plan is for S3", "local folder");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "check", "--plan"]), "--plan goes with --read-data");
        AssertOneLineError(Cli.Run(["-r", Cli.Repo, "check", "--read-data", "--retrieve-days", "3"]), "--retrieve-days goes with --retrieve-tier");
        AssertOneLineError(Cli.Run(["-r", Cli.Dir.Combine("other"), "copy", "--from-repo", Cli.Repo, "--from-password-file", Cli.PasswordFile, "--retrieve-tier", "bulk"]), "local folder");
        Assert.False(Directory.Exists(Cli.Dir.Combine("t")), "nothing was restored");
    }
}

using Dedup.Archiver.Check;
using Dedup.Format;
using Dedup.Repository;
using Dedup.Storage;
using Dedup.TestKit;
using Xunit;
using static Dedup.Tests.Reliability.ReliabilityHelpers;

namespace Dedup.Tests.Reliability;

/// <summary>
/// Storage faults injected under real backups and restores (issue 5, "Storage faults"): transient faults are retried and
/// the work completes; permanent ones fail with the store's own one-line error; what a failed run leaves is consistent.
/// The random-schedule properties are in <see cref="StorageFaultProperties"/>.
/// </summary>
public sealed class StorageFaultTests : IDisposable
{
    private readonly TempDir _source = new("dedup-src");

    public StorageFaultTests() => DataGen.FileTree(_source.Path, 5, 250_000);

    public void Dispose() => _source.Dispose();

    // ---- the injector itself ----

    [Fact]
    public async Task Rules_match_operation_and_pattern_and_fire_after_N_successes_for_M_times()
    {
        var f = new FaultInjectingStorage(new MemoryStorage());
        f.Add(new FaultRule { Operations = StorageOp.Put, NamePattern = "data/*", Kind = FaultKind.Transient, AfterSuccesses = 2, Times = 2 });
        await f.PutAsync("index/a", new byte[] { 1 });
        await f.PutAsync("data/1", new byte[] { 1 });
        await f.PutAsync("data/2", new byte[] { 1 });
        await Assert.ThrowsAsync<StorageUnavailableException>(() => f.PutAsync("data/3", new byte[] { 1 }));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => f.PutAsync("data/3", new byte[] { 1 }));
        Assert.Equal(PutOutcome.Created, await f.PutAsync("data/3", new byte[] { 1 }));
        Assert.Equal(2, f.FaultsInjected);
        Assert.Equal(6, f.Calls(StorageOp.Put));
    }

    [Fact]
    public async Task Read_faults_shape_the_stream_as_asked()
    {
        var inner = new MemoryStorage();
        var bytes = DataGen.RandomBytes(1, 10_000);
        await inner.PutAsync("o", bytes);
        async Task<byte[]> Read(FaultRule rule)
        {
            var f = new FaultInjectingStorage(inner, seed: 3).Add(rule);
            await using var s = await f.OpenReadAsync("o");
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            return ms.ToArray();
        }
        Assert.Equal(bytes, await Read(new FaultRule { Kind = FaultKind.ShortReads }));
        Assert.Equal(bytes[..1234], await Read(new FaultRule { Kind = FaultKind.TruncatedStream, KeepBytes = 1234 }));
        var flipped = await Read(new FaultRule { Kind = FaultKind.FlipBytes });
        Assert.Equal(1, bytes.Zip(flipped).Count(p => p.First != p.Second));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => Read(new FaultRule { Kind = FaultKind.FailMidStream, KeepBytes = 500 }));
        await Assert.ThrowsAsync<StorageException>(() => Read(new FaultRule { Kind = FaultKind.Permanent }));
    }

    [Fact]
    public async Task A_lost_put_response_is_retried_and_reported_as_created()
    {
        var f = new FaultInjectingStorage(new MemoryStorage());
        f.Add(new FaultRule { Operations = StorageOp.Put, Kind = FaultKind.LandThenTransient, Times = 1 });
        var s = f.WithRetries(FastRetries(3));
        Assert.Equal(PutOutcome.Created, await s.PutAsync("data/x", new byte[] { 7 }));
        Assert.Equal(2, f.Calls(StorageOp.Put));
    }

    // ---- transient faults: retried, the backup completes ----

    [Fact]
    public async Task A_backup_completes_through_transient_faults_on_every_operation_and_restores_identical()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var f = new FaultInjectingStorage(t.Storage, seed: 11) { Enabled = false };
        f.AddRange([
            new FaultRule { Operations = StorageOp.Put, NamePattern = "data/*", Kind = FaultKind.Transient, Probability = 0.5, Times = 20 },
            new FaultRule { Operations = StorageOp.Put, Kind = FaultKind.LandThenTransient, Probability = 0.3, Times = 10 },
            new FaultRule { Operations = StorageOp.Read | StorageOp.Stat, Kind = FaultKind.Transient, Probability = 0.3, Times = 20 },
            new FaultRule { Operations = StorageOp.List, Kind = FaultKind.Transient, KeepBytes = 1, Times = 3 },
            new FaultRule { Operations = StorageOp.Read, Kind = FaultKind.ShortReads },
        ]);
        // Rules compound (about 65% of attempts fault while they last), so allow enough attempts that no call runs out.
        await using var repo = await Dedup.Repository.Repository.OpenAsync(f.WithRetries(FastRetries(16)), System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        f.Enabled = true;
        var result = await BackupAsync(repo, _source.Path);
        Assert.True(f.FaultsInjected >= 5, $"only {f.FaultsInjected} faults were injected");
        Assert.Empty(result.Failures);

        using var target = new TempDir("dedup-restore");
        var restored = await RestoreAsync(repo, result.SnapshotId, target.Path);
        Assert.Empty(restored.Failures);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(target.Path, _source.Path)));
        f.Enabled = false;
        Assert.Equal(1, await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage));
    }

    // ---- permanent faults: a clear error, and nothing inconsistent left ----

    [Theory]
    [InlineData("data/*", FaultKind.AccessDenied)]
    [InlineData("data/*", FaultKind.Full)]
    [InlineData("index/*", FaultKind.Permanent)]
    [InlineData("snapshots/*", FaultKind.Full)]
    [InlineData("inflight/*", FaultKind.AccessDenied)]
    public async Task A_permanent_put_fault_fails_the_backup_with_the_stores_message_and_leaves_no_snapshot(string pattern, FaultKind kind)
    {
        await using var t = await TestRepo.InMemoryAsync();
        var f = new FaultInjectingStorage(t.Storage);
        await using var repo = await Dedup.Repository.Repository.OpenAsync(f.WithRetries(FastRetries(4)), System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        f.Add(new FaultRule { Operations = StorageOp.Put, NamePattern = pattern, Kind = kind });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => BackupAsync(repo, _source.Path));
        // The store's error itself, not a cancellation or an aggregate that hides it.
        var expected = FaultInjectingStorage_ErrorType(kind);
        Assert.IsType(expected, e);
        Assert.StartsWith("Injected fault:", e.Message);
        Assert.Contains(pattern.TrimEnd('*'), e.Message);
        // Permanent: each object is tried once, never retried. (Parallel uploads may each hit the fault once before the
        // first failure stops the writer, so count per name, not in total.)
        Assert.True(f.FaultsInjected >= 1);
        Assert.Equal(f.Injected.Count, f.Injected.Distinct().Count());
        f.Enabled = false;
        Assert.Equal(0, await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage));
    }

    private static Type FaultInjectingStorage_ErrorType(FaultKind kind) => kind switch
    {
        FaultKind.AccessDenied => typeof(StorageAccessDeniedException),
        FaultKind.Full => typeof(StorageFullException),
        _ => typeof(StorageException),
    };

    [Fact]
    public async Task Transient_faults_that_outlast_the_retries_fail_with_the_last_error()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var f = new FaultInjectingStorage(t.Storage);
        await using var repo = await Dedup.Repository.Repository.OpenAsync(f.WithRetries(FastRetries(3)), System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        f.Add(new FaultRule { Operations = StorageOp.Put, NamePattern = "data/*", Kind = FaultKind.Transient });
        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => BackupAsync(repo, _source.Path));
        Assert.Contains("data/", e.Message);
        Assert.True(f.FaultsInjected >= 3); // the first pack upload was tried MaxAttempts times before giving up
        f.Enabled = false;
        Assert.Equal(0, await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage));
    }

    [Fact]
    public async Task When_the_snapshot_cannot_be_stored_the_next_backup_reuses_every_blob_already_stored()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var f = new FaultInjectingStorage(t.Storage);
        await using (var repo = await Dedup.Repository.Repository.OpenAsync(f, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)))
        {
            f.Add(new FaultRule { Operations = StorageOp.Put, NamePattern = "snapshots/*", Kind = FaultKind.AccessDenied });
            await Assert.ThrowsAsync<StorageAccessDeniedException>(() => BackupAsync(repo, _source.Path));
        }
        await using var again = await t.ReopenAsync();
        var result = await BackupAsync(again, _source.Path);
        // No file data is stored again. (A small tree blob may be: the snapshot root records /tmp's metadata, which other
        // tests running at the same time keep changing.)
        Assert.True(result.Snapshot.Summary.BytesAdded < 4096, System.Text.Json.JsonSerializer.Serialize(result.Snapshot.Summary));
        Assert.Equal(1, await VerifyNoSnapshotRefersToMissingDataAsync(t.Storage));
    }

    // ---- faults while reading: restore and check ----

    [Fact]
    public async Task Restore_reads_through_transient_faults_and_short_reads()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var id = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        var f = new FaultInjectingStorage(t.Storage, seed: 5).AddRange([
            new FaultRule { Operations = StorageOp.Read, NamePattern = "data/*", Kind = FaultKind.Transient, Probability = 0.4, Times = 30 },
            new FaultRule { Operations = StorageOp.Read, Kind = FaultKind.ShortReads },
            new FaultRule { Operations = StorageOp.Read, Kind = FaultKind.Latency, Probability = 0.2 },
        ]);
        // Parallel reads consume the seeded faults in varying order, so allow enough attempts that no read runs out (0.4^10).
        await using var repo = await TestRepo.OpenAsync(f.WithRetries(FastRetries(10)));
        using var target = new TempDir("dedup-restore");
        var r = await RestoreAsync(repo, id, target.Path);
        Assert.Empty(r.Failures);
        Assert.True(f.FaultsInjected > 0);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(target.Path, _source.Path)));
    }

    [Theory]
    [InlineData(FaultKind.FlipBytes)]
    [InlineData(FaultKind.TruncatedStream)]
    public async Task Data_that_reads_wrong_is_never_restored_the_file_is_named_instead(FaultKind kind)
    {
        await using var t = await TestRepo.InMemoryAsync();
        var id = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        var f = new FaultInjectingStorage(t.Storage, seed: 9);
        await using var faulty = await TestRepo.OpenAsync(f);
        var loaded = await faulty.Snapshots.LoadAsync(id);
        // Tree blobs live in packs too, so a damaged read may cost a whole directory: it must then be the one named.
        f.Add(new FaultRule { Operations = StorageOp.Read, NamePattern = "data/*", Kind = kind, KeepBytes = 10, Probability = 0.5 });
        using var target = new TempDir("dedup-restore");
        var r = await Dedup.Archiver.Restore.Restorer.RunAsync(faulty, loaded,
            new Dedup.Archiver.Restore.RestoreOptions { Target = target.Path, Workers = 2, RestoreOwners = false }, new Dedup.Archiver.Restore.RestoreProgress());
        Assert.True(f.FaultsInjected > 0);
        Assert.NotEmpty(r.Failures);
        Assert.All(r.Failures, x => Assert.Contains("is damaged", x.Reason));
        // Whatever was restored is exactly right: a file is either identical or absent (and then named).
        var root = Path.Join(target.Path, _source.Path);
        var failed = r.Failures.Select(x => x.Path).ToHashSet();
        foreach (var file in Directory.EnumerateFiles(_source.Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            var restored = Path.Join(root, Path.GetRelativePath(_source.Path, file));
            if (File.Exists(restored)) Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(restored));
            else Assert.True(failed.Any(p => file.StartsWith(p, StringComparison.Ordinal)), $"{file} is missing but not named");
        }
        Assert.DoesNotContain(Directory.EnumerateFiles(target.Path, "*", SearchOption.AllDirectories), p => p.EndsWith(".dedup-partial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_connection_reset_mid_body_during_restore_is_resumed_at_the_offset_reached()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var id = (await BackupAsync(t.Repo, _source.Path)).SnapshotId;
        var f = new FaultInjectingStorage(t.Storage);
        await using var repo = await TestRepo.OpenAsync(f.WithRetries(FastRetries(3)));
        var loaded = await repo.Snapshots.LoadAsync(id);
        f.Add(new FaultRule { Operations = StorageOp.Read, NamePattern = "data/*", Kind = FaultKind.FailMidStream, KeepBytes = 100, AfterSuccesses = 0, Times = 2 });
        using var target = new TempDir("dedup-restore");
        var options = new Dedup.Archiver.Restore.RestoreOptions { Target = target.Path, Workers = 2, RestoreOwners = false };
        var result = await Dedup.Archiver.Restore.Restorer.RunAsync(repo, loaded, options, new Dedup.Archiver.Restore.RestoreProgress());
        Assert.Equal(2, f.FaultsInjected);
        Assert.Empty(result.Failures);
        Assert.Equal(DataGen.Digest(_source.Path), DataGen.Digest(Path.Join(target.Path, _source.Path)));
    }

    [Fact]
    public async Task Bytes_the_store_corrupts_on_write_are_found_by_check_read_data()
    {
        await using var t = await TestRepo.InMemoryAsync();
        var f = new FaultInjectingStorage(t.Storage, seed: 2);
        await using (var repo = await Dedup.Repository.Repository.OpenAsync(f, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password)))
        {
            f.Add(new FaultRule { Operations = StorageOp.Put, NamePattern = "data/*", Kind = FaultKind.FlipBytes, Times = 1 });
            await BackupAsync(repo, _source.Path);
        }
        var damaged = f.Injected.Single().Split(' ')[2];
        await using var check = await Dedup.Repository.Repository.OpenAsync(t.Storage, System.Text.Encoding.UTF8.GetBytes(TestRepo.Password));
        var r = await Checker.RunAsync(check, new CheckOptions { ReadData = true });
        Assert.False(r.IsOk);
        Assert.All(r.Errors, e => Assert.Equal(damaged, e.ObjectName));
        Assert.Contains(r.Errors, e => e.Description.Contains("does not match its name"));
    }
}

using System.Security.Cryptography;
using Dedup.Archiver.Backup;
using Dedup.Archiver.Copy;
using Dedup.Archiver.Trees;
using Dedup.Crypto;
using Dedup.Format;
using Dedup.Maintenance;
using Dedup.Maintenance.Keys;
using Dedup.Repository;
using Dedup.Repository.Keys;
using Dedup.Repository.Snapshots;
using Dedup.Repository.Trust;
using Dedup.Storage;
using Dedup.TestKit;
using Dedup.Tests.Maintenance;
using Xunit;

namespace Dedup.Tests.Adversarial;

/// <summary>
/// The attacker tries to have its data chosen where the admin asks for another host's (or its own genuine) latest
/// snapshot: forged hosts, future dates, planted and damaged snapshots, and maintenance that re-signs what it wrote.
/// </summary>
public sealed class SelectionTrustTests
{
    private static SnapshotFilter Host(string host) => new() { Host = host };

    /// <summary>
    /// Spec 18, attack 2: web2's key signs a snapshot claiming host web1 dated 2099 (an attacker's authorized_keys),
    /// one of its own host dated 2099, and one under a signing key no certificate covers. None is selected by
    /// "latest" (with or without --host) once a genuine backup follows, none is copied as another host's, and the
    /// forged ones are refused when named.
    /// </summary>
    [Fact]
    public async Task A_forged_snapshot_is_never_selected()
    {
        await using var f = await Fleet.CreateAsync();
        var web1Old = await f.BackupAsync(f.Web1, "web1", Fleet.Content(1));
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        var web2 = await f.BackupAsync(f.Web2, "web2", Fleet.Content(2));
        f.Clock.Advance(TimeSpan.FromMinutes(1));

        var attacker = await f.BreakInAsync();
        var payload = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttacker attacker@evil\n"u8.ToArray();
        var own = await f.BackupAsync(attacker.Repo, "web2", payload, "authorized_keys");
        var future = new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var asWeb1 = await attacker.PutSnapshotAsync(own.Snapshot with { Host = "web1", Time = future });
        var ownFuture = await attacker.PutSnapshotAsync(own.Snapshot with { Time = future });
        // A signer with no certificate of this repository (it carries the attacker's certificate, which is not for it).
        using var strangerKeys = RepositoryKeys.WriteOnly(attacker.Repo.Keys.RepositoryId, attacker.Domain.Id, new SecretBytes(attacker.Repo.Keys.OwnDomainSecret),
            SigningKey.Generate(), attacker.Repo.Keys.ReadPublicKey, attacker.Repo.Keys.Certificate);
        var uncertified = ObjectId.Parse((await attacker.PutAsync(Layout.SnapshotsPrefix,
            SnapshotEnvelope.Seal(own.Snapshot with { Host = "web1", Time = future.AddDays(1) }, attacker.Domain.Id, strangerKeys)))[^64..]);

        f.Clock.Advance(TimeSpan.FromMinutes(10));
        var web1New = await f.BackupAsync(f.Web1, "web1", Fleet.Content(3));

        var admin = await f.FreshAdminAsync();
        Assert.Equal(SignerTrust.Untrusted, (await admin.Snapshots.ResolveAsync(asWeb1.ToString(), SnapshotFilter.Trusted with { IncludeUntrusted = true })).Header.Trust);
        Assert.Equal(SignerTrust.Untrusted, (await admin.Snapshots.ResolveAsync(uncertified.ToString(), SnapshotFilter.Trusted with { IncludeUntrusted = true })).Header.Trust);
        Assert.Equal(SignerTrust.CertifiedWriter, (await admin.Snapshots.LoadAsync(ownFuture)).Header.Trust);

        Assert.Equal(web1New.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", Host("web1"))).Id);
        Assert.Equal(web1Old.SnapshotId, (await admin.Snapshots.ResolveAsync("latest~1", Host("web1"))).Id);
        Assert.Equal(web1New.SnapshotId, (await admin.Snapshots.ResolveAsync("latest")).Id);
        await Assert.ThrowsAsync<UntrustedSnapshotException>(() => admin.Snapshots.ResolveAsync(asWeb1.ToString()));
        await Assert.ThrowsAsync<UntrustedSnapshotException>(() => admin.Snapshots.ResolveAsync(uncertified.ToString()));
        // Its own future-dated snapshot is web2's, counted at the time the store recorded it.
        var ownLoaded = await admin.Snapshots.ResolveAsync(ownFuture.ToString());
        Assert.True(ownLoaded.EffectiveTime < web1New.Snapshot.Time, $"a snapshot dated {ownLoaded.Info.Time:u} counts at {ownLoaded.EffectiveTime:u}");
        var restored = await f.RestoreAsync((await admin.Snapshots.ResolveAsync("latest", Host("web1"))).Id);
        Assert.Equal(Fleet.Content(3), File.ReadAllBytes(Path.Join(restored, "stream")));

        // copy takes trusted snapshots only, and in the copy (signed by the destination's full key) the attacker's
        // future date must not become a trusted time.
        var destStorage = new MemoryStorage { TimeProvider = f.Clock };
        await Dedup.Repository.Repository.InitAsync(destStorage, "dest"u8.ToArray(), Scenario.SmallRepo, f.Clock);
        var dest = await f.S.OpenAsync("dest", destStorage);
        var copied = await SnapshotCopier.RunAsync(await f.FreshAdminAsync(), dest, [], new BackupProgress());
        Assert.DoesNotContain(copied.Copied, c => c.Source == asWeb1.ToString() || c.Source == uncertified.ToString());
        Assert.Contains(copied.Copied, c => c.Source == ownFuture.ToString());
        var destLatest = await dest.Snapshots.ResolveAsync("latest");
        Assert.Equal(web1New.SnapshotId.ToString(), destLatest.Info.Original);
        var destWeb2 = await dest.Snapshots.ResolveAsync("latest", Host("web2"));
        Assert.True(destWeb2.Info.Time < future, $"the copy of web2's latest claims {destWeb2.Info.Time:u}");

        // Retention counts only trusted snapshots, each writer apart: web1's newest stays.
        var forget = await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 }, GroupBy = ["host"] });
        Assert.Contains(forget.Groups.SelectMany(g => g.Items), i => i.Id == web1New.SnapshotId.ToString() && i.Keep);
        Assert.Contains(forget.Untrusted, i => i.Id == asWeb1.ToString());
    }

    /// <summary>
    /// Planted snapshots that do not open (random bytes; a signed one whose data key does not unwrap) and a trusted
    /// one of the attacker's whose trees are missing: "latest --host web1", copy of everything, forget and check carry
    /// on with the rest.
    /// </summary>
    [Fact]
    public async Task Junk_snapshots_do_not_stop_selection_or_copy()
    {
        await using var f = await Fleet.CreateAsync();
        var web1 = await f.BackupAsync(f.Web1, "web1", Fleet.Content(11));
        var web2 = await f.BackupAsync(f.Web2, "web2", Fleet.Content(12));
        f.Clock.Advance(TimeSpan.FromMinutes(1));

        var attacker = await f.BreakInAsync();
        var now = f.Clock.GetUtcNow();
        await attacker.PutAsync(Layout.SnapshotsPrefix, RandomNumberGenerator.GetBytes(2000));
        var unwrappable = SnapshotEnvelope.Seal(attacker.Info(now, [PruneTrustTests.RandomId()]), attacker.Domain.Id, attacker.Repo.Keys);
        unwrappable[29 + 67 + attacker.Repo.Keys.Certificate.Length + 70] ^= 1; // inside the wrapped data key
        await attacker.PutAsync(Layout.SnapshotsPrefix, attacker.Resign(unwrappable));
        var dangling = await attacker.PutSnapshotAsync(attacker.Info(now, [PruneTrustTests.RandomId()]));
        Assert.Equal(3, attacker.Storage.Created(Layout.SnapshotsPrefix));

        var admin = await f.FreshAdminAsync();
        Assert.Equal(web1.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", Host("web1"))).Id);
        Assert.Equal(web2.SnapshotId, (await admin.Snapshots.ResolveAsync("latest~1", Host("web2"))).Id);
        Assert.Equal(dangling, (await admin.Snapshots.ResolveAsync("latest", Host("web2"))).Id);

        var destStorage = new MemoryStorage { TimeProvider = f.Clock };
        await Dedup.Repository.Repository.InitAsync(destStorage, "dest"u8.ToArray(), Scenario.SmallRepo, f.Clock);
        var dest = await f.S.OpenAsync("dest", destStorage);
        var copied = await SnapshotCopier.RunAsync(admin, dest, [], new BackupProgress());
        Assert.Contains(copied.Copied, c => c.Source == web1.SnapshotId.ToString());
        Assert.Contains(copied.Copied, c => c.Source == web2.SnapshotId.ToString());
        Assert.Contains(copied.Failed, c => c.Source == dangling.ToString());
        await dest.LoadIndexAsync();
        var (target, result) = await f.S.RestoreAsync(dest, (await dest.Snapshots.ResolveAsync("latest", Host("web1"))).Id.ToString());
        Assert.Empty(result.Failures);
        Assert.Equal(Fleet.Content(11), File.ReadAllBytes(Path.Join(target, "stream")));

        var forget = await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
        Assert.True(forget.Groups.Count >= 2);
    }

    /// <summary>
    /// The attacker writes a trusted snapshot of its own host dated 2099 with a missing file blob. Prune tells the admin
    /// to run 'repair snapshots', which re-signs it with the repository key; copy re-signs another such snapshot in a
    /// second repository. Neither may turn the writer's claimed date into a trusted one: after the host is rebuilt with
    /// a new key, "latest --host web2" must be its first genuine backup, in both repositories.
    /// </summary>
    [Fact]
    public async Task Copy_and_repair_do_not_promote_a_writers_claimed_time()
    {
        await using var f = await Fleet.CreateAsync();
        await f.BackupAsync(f.Web2, "web2", Fleet.Content(21));
        var attacker = await f.BreakInAsync();
        var future = new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero);
        ObjectId tree;
        await using (var writer = attacker.Repo.StartWriting())
        {
            var present = await writer.SaveAsync(BlobType.Data, "backdoor"u8.ToArray());
            tree = (await TreeWriter.SaveAsync(writer, [
                new TreeNode { Name = "authorized_keys", Type = NodeType.File, Size = 8, Content = [present] },
                new TreeNode { Name = "missing", Type = NodeType.File, Size = 8, Content = [PruneTrustTests.RandomId()] }], default))[0];
            await writer.FlushAsync();
        }
        var dangling = await attacker.PutSnapshotAsync(attacker.Info(future, [tree], path: "/root"));
        var intact = await f.BackupAsync(attacker.Repo, "web2", "backdoor"u8.ToArray(), "authorized_keys");
        var intactFuture = await attacker.PutSnapshotAsync(intact.Snapshot with { Time = future });

        var repaired = await Repair.RepairSnapshotsAsync(f.Admin, f.S.Storage, forgetOriginals: true, dryRun: false);
        var replacement = ObjectId.Parse(Assert.Single(repaired, r => r.Original == dangling.ToString()).Replacement!);
        var destStorage = new MemoryStorage { TimeProvider = f.Clock };
        await Dedup.Repository.Repository.InitAsync(destStorage, "dest"u8.ToArray(), Scenario.SmallRepo, f.Clock);
        var dest = await f.S.OpenAsync("dest", destStorage);
        var copies = await SnapshotCopier.RunAsync(await f.FreshAdminAsync(), dest, [], new BackupProgress());
        Assert.Contains(copies.Copied, c => c.Source == intactFuture.ToString());

        // The admin rebuilds web2 with a new key; its first genuine backup follows a day later.
        f.Clock.Advance(TimeSpan.FromMinutes(5));
        await KeyMaintenance.RemoveAsync(f.Admin, f.S.Storage, f.Web2Key);
        await KeyManager.AddAsync(f.Admin, "rebuilt"u8.ToArray(), KeyKind.WriteOnly, "web2", "svc", TestRepo.CheapKdf);
        f.Clock.Advance(TimeSpan.FromDays(1));
        var rebuilt = await f.S.OpenAsync("rebuilt", new AppendOnlyStorage(f.S.Storage));
        var genuine = await f.BackupAsync(rebuilt, "web2", Fleet.Content(22));
        await SnapshotCopier.RunAsync(await f.FreshAdminAsync(), dest, [genuine.SnapshotId.ToString()], new BackupProgress());

        var admin = await f.FreshAdminAsync();
        Assert.Equal(SignerTrust.Repository, (await admin.Snapshots.LoadAsync(replacement)).Header.Trust);
        Assert.Equal(genuine.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", Host("web2"))).Id);
        Assert.Equal(genuine.SnapshotId.ToString(), (await dest.Snapshots.ResolveAsync("latest", Host("web2"))).Info.Original);
    }

    /// <summary>
    /// After a break-in the admin restores web2 "as it was" before it. The attacker, with web2's write-only key and
    /// client credentials, plants a snapshot of its own host whose claimed time lies between the genuine backup and that
    /// moment, so that a restore by time (a date, a timestamp or an age) would bring back its backdoor. A time selects
    /// by the storage's time, so the planted snapshot, stored after the moment, is never chosen for it.
    /// </summary>
    [Fact]
    public async Task A_back_dated_snapshot_is_not_chosen_by_time()
    {
        await using var f = await Fleet.CreateAsync();
        var genuine = await f.BackupAsync(f.Web2, "web2", Fleet.Content(21));
        var storedGenuine = f.Clock.GetUtcNow();
        f.Clock.Advance(TimeSpan.FromDays(2));
        var attacker = await f.BreakInAsync();
        var backdoor = await f.BackupAsync(attacker.Repo, "web2", "backdoor"u8.ToArray(), "authorized_keys");
        var planted = await attacker.PutSnapshotAsync(backdoor.Snapshot with { Time = storedGenuine.AddHours(1) });

        var admin = await f.FreshAdminAsync();
        var moment = storedGenuine.AddDays(1);
        foreach (var reference in new[] { moment.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture), "1D", "24h" })
            Assert.Equal(genuine.SnapshotId, (await admin.Snapshots.ResolveAsync(reference, Host("web2"), clock: f.Clock)).Id);
        // Both of the attacker's snapshots are there and are web2's own (it may add under its own name): chosen for now.
        Assert.Contains((await admin.Snapshots.ResolveAsync("latest", Host("web2"))).Id, new[] { planted, backdoor.SnapshotId });
        Assert.Contains((await admin.Snapshots.ResolveAsync("0s", Host("web2"), clock: f.Clock)).Id, new[] { planted, backdoor.SnapshotId });
    }

    /// <summary>
    /// The attacker reads web1's older snapshot (client credentials may read snapshots/) and puts the same bytes again
    /// under a second name, "snapshots/x/&lt;id&gt;": a new object, so create-only does not stop it, with a storage time of
    /// now. Nothing is forgotten, so no tombstone buries it. Where readers took the ID from the last segment of any name,
    /// the snapshot was listed twice, once at the new time: web1's "latest" rolled back to it, and forget --keep-last 1
    /// kept it as web1's newest and removed the genuine newest, whose data prune then deleted. The same trick would give
    /// a mark or a marker a later storage time. Only the object's one name counts.
    /// </summary>
    [Fact]
    public async Task A_second_name_for_an_old_snapshot_does_not_make_it_latest()
    {
        await using var f = await Fleet.CreateAsync();
        var old = await f.BackupAsync(f.Web1, "web1", Fleet.Content(71));
        f.Clock.Advance(TimeSpan.FromDays(1));
        var current = await f.BackupAsync(f.Web1, "web1", Fleet.Content(72));
        var attacker = await f.BreakInAsync();
        f.Clock.Advance(TimeSpan.FromDays(1));
        var saved = await attacker.ReadAsync(Layout.Snapshot(old.SnapshotId));
        var aliases = new[] { $"{Layout.SnapshotsPrefix}x/{old.SnapshotId}", $"{Layout.SnapshotsPrefix}{old.SnapshotId}/{old.SnapshotId}" };
        foreach (var alias in aliases) Assert.Equal(PutOutcome.Created, await attacker.Storage.PutAsync(alias, saved));
        Assert.All(aliases, a => Assert.Contains(a, f.Names(Layout.SnapshotsPrefix)));

        var admin = await f.FreshAdminAsync();
        Assert.Equal(current.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", Host("web1"))).Id);
        Assert.Single(await admin.Snapshots.ListAsync(), s => s.Id == old.SnapshotId);
        var forget = await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
        Assert.Contains(forget.Groups.SelectMany(g => g.Items), i => i.Id == current.SnapshotId.ToString() && i.Keep);
        var reports = await f.PruneTwicePastGraceAsync();
        Assert.True(reports.Sum(r => r.PacksDeleted) > 0, "prune deleted nothing: the forgotten older snapshot's pack should have gone");
        await f.AssertRestoresAsync(current.SnapshotId, Fleet.Content(72));
    }

    /// <summary>
    /// Design question for the lead (this test fails today). An attacker whose credentials can read snapshots/ keeps
    /// the bytes of an old snapshot of web1 and uploads them again after the admin forgot it (the name is free once the
    /// object is deleted). It is validly signed by web1 and web1 is not revoked, so it is trusted; its claimed time lies
    /// before storage time − max backup age, so it counts at its new storage time: it becomes web1's latest (a rollback
    /// of web1's files on restore) and, being web1's newest by storage time, makes forget --keep-last 1 drop web1's
    /// genuine newest snapshot.
    /// </summary>
    [Fact]
    public async Task A_replayed_old_snapshot_is_not_selected_as_latest()
    {
        await using var f = await Fleet.CreateAsync();
        var old = await f.BackupAsync(f.Web1, "web1", Fleet.Content(31));
        var attacker = await f.BreakInAsync();
        var saved = await attacker.ReadAsync(Layout.Snapshot(old.SnapshotId));
        f.Clock.Advance(TimeSpan.FromDays(1));
        var current = await f.BackupAsync(f.Web1, "web1", Fleet.Content(32));
        await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Ids = [old.SnapshotId.ToString()] });
        Assert.DoesNotContain(Layout.Snapshot(old.SnapshotId), f.Names(Layout.SnapshotsPrefix));

        f.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(PutOutcome.Created, await attacker.Storage.PutAsync(Layout.Snapshot(old.SnapshotId), saved));

        var admin = await f.FreshAdminAsync();
        Assert.Equal(current.SnapshotId, (await admin.Snapshots.ResolveAsync("latest", Host("web1"))).Id);
        var forget = await Forget.RunAsync(f.Admin, f.S.Storage, new ForgetOptions { Policy = new RetentionPolicy { Last = 1 } });
        Assert.Contains(forget.Groups.SelectMany(g => g.Items), i => i.Id == current.SnapshotId.ToString() && i.Keep);
    }
}

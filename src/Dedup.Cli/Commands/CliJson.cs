using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dedup.Cli.Cli;
using Dedup.Repository;
using Dedup.Repository.Keys;

namespace Dedup.Cli.Commands;

/// <summary>
/// Every verb's --json output, source-generated with one naming policy (snake_case): no reflection, so the
/// ahead-of-time compiled binary prints exactly what the JIT build prints. The records live in their verbs' files;
/// this list is the whole JSON surface in one place (the generator cannot merge partial declarations across files).
/// Library types keep their stored names ([JsonPropertyName]); the IAM policy keeps AWS's.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(InitResult))]
[JsonSerializable(typeof(BackupStatus))]
[JsonSerializable(typeof(BackupSummary))]
[JsonSerializable(typeof(List<SnapshotJson>))]
[JsonSerializable(typeof(List<OwnSnapshotJson>))]
[JsonSerializable(typeof(RestoreStatus))]
[JsonSerializable(typeof(RestorePlanJson))]
[JsonSerializable(typeof(CheckPlanJson))]
[JsonSerializable(typeof(CopyPlanJson))]
[JsonSerializable(typeof(RetrievalStatus))]
[JsonSerializable(typeof(RestoreSummary))]
[JsonSerializable(typeof(RestoreActionLine))]
[JsonSerializable(typeof(RestoreTreePlanJson))]
[JsonSerializable(typeof(RestoreWaveJson))]
[JsonSerializable(typeof(LsEntry))]
[JsonSerializable(typeof(DiffStatus))]
[JsonSerializable(typeof(DiffLine))]
[JsonSerializable(typeof(DiffResult))]
[JsonSerializable(typeof(FindStatus))]
[JsonSerializable(typeof(FindMatch))]
[JsonSerializable(typeof(StatsStatus))]
[JsonSerializable(typeof(StatsReport))]
[JsonSerializable(typeof(CheckStatus))]
[JsonSerializable(typeof(CheckReport))]
[JsonSerializable(typeof(ForgetReport))]
[JsonSerializable(typeof(PruneStatus))]
[JsonSerializable(typeof(PruneSummary))]
[JsonSerializable(typeof(CopyStatus))]
[JsonSerializable(typeof(CopySummary))]
[JsonSerializable(typeof(RollbackChangeJson))]
[JsonSerializable(typeof(RollbackSummary))]
[JsonSerializable(typeof(RepairIndexReport))]
[JsonSerializable(typeof(RepairSnapshotsReport))]
[JsonSerializable(typeof(List<KeyJson>))]
[JsonSerializable(typeof(KeyAdded))]
[JsonSerializable(typeof(KeyRemoved))]
[JsonSerializable(typeof(PasswordChanged))]
[JsonSerializable(typeof(CredentialsReport))]
[JsonSerializable(typeof(RepositoryConfig))]
[JsonSerializable(typeof(KeyFile))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(IndexJson))]
[JsonSerializable(typeof(PackJson))]
[JsonSerializable(typeof(TreeJson))]
[JsonSerializable(typeof(IamPolicy))]
[JsonSerializable(typeof(RetentionSettingJson))]
[JsonSerializable(typeof(RetentionExtendJson))]
[JsonSerializable(typeof(Enrolled))]
[JsonSerializable(typeof(List<LocalSnapshotJson>))]
[JsonSerializable(typeof(FleetStatusJson))]
[JsonSerializable(typeof(ScheduleInstalled))]
[JsonSerializable(typeof(CompletionInstalled))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(HelpModel))]
internal sealed partial class CliJson : JsonSerializerContext;

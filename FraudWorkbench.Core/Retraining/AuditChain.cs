using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The audit chain of a model version: dataset version checksums → feature set version hash → run → artifact checksums →
/// gate result → fairness report → approvals → promotion, as one JSON document with its SHA-256.
/// </summary>
/// <remarks>
/// The document holds only what is stored (no time of export), every list in a fixed order and stored JSON as
/// PostgreSQL normalizes it, so exporting an unchanged version again gives the same bytes and the same hash.
/// </remarks>
public sealed class AuditChainBuilder(NpgsqlDataSource dataSource, RegistryStore registry, TrainingRunStore runs)
{
    public const int SchemaVersion = 1;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Null when the model or version does not exist.</summary>
    public async Task<AuditChainDocument?> BuildAsync(string modelName, int version, CancellationToken cancellationToken = default)
    {
        var found = await registry.GetVersionAsync(modelName, version, cancellationToken);
        if (found is null) return null;
        var run = await runs.GetAsync(found.RunId, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var document = new JsonObject
        {
            ["schema"] = "fraudworkbench.audit-chain",
            ["schemaVersion"] = SchemaVersion,
            ["model"] = new JsonObject
            {
                ["name"] = found.ModelName,
                ["registeredModelId"] = found.RegisteredModelId,
                ["version"] = found.Version,
                ["versionId"] = found.Id,
                ["stage"] = found.Stage,
                ["tags"] = new JsonArray([.. found.Tags.Select(t => JsonValue.Create(t))]),
                ["createdBy"] = found.CreatedBy,
                ["createdAt"] = found.CreatedAt,
            },
        };

        if (run is not null)
        {
            var result = run.Result;
            document["trainingRun"] = new JsonObject
            {
                ["id"] = run.Id,
                ["name"] = run.DisplayName,
                ["status"] = run.Status,
                ["createdBy"] = run.CreatedBy,
                ["createdAt"] = run.CreatedAt,
                ["finishedAt"] = run.FinishedAt,
                ["config"] = Parse(run.ConfigJson),
                ["threshold"] = result?.Threshold.Threshold,
                ["validation"] = result is null ? null : new JsonObject
                {
                    ["rows"] = result.ValidationRows,
                    ["rocAuc"] = result.Metrics.RocAuc,
                    ["averagePrecision"] = result.Metrics.AveragePrecision,
                },
            };
            var dataset = await DatasetVersionAsync(connection, run.DatasetId, run.DatasetVersion, cancellationToken);
            document["datasetVersion"] = dataset is null ? null : await DatasetNodeAsync(connection, dataset, cancellationToken);
            document["featureSetVersion"] = await FeatureSetNodeAsync(connection, run.FeatureSetVersionId, cancellationToken);
            document["artifacts"] = result?.Artifacts is { } files
                ? new JsonArray([.. files.FileNames.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => (JsonNode)new JsonObject { ["name"] = f.Key, ["sha256"] = f.Value })])
                : new JsonArray();
        }

        document["gate"] = new JsonObject
        {
            ["status"] = found.GateStatus,
            ["jobId"] = found.GateJobId,
            ["overrideReason"] = found.OverrideReason,
            ["result"] = Parse(found.GateResultJson),
        };
        document["fairness"] = await FairnessNodeAsync(connection, found.Id, cancellationToken);
        document["retraining"] = await WorkflowsNodeAsync(connection, found.Id, cancellationToken);
        document["stageHistory"] = await StageHistoryAsync(connection, found.Id, cancellationToken);
        document["auditLog"] = await AuditEntriesAsync(connection, document, found.Id, run?.Id, cancellationToken);

        var json = document.ToJsonString(Indented);
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
        return new AuditChainDocument(found.ModelName, found.Version, json, sha);
    }

    private sealed record DatasetVersionRow(Guid Id, Guid DatasetId, string DatasetName, int Version, string Checksum, string FileName, long SizeBytes, long RowCount, int? BasedOnVersion, string CreatedBy, DateTime CreatedAt);

    private static async Task<DatasetVersionRow?> DatasetVersionAsync(NpgsqlConnection connection, Guid datasetId, int version, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT v.id, v.dataset_id, d.name AS dataset_name, v.version, v.checksum, v.file_name, v.size_bytes, v.row_count, v.based_on_version, v.created_by, v.created_at
            FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
            WHERE v.dataset_id = @datasetId AND v.version = @version
            """;
        return await connection.QuerySingleOrDefaultAsync<DatasetVersionRow>(new CommandDefinition(sql, new { datasetId, version }, cancellationToken: cancellationToken));
    }

    private static async Task<JsonObject> DatasetNodeAsync(NpgsqlConnection connection, DatasetVersionRow dataset, CancellationToken cancellationToken)
    {
        var node = new JsonObject
        {
            ["id"] = dataset.Id,
            ["datasetId"] = dataset.DatasetId,
            ["dataset"] = dataset.DatasetName,
            ["version"] = dataset.Version,
            ["checksum"] = dataset.Checksum,
            ["fileName"] = dataset.FileName,
            ["sizeBytes"] = dataset.SizeBytes,
            ["rows"] = dataset.RowCount,
            ["basedOnVersion"] = dataset.BasedOnVersion,
            ["createdBy"] = dataset.CreatedBy,
            ["createdAt"] = dataset.CreatedAt,
        };
        const string sql = """
            SELECT l.workflow_id, l.window_from, l.window_to, l.holdout_from, l.holdout_to, l.mode, l.base_rows, l.predictions,
                   l.fraud_labelled, l.legit_labelled, l.legit_by_window, l.left_out, l.prediction_ids_sha256, l.created_at,
                   l.source_version_ids, l.base_dataset_version_id, b.checksum AS base_checksum, bd.name AS base_dataset, b.version AS base_version
            FROM retraining_dataset_lineage l
            LEFT JOIN dataset_versions b ON b.id = l.base_dataset_version_id
            LEFT JOIN datasets bd ON bd.id = b.dataset_id
            WHERE l.dataset_version_id = @id
            """;
        var lineage = await connection.QuerySingleOrDefaultAsync(new CommandDefinition(sql, new { id = dataset.Id }, cancellationToken: cancellationToken));
        if (lineage is null)
        {
            node["lineage"] = null;
            return node;
        }

        node["lineage"] = new JsonObject
        {
            ["workflowId"] = (Guid)lineage.workflow_id,
            ["windowFrom"] = (DateTime)lineage.window_from,
            ["windowTo"] = (DateTime)lineage.window_to,
            ["holdoutFrom"] = (DateTime?)lineage.holdout_from,
            ["holdoutTo"] = (DateTime?)lineage.holdout_to,
            ["mode"] = (string)lineage.mode,
            ["sourceVersionIds"] = new JsonArray([.. ((Guid[])lineage.source_version_ids).Order().Select(g => JsonValue.Create(g))]),
            ["predictions"] = (long)lineage.predictions,
            ["fraudLabelled"] = (long)lineage.fraud_labelled,
            ["legitLabelled"] = (long)lineage.legit_labelled,
            ["legitByWindow"] = (long)lineage.legit_by_window,
            ["leftOut"] = (long)lineage.left_out,
            ["predictionIdsSha256"] = (string)lineage.prediction_ids_sha256,
            ["baseRows"] = (long)lineage.base_rows,
            ["baseDatasetVersion"] = lineage.base_dataset_version_id is null ? null : new JsonObject
            {
                ["id"] = (Guid)lineage.base_dataset_version_id,
                ["dataset"] = (string?)lineage.base_dataset,
                ["version"] = (int?)lineage.base_version,
                ["checksum"] = (string?)lineage.base_checksum,
            },
            ["createdAt"] = (DateTime)lineage.created_at,
        };
        return node;
    }

    private static async Task<JsonObject?> FeatureSetNodeAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT v.id, f.name, v.version, v.hash, v.dataset_id, v.dataset_version, v.created_by, v.created_at
            FROM feature_set_versions v JOIN feature_sets f ON f.id = v.feature_set_id
            WHERE v.id = @id
            """;
        var row = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Name, int Version, string Hash, Guid DatasetId, int DatasetVersion, string CreatedBy, DateTime CreatedAt)?>(
            new CommandDefinition(sql, new { id }, cancellationToken: cancellationToken));
        return row is not { } r ? null : new JsonObject
        {
            ["id"] = r.Id,
            ["name"] = r.Name,
            ["version"] = r.Version,
            ["definitionHash"] = r.Hash,
            ["fittedOn"] = new JsonObject { ["datasetId"] = r.DatasetId, ["datasetVersion"] = r.DatasetVersion },
            ["createdBy"] = r.CreatedBy,
            ["createdAt"] = r.CreatedAt,
        };
    }

    private static async Task<JsonObject> FairnessNodeAsync(NpgsqlConnection connection, Guid versionId, CancellationToken cancellationToken)
    {
        const string reportSql = "SELECT job_id, result::text AS result, computed_at FROM model_fairness WHERE model_version_id = @versionId";
        var report = await connection.QuerySingleOrDefaultAsync<(Guid JobId, string? Result, DateTime? ComputedAt)?>(new CommandDefinition(reportSql, new { versionId }, cancellationToken: cancellationToken));
        const string signOffSql = "SELECT id, decision, comment, reviewer, at, report_computed_at FROM fairness_signoffs WHERE model_version_id = @versionId ORDER BY id";
        var signOffs = await connection.QueryAsync<(long Id, string Decision, string Comment, string Reviewer, DateTime At, DateTime ReportComputedAt)>(
            new CommandDefinition(signOffSql, new { versionId }, cancellationToken: cancellationToken));
        return new JsonObject
        {
            // The report itself can be long (every group and metric): the chain names it by its hash; the fairness export gives it whole.
            ["report"] = report is not { } r ? null : new JsonObject
            {
                ["jobId"] = r.JobId,
                ["computedAt"] = r.ComputedAt,
                ["sha256"] = r.Result is null ? null : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(r.Result))),
            },
            ["signOffs"] = new JsonArray([.. signOffs.Select(s => (JsonNode)new JsonObject
            {
                ["decision"] = s.Decision,
                ["comment"] = s.Comment,
                ["reviewer"] = s.Reviewer,
                ["at"] = s.At,
                ["reportComputedAt"] = s.ReportComputedAt,
            })]),
        };
    }

    private static async Task<JsonArray> WorkflowsNodeAsync(NpgsqlConnection connection, Guid versionId, CancellationToken cancellationToken)
    {
        const string sql = $"""
            SELECT {RetrainingStore.WorkflowColumns}
            FROM retraining_workflows w WHERE w.candidate_version_id = @versionId
            ORDER BY w.created_at, w.id
            """;
        var workflows = await connection.QueryAsync<RetrainingWorkflow>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
        return new JsonArray([.. workflows.Select(w => (JsonNode)new JsonObject
        {
            ["id"] = w.Id,
            ["trigger"] = new JsonObject { ["kind"] = w.TriggerKind, ["alertId"] = w.TriggerAlertId, ["detail"] = w.TriggerDetail },
            ["status"] = w.Status,
            ["championVersionId"] = w.ChampionVersionId,
            ["createdBy"] = w.CreatedBy,
            ["createdAt"] = w.CreatedAt,
            ["shadowStartedAt"] = w.ShadowStartedAt,
            ["shadowEndsAt"] = w.ShadowEndsAt,
            ["decision"] = w.Decision,
            ["decidedBy"] = w.DecidedBy,
            ["decidedAt"] = w.DecidedAt,
            ["comment"] = w.DecisionComment,
            ["promotedAt"] = w.PromotedAt,
            ["rolledBackAt"] = w.RolledBackAt,
            ["rollbackReason"] = w.RollbackReason,
        })]);
    }

    private static async Task<JsonArray> StageHistoryAsync(NpgsqlConnection connection, Guid versionId, CancellationToken cancellationToken)
    {
        const string sql = "SELECT from_stage, to_stage, reason, actor, at FROM model_stage_history WHERE model_version_id = @versionId ORDER BY id";
        var changes = await connection.QueryAsync<(string? From, string To, string? Reason, string Actor, DateTime At)>(new CommandDefinition(sql, new { versionId }, cancellationToken: cancellationToken));
        return new JsonArray([.. changes.Select(c => (JsonNode)new JsonObject { ["from"] = c.From, ["to"] = c.To, ["reason"] = c.Reason, ["actor"] = c.Actor, ["at"] = c.At })]);
    }

    /// <summary>The audit entries of every object in the chain (the version, its run, its dataset, the workflows that made it), oldest first.</summary>
    private static async Task<JsonArray> AuditEntriesAsync(NpgsqlConnection connection, JsonObject document, Guid versionId, Guid? runId, CancellationToken cancellationToken)
    {
        var ids = new List<string> { versionId.ToString() };
        if (runId is { } r) ids.Add(r.ToString());
        if (document["retraining"] is JsonArray workflows) ids.AddRange(workflows.Select(w => w!["id"]!.GetValue<Guid>().ToString()));
        // Dataset entries name the dataset (not the version): only those of this version's creation belong to the chain.
        var datasetId = document["datasetVersion"]?["datasetId"]?.GetValue<Guid>().ToString();
        var datasetVersion = document["datasetVersion"]?["version"]?.GetValue<int>();
        const string sql = """
            SELECT id, at, actor, action, object_type, object_id, summary::text AS summary
            FROM audit_log
            WHERE object_id = ANY(@ids)
               OR (@datasetId::text IS NOT NULL AND object_type = 'dataset' AND object_id = @datasetId AND action LIKE 'dataset.version.%'
                   AND (summary ->> 'version')::int = @datasetVersion)
            ORDER BY id
            """;
        var entries = await connection.QueryAsync<(long Id, DateTime At, string Actor, string Action, string ObjectType, string? ObjectId, string? Summary)>(
            new CommandDefinition(sql, new { ids = ids.ToArray(), datasetId, datasetVersion }, cancellationToken: cancellationToken));
        return new JsonArray([.. entries.Select(e => (JsonNode)new JsonObject
        {
            ["id"] = e.Id,
            ["at"] = e.At,
            ["actor"] = e.Actor,
            ["action"] = e.Action,
            ["objectType"] = e.ObjectType,
            ["objectId"] = e.ObjectId,
            ["summary"] = Parse(e.Summary),
        })]);
    }

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);
}

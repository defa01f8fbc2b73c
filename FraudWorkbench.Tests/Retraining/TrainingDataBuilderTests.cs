using System.Security.Cryptography;
using System.Text;
using Dapper;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The dataset step on a hand-made traffic set whose rows each test one rule, at a fixed clock.</summary>
[Trait("Category", "Database")]
[Collection(RetrainingDataCollection.Name)]
public sealed class TrainingDataBuilderTests(ScoringFixture fixture)
{
    private sealed record Lineage(
        Guid WorkflowId, string SourceVersionIds, DateTime WindowFrom, DateTime WindowTo, DateTime? HoldoutFrom, DateTime? HoldoutTo, string Mode,
        Guid? BaseDatasetVersionId, long BaseRows, long Predictions, long FraudLabelled, long LegitLabelled, long LegitByWindow, long LeftOut, string PredictionIdsSha256);

    private TrainingDataBuilder Builder(DateTime now) => RetrainingDataScenario.Create<TrainingDataBuilder>(fixture, new FakeTimeProvider(new DateTimeOffset(now)));

    private async Task<Lineage> LineageAsync(Guid datasetVersionId)
    {
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        return await connection.QuerySingleAsync<Lineage>("""
            SELECT workflow_id, array_to_string(source_version_ids, ',') AS source_version_ids, window_from, window_to, holdout_from, holdout_to, mode, base_dataset_version_id, base_rows, predictions,
                   fraud_labelled, legit_labelled, legit_by_window, left_out, prediction_ids_sha256
            FROM retraining_dataset_lineage WHERE dataset_version_id = @datasetVersionId
            """, new { datasetVersionId });
    }

    [Fact]
    public async Task BuildAsync_Replace_LabelsEachRowByTheRulesAndRecordsLineage()
    {
        const string model = "rt-build-replace";
        var (v1, v2, traffic) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy, v2.Id, RetrainingDataScenario.Now);

        var result = await Builder(RetrainingDataScenario.Now).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);

        // Counted by hand from HandMadeAsync's comments: fraud 4 (v1) + 3 (06-05); legitimate labels 6 (v1) + 1 (06-01 00:00) + 2 (06-05)
        // + 2 (06-10); legitimate by the window 10 (v1) + 1 (the window's first instant) + 1 (06-01 00:30); left out 7 unlabelled
        // on 06-05 and the 61 holdout rows.
        Assert.Equal((7L, 11L, 12L, 68L, 30L, 0L), (result.FraudLabelled, result.LegitLabelled, result.LegitByWindow, result.LeftOut, result.TrafficRows, result.BaseRows));
        Assert.Equal(30, result.Rows);
        Assert.Equal(new DateTime(2026, 5, 18, 12, 0, 0, DateTimeKind.Utc), result.WindowFrom);
        Assert.Equal(RetrainingDataScenario.Now, result.WindowTo);
        Assert.Equal(new DateTime(2026, 5, 29, 0, 0, 0, DateTimeKind.Utc), result.HoldoutFrom);
        Assert.Equal(new DateTime(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc), result.HoldoutTo);

        // A new version of the production version's own dataset, with its roles and a prediction_id column.
        var datasets = fixture.App.Get<DatasetStore>();
        var baseVersion = (await datasets.GetVersionAsync(result.DatasetId, 1))!;
        var version = (await datasets.GetVersionAsync(result.DatasetId, result.DatasetVersion))!;
        Assert.Equal(version.Id, result.DatasetVersionId);
        Assert.Equal(version.Checksum, result.Checksum);
        Assert.Equal("scoring-sample", result.DatasetName);
        Assert.True(result.DatasetVersion > 1);
        Assert.Equal(RetrainingTraffic.Actor, version.CreatedBy);
        foreach (var column in baseVersion.Schema.Columns)
        {
            var built = version.Schema.Columns[version.Schema.IndexOf(column.Name)];
            Assert.Equal((column.Name, column.Type, column.Role), (built.Name, built.Type, built.Role));
        }

        Assert.Equal(baseVersion.Schema.PositiveLabel, version.Schema.PositiveLabel);
        Assert.Equal("transaction_id", version.Schema.TransactionId!.Name);
        Assert.Equal(new DatasetColumn("prediction_id", ColumnType.Text, ColumnRole.Ignore), version.Schema.Columns[^1]);

        // The file: the expected rows in log order, each labelled by its rule, its cells the transaction it sent.
        var expected = RetrainingDataScenario.Expected(traffic, v1, v2);
        Assert.Equal(30, expected.Count);
        var rows = await DatasetRows.ReadAsync(fixture.App.Get<ArtifactStore>(), version, default);
        var schema = version.Schema;
        int id = schema.IndexOf("prediction_id"), label = schema.IndexOf("is_fraud"), customer = schema.IndexOf("customer_id"), time = schema.IndexOf("event_time"), tx = schema.IndexOf("transaction_id");
        Assert.Equal(expected.Select(t => t.Id.ToString()), rows.Select(r => r[id]));
        Assert.Equal(expected.Select(t => t.Fraud == true ? "1" : "0"), rows.Select(r => r[label]));
        var source = fixture.Schema;
        Assert.Equal(expected.Select(t => (fixture.Rows[t.Row][source.IndexOf("customer_id")], fixture.Rows[t.Row][source.IndexOf("event_time")], fixture.Rows[t.Row][source.IndexOf("transaction_id")])),
            rows.Select(r => (r[customer], r[time], r[tx])));

        // The lineage, its hash checked independently: SHA-256 over each id (36 lowercase characters) and a newline, in file order.
        var sha = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(string.Concat(expected.Select(t => t.Id.ToString("D") + "\n"))))).ToLowerInvariant();
        var lineage = await LineageAsync(version.Id);
        Assert.Equal(sha, result.PredictionIdsSha256);
        Assert.Equal(sha, lineage.PredictionIdsSha256);
        Assert.Equal((workflow.Id, "replace", (Guid?)null, 0L, 30L, 7L, 11L, 12L, 68L),
            (lineage.WorkflowId, lineage.Mode, lineage.BaseDatasetVersionId, lineage.BaseRows, lineage.Predictions, lineage.FraudLabelled, lineage.LegitLabelled, lineage.LegitByWindow, lineage.LeftOut));
        Assert.Equal(new[] { v1.Id, v2.Id }.Order(), lineage.SourceVersionIds.Split(',').Select(Guid.Parse).Order());
        Assert.Equal((result.WindowFrom, result.WindowTo, result.HoldoutFrom, result.HoldoutTo), (lineage.WindowFrom, lineage.WindowTo, lineage.HoldoutFrom, lineage.HoldoutTo));
    }

    [Fact]
    public async Task BuildAsync_Append_OriginalRowsFirstThenTheTraffic()
    {
        const string model = "rt-build-append";
        var (v1, v2, traffic) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy with { DataMode = RetrainingDataMode.Append }, v2.Id, RetrainingDataScenario.Now);

        var result = await Builder(RetrainingDataScenario.Now).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);

        var baseRows = fixture.Rows.Count;
        Assert.Equal(40_000, baseRows);
        Assert.Equal((30L, (long)baseRows, baseRows + 30L), (result.TrafficRows, result.BaseRows, result.Rows));
        var version = (await fixture.App.Get<DatasetStore>().GetVersionAsync(result.DatasetId, result.DatasetVersion))!;
        var rows = await DatasetRows.ReadAsync(fixture.App.Get<ArtifactStore>(), version, default);
        var id = version.Schema.IndexOf("prediction_id");
        Assert.All(rows.Take(baseRows), r => Assert.True(string.IsNullOrEmpty(r[id])));
        for (var c = 0; c < fixture.Schema.Columns.Count; c++)
        {
            Assert.Equal(fixture.Rows[0][c], rows[0][c]);
            Assert.Equal(fixture.Rows[^1][c], rows[baseRows - 1][c]);
        }

        Assert.Equal(RetrainingDataScenario.Expected(traffic, v1, v2).Select(t => t.Id.ToString()), rows.Skip(baseRows).Select(r => r[id]));
        var lineage = await LineageAsync(version.Id);
        var baseVersion = (await fixture.App.Get<DatasetStore>().GetVersionAsync(result.DatasetId, 1))!;
        Assert.Equal(("append", (Guid?)baseVersion.Id, (long)baseRows, 30L), (lineage.Mode, lineage.BaseDatasetVersionId, lineage.BaseRows, lineage.Predictions));
    }

    [Fact]
    public async Task BuildAsync_AppendAfterAnEarlierWorkflow_OriginalRowsOfTheHoldoutDaysLeftOutAndNoPredictionTwice()
    {
        const string model = "rt-build-append-earlier";
        var (v1, v2, traffic) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        // Version 2 as an earlier workflow trained it: 100 original rows, then traffic rows by prediction id: five of this
        // workflow's holdout days, the three first fraud labels of version 1 (which this window takes again), one before the
        // window and one id never logged.
        DateTime holdoutFrom = new(2026, 5, 29, 0, 0, 0, DateTimeKind.Utc), holdoutTo = new(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc);
        var inHoldout = traffic.Where(t => t.CreatedAt >= holdoutFrom && t.CreatedAt < holdoutTo).Take(5).ToList();
        var again = traffic.Take(3).ToList();
        Assert.All(again, t => Assert.Equal((v1.Id, true), (t.VersionId, t.Fraud)));
        var before = traffic.First(t => t.CreatedAt < RetrainingDataScenario.Now.AddDays(-28));
        var never = Guid.NewGuid();
        List<(string?[] Row, Guid? Id)> built =
        [
            .. fixture.Rows.Take(100).Select(r => (r, (Guid?)null)),
            .. inHoldout.Concat(again).Append(before).Select(t => (fixture.Rows[t.Row], (Guid?)t.Id)),
            (fixture.Rows[500], never),
        ];
        var earlier = await EarlierWorkflowScenario.BuiltDatasetAsync(fixture, "rt-build-earlier", built);
        await EarlierWorkflowScenario.UseRunAsync(fixture, v2.Id, await EarlierWorkflowScenario.CopyRunAsync(fixture, v2.RunId, earlier.DatasetId, earlier.Version));
        var workflow = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy with { DataMode = RetrainingDataMode.Append }, v2.Id, RetrainingDataScenario.Now);

        var result = await Builder(RetrainingDataScenario.Now).BuildAsync(workflow, await RetrainingDataScenario.ContextAsync(fixture), default);

        // Original rows: 110 − the 5 of the holdout days. Traffic: the 30 rows the window takes − the 3 already among them;
        // fraud 7 − those 3. Left out: 7 unlabelled and 61 holdout traffic rows, and the 5 original rows.
        Assert.Equal((105L, 27L, 132L, 4L, 73L), (result.BaseRows, result.TrafficRows, result.Rows, result.FraudLabelled, result.LeftOut));
        Assert.Equal((holdoutFrom, holdoutTo), (result.HoldoutFrom!.Value, result.HoldoutTo!.Value));
        var version = (await fixture.App.Get<DatasetStore>().GetVersionAsync(result.DatasetId, result.DatasetVersion))!;
        Assert.Equal(earlier.DatasetId, version.DatasetId);
        var rows = await DatasetRows.ReadAsync(fixture.App.Get<ArtifactStore>(), version, default);
        var id = version.Schema.IndexOf("prediction_id");
        var ids = rows.Select(r => r[id]).OfType<string>().Where(v => v.Length > 0).Select(Guid.Parse).ToList();
        var expectedTraffic = RetrainingDataScenario.Expected(traffic, v1, v2).Where(t => !again.Contains(t)).Select(t => t.Id);
        Assert.Equal(again.Append(before).Select(t => t.Id).Append(never).Concat(expectedTraffic), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Empty(ids.Intersect(traffic.Where(t => t.CreatedAt >= holdoutFrom && t.CreatedAt < holdoutTo).Select(t => t.Id)));

        var lineage = await LineageAsync(version.Id);
        Assert.Equal(("append", (Guid?)earlier.Id, 105L, 27L, 73L), (lineage.Mode, lineage.BaseDatasetVersionId, lineage.BaseRows, lineage.Predictions, lineage.LeftOut));
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        var audited = await connection.QuerySingleAsync<long>(
            "SELECT (summary->>'baseHoldoutLeftOut')::bigint FROM audit_log WHERE action = 'retraining.dataset' AND object_id = @id", new { id = earlier.DatasetId.ToString() });
        Assert.Equal(5, audited);
    }

    [Fact]
    public async Task BuildAsync_NoTrafficOneClassOrNoChampion_FailsWithoutRetryOrVersion()
    {
        const string model = "rt-build-fail";
        var (_, v2, _) = await RetrainingDataScenario.HandMadeAsync(fixture, model);
        var datasets = fixture.App.Get<DatasetStore>();
        var versionsBefore = (await datasets.ListVersionsAsync((await datasets.ListAsync()).Single(d => d.Name == "scoring-sample").Id)).Count;

        // Seven weeks later the 28-day window holds no traffic.
        var late = new DateTime(2026, 8, 3, 0, 0, 0, DateTimeKind.Utc);
        var empty = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy, v2.Id, late);
        var error = await Assert.ThrowsAsync<NonRetryableJobException>(async () => await Builder(late).BuildAsync(empty, await RetrainingDataScenario.ContextAsync(fixture), default));
        Assert.Contains("No production traffic", error.Message);

        // A one-day window on 2026-06-10 holds the two legitimate labels only (replace: no original rows).
        var june11 = new DateTime(2026, 6, 11, 0, 0, 0, DateTimeKind.Utc);
        var oneClass = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy with { TrainingWindowDays = 1, HoldoutDays = 1 }, v2.Id, june11);
        error = await Assert.ThrowsAsync<NonRetryableJobException>(async () => await Builder(june11).BuildAsync(oneClass, await RetrainingDataScenario.ContextAsync(fixture), default));
        Assert.Contains("both fraud and legitimate", error.Message);
        Assert.Contains("0 labelled fraud, 2 labelled legitimate", error.Message);

        var noChampion = await RetrainingDataScenario.StartWorkflowAsync(fixture, model, RetrainingDataScenario.Policy, null, RetrainingDataScenario.Now);
        error = await Assert.ThrowsAsync<NonRetryableJobException>(async () => await Builder(RetrainingDataScenario.Now).BuildAsync(noChampion, await RetrainingDataScenario.ContextAsync(fixture), default));
        Assert.Contains("no production version", error.Message);

        Assert.Equal(versionsBefore, (await datasets.ListVersionsAsync((await datasets.ListAsync()).Single(d => d.Name == "scoring-sample").Id)).Count);
    }
}

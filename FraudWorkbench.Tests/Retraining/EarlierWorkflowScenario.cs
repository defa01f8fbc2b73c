using System.Text;
using Dapper;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Tests.Scoring;
using Npgsql;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>
/// Versions as an earlier workflow leaves them, without training one: a run copied from a real run (its model, so it
/// scores as that run does) that names another dataset, such as one whose rows carry prediction ids as built datasets do.
/// </summary>
public static class EarlierWorkflowScenario
{
    /// <summary>A copy of <paramref name="sourceRun"/>, trained (as far as the data steps and the gate can tell) on the given dataset version, or the same one.</summary>
    public static async Task<Guid> CopyRunAsync(ScoringFixture fixture, Guid sourceRun, Guid? datasetId = null, int? datasetVersion = null)
    {
        var id = Guid.NewGuid();
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        const string sql = """
            INSERT INTO training_runs (id, job_id, dataset_id, dataset_version, feature_set_version_id, config, status, result, model_artifact, error,
                duration_ms, created_by, created_at, finished_at, name, description)
            SELECT @id, job_id, coalesce(@datasetId::uuid, dataset_id), coalesce(@datasetVersion::integer, dataset_version), feature_set_version_id, config, status,
                result, model_artifact, error, duration_ms, created_by, created_at, finished_at, NULL, description
            FROM training_runs WHERE id = @sourceRun
            """;
        Assert.Equal(1, await connection.ExecuteAsync(sql, new { id, sourceRun, datasetId, datasetVersion }));
        return id;
    }

    /// <summary>
    /// A dataset named <paramref name="name"/> in the sample's schema plus a <c>prediction_id</c> column, as the dataset
    /// step writes it: each row a sample row and the prediction it came from (none for an original row).
    /// </summary>
    public static async Task<DatasetVersion> BuiltDatasetAsync(ScoringFixture fixture, string name, IEnumerable<(string?[] Row, Guid? PredictionId)> rows)
    {
        List<DatasetColumn> columns = [.. fixture.Schema.Columns, new DatasetColumn(RetrainingTraffic.PredictionIdColumn, ColumnType.Text, ColumnRole.Ignore)];
        var csv = new StringBuilder().Append(string.Join(',', columns.Select(c => c.Name))).Append('\n');
        foreach (var (row, id) in rows) csv.Append(string.Join(',', row.Select(Quote).Append(id?.ToString("D") ?? ""))).Append('\n');
        var overrides = new SchemaOverrides(columns.ToDictionary(c => c.Name, c => new ColumnOverride(c.Type, c.Role, c.DateFormat, c.AgeBands)), fixture.Schema.PositiveLabel);
        var ingestor = fixture.App.Get<DatasetIngestor>();
        await using var file = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        return (await ingestor.IngestAsync(await ingestor.StageAsync(file, name + ".csv"), name, overrides, "test")).Version;
    }

    /// <summary>Makes a registered version's run <paramref name="runId"/> (the data step finds the production version's dataset through it).</summary>
    public static async Task UseRunAsync(ScoringFixture fixture, Guid versionId, Guid runId)
    {
        await using var connection = await fixture.App.Get<NpgsqlDataSource>().OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteAsync("UPDATE model_versions SET run_id = @runId WHERE id = @versionId", new { runId, versionId }));
    }

    private static string Quote(string? cell) =>
        cell is null ? "" : cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}

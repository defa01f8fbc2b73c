using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using Microsoft.Extensions.Logging;
using nietras.SeparatedValues;
using Npgsql;

namespace FraudWorkbench.Core.Retraining;

/// <summary>
/// The dataset step: production traffic of the policy's window from the prediction log with its labels (labelled rows as
/// labelled; unlabelled past the label window legitimate; unlabelled inside it left out; the common holdout days left
/// out), optionally after the production version's original rows, written as a new immutable version of that dataset
/// with a <c>prediction_id</c> column and its lineage row.
/// </summary>
public sealed class TrainingDataBuilder(
    RegistryStore registry, TrainingRunStore runs, DatasetStore datasets, DatasetIngestor ingestor, ArtifactStore artifacts,
    PerformanceStore performance, NpgsqlDataSource dataSource, TimeProvider time, ILogger<TrainingDataBuilder> logger)
{
    private sealed class Counts
    {
        public long BaseRows, BaseFraud, BaseLegit, BaseHoldout, Traffic, Fraud, Legit, LegitByWindow, Unknown, Holdout, AlreadyInBase;
    }

    public async Task<DatasetStepResult> BuildAsync(RetrainingWorkflow workflow, JobContext context, CancellationToken cancellationToken)
    {
        var policy = workflow.Policy;
        var now = time.GetUtcNow().UtcDateTime;
        await context.ReportAsync(2, "finding the production version's dataset", cancellationToken);
        var champion = workflow.ChampionVersionId is Guid championId ? await registry.GetVersionAsync(championId, cancellationToken) : null;
        if (champion is null) throw new NonRetryableJobException($"{workflow.ModelName} had no production version when the workflow started: there is no dataset or recipe to retrain from.");
        var run = await runs.GetAsync(champion.RunId, cancellationToken)
            ?? throw new NonRetryableJobException($"The training run of {champion.ModelName} version {champion.Version} no longer exists.");
        var baseVersion = await datasets.GetVersionAsync(run.DatasetId, run.DatasetVersion, cancellationToken)
            ?? throw new NonRetryableJobException($"Version {run.DatasetVersion} of the dataset {champion.ModelName} version {champion.Version} was trained on no longer exists.");
        var schema = baseVersion.Schema;
        if (schema.Label is not { } labelColumn || schema.PositiveLabel is not { } positive)
            throw new NonRetryableJobException("The production version's dataset has no label column: traffic labels have nowhere to go.");
        var negative = RetrainingTraffic.NegativeLabel(baseVersion);
        var labelWindow = Math.Max(1, (await performance.ConfigAsync(workflow.RegisteredModelId, cancellationToken)).LabelWindowDays);
        var (from, to, holdoutFrom, holdoutTo) = RetrainingTraffic.Windows(now, policy.TrainingWindowDays, policy.HoldoutDays, labelWindow);
        var append = policy.DataMode == RetrainingDataMode.Append;

        // The built version keeps the original columns in their order; the prediction id comes last (unless an earlier
        // retraining put it there), so an id column the original has stays the transaction id.
        List<DatasetColumn> columns = [.. schema.Columns];
        var predictionColumn = schema.IndexOf(RetrainingTraffic.PredictionIdColumn);
        if (predictionColumn < 0)
        {
            predictionColumn = columns.Count;
            columns.Add(new DatasetColumn(RetrainingTraffic.PredictionIdColumn, ColumnType.Text, ColumnRole.Ignore));
        }

        var output = schema with { Delimiter = ',', Columns = columns };
        var labelIndex = schema.IndexOf(labelColumn.Name);
        var eventTime = schema.EventTime is { } timeColumn ? (Index: schema.IndexOf(timeColumn.Name), Format: timeColumn.DateFormat ?? ValueParsing.Iso) : ((int Index, string Format)?)null;
        var counts = new Counts();
        var sources = new HashSet<Guid>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // Customer data: written beside the uploads in the app's private data directory, not in the shared temp folder.
        var path = ingestor.StagedPath(Guid.NewGuid()) + ".building";
        try
        {
            await using (var file = PrivateFiles.CreateNew(path))
            await using (var text = new StreamWriter(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16))
            {
                using var writer = Sep.New(',').Writer(o => o with { Escape = true, CultureInfo = CultureInfo.InvariantCulture }).To(text);
                var basePredictions = new HashSet<Guid>();
                if (append)
                {
                    // When an earlier workflow built the production version's dataset, some of its rows are predictions of
                    // this workflow's holdout days: the challenger must not train on what the gate will judge it on.
                    var baseHoldout = holdoutFrom is DateTime hf && holdoutTo is DateTime ht
                        ? await RetrainingTraffic.LoggedPredictionsAsync(dataSource, artifacts, baseVersion, hf, ht, cancellationToken)
                        : [];
                    await context.ReportAsync(5, $"copying the {baseVersion.RowCount:N0} rows of {champion.ModelName} version {champion.Version}'s dataset version {baseVersion.Version}", cancellationToken);
                    await CopyBaseAsync(baseVersion, columns, labelIndex, positive, predictionColumn < schema.Columns.Count ? predictionColumn : -1, baseHoldout, basePredictions, writer, counts, cancellationToken);
                }

                var expected = await RetrainingTraffic.CountAsync(dataSource, workflow.RegisteredModelId, from, to, cancellationToken);
                await context.ReportAsync(20, $"reading {expected:N0} predictions from {from:yyyy-MM-dd HH:mm} to {to:yyyy-MM-dd HH:mm} UTC with their labels", cancellationToken);
                long seen = 0;
                await foreach (var prediction in RetrainingTraffic.ReadAsync(dataSource, workflow.RegisteredModelId, from, to, cancellationToken))
                {
                    if (++seen % 5_000 == 0) await context.ReportAsync(20 + (int)(40 * seen / Math.Max(expected, seen)), $"read {seen:N0} of {expected:N0} predictions", cancellationToken);
                    if (prediction.CreatedAt >= holdoutFrom && prediction.CreatedAt < holdoutTo)
                    {
                        counts.Holdout++;
                        continue;
                    }

                    var label = RetrainingTraffic.Label(prediction.IsFraud, prediction.CreatedAt, now, labelWindow);
                    if (label == TrafficLabel.Unknown)
                    {
                        counts.Unknown++;
                        continue;
                    }

                    // A row an earlier retraining already took into the original version is not added twice.
                    if (basePredictions.Contains(prediction.Id))
                    {
                        counts.AlreadyInBase++;
                        continue;
                    }

                    var row = RetrainingTraffic.ParseRow(prediction.InputJson, output);
                    row[labelIndex] = label == TrafficLabel.Fraud ? positive : negative;
                    // A model without time features does not require the event time; the time it was scored stands in.
                    if (eventTime is { } t && row[t.Index] is null) row[t.Index] = FormatTime(prediction.CreatedAt, t.Format);
                    var id = prediction.Id.ToString("D");
                    row[predictionColumn] = id;
                    Write(writer, columns, row);
                    hash.AppendData(Encoding.ASCII.GetBytes(id + "\n"));
                    sources.Add(prediction.ModelVersionId);
                    counts.Traffic++;
                    switch (label)
                    {
                        case TrafficLabel.Fraud: counts.Fraud++; break;
                        case TrafficLabel.Legitimate: counts.Legit++; break;
                        default: counts.LegitByWindow++; break;
                    }
                }
            }

            // Left out: traffic rows and original rows alike (the lineage's left_out, the step result's LeftOut).
            var leftOut = counts.Unknown + counts.Holdout + counts.BaseHoldout;
            var summary = $"{counts.Traffic:N0} traffic rows ({counts.Fraud:N0} labelled fraud, {counts.Legit:N0} labelled legitimate, {counts.LegitByWindow:N0} legitimate by the {labelWindow}-day label window; "
                + $"{counts.Unknown:N0} unlabelled inside it and {counts.Holdout:N0} in the holdout left out"
                + (counts.AlreadyInBase > 0 ? $"; {counts.AlreadyInBase:N0} already among the original rows" : "") + ")"
                + (counts.BaseHoldout > 0 ? $", {counts.BaseHoldout:N0} original rows left out as predictions of the holdout days" : "");
            if (counts.Traffic == 0)
                throw new NonRetryableJobException($"No production traffic to train on from {from:yyyy-MM-dd} to {to:yyyy-MM-dd}: {summary}.");
            if (counts.Fraud + counts.BaseFraud == 0 || counts.Legit + counts.LegitByWindow + counts.BaseLegit == 0)
                throw new NonRetryableJobException($"The training rows need both fraud and legitimate labels: {summary}{(append ? $", {counts.BaseFraud:N0} fraud and {counts.BaseLegit:N0} legitimate original rows" : "")}.");
            // Without a mature day in the window there is no common holdout (the gate could only be inconclusive), and every
            // unlabelled row is still inside the label window: the data would be the labelled rows alone, mostly chargebacks.
            if (holdoutFrom is null)
                throw new NonRetryableJobException($"The {policy.TrainingWindowDays}-day training window holds no mature day: the model's label window is {labelWindow} days. "
                    + $"Make the policy's training window longer than {labelWindow + policy.HoldoutDays} days (label window + holdout), or shorten the label window in the model's performance settings.");

            await context.ReportAsync(65, $"ingesting the new version of the dataset: {summary}", cancellationToken);
            StagedUpload staged;
            await using (var file = File.OpenRead(path)) staged = await ingestor.StageAsync(file, $"retraining-{workflow.Id:N}.csv", cancellationToken: cancellationToken);
            var overrides = new SchemaOverrides(
                columns.ToDictionary(c => c.Name, c => new ColumnOverride(c.Type, c.Role, c.DateFormat, c.AgeBands)), positive);
            IngestResult ingested;
            try
            {
                ingested = await ingestor.AddVersionAsync(run.DatasetId, staged, overrides, RetrainingTraffic.Actor, cancellationToken: cancellationToken);
            }
            catch (DatasetValidationException ex)
            {
                throw new NonRetryableJobException($"The built training data could not be ingested as a dataset version: {ex.Message}", ex);
            }

            var version = ingested.Version;
            var sha256 = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            await context.ReportAsync(95, "recording the lineage", cancellationToken);
            await RecordLineageAsync(workflow, version, sources, from, to, holdoutFrom, holdoutTo, append ? baseVersion.Id : null, counts, leftOut, sha256, now, cancellationToken);
            logger.LogInformation("Retraining {Workflow} of {Model}: dataset {Dataset} version {Version}, {Summary}", workflow.Id, workflow.ModelName, ingested.Dataset.Name, version.Version, summary);
            await context.ReportAsync(100, $"{ingested.Dataset.Name} version {version.Version}: {version.RowCount:N0} rows", cancellationToken);
            return new DatasetStepResult(
                ingested.Dataset.Id, ingested.Dataset.Name, version.Version, version.Id, version.Checksum, version.RowCount,
                counts.Traffic, counts.BaseRows, counts.Fraud, counts.Legit, counts.LegitByWindow, leftOut,
                from, to, holdoutFrom, holdoutTo, sha256);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string? FormatTime(DateTime utc, string format) => format switch
    {
        ValueParsing.Iso => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ValueParsing.EpochSeconds => ((long)(utc - DateTime.UnixEpoch).TotalSeconds).ToString(CultureInfo.InvariantCulture),
        ValueParsing.EpochMilliseconds => ((long)(utc - DateTime.UnixEpoch).TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        _ => utc.ToString(format, CultureInfo.InvariantCulture),
    };

    private static void Write(SepWriter writer, List<DatasetColumn> columns, string?[] row)
    {
        using var line = writer.NewRow();
        for (var i = 0; i < columns.Count; i++) line[columns[i].Name].Set(row[i] ?? "");
    }

    /// <summary>
    /// Streams the original version's rows into the new file (checksum verified on the way), counting their labels, except
    /// the predictions in <paramref name="holdout"/>; <paramref name="predictions"/> collects the prediction ids copied.
    /// </summary>
    private async Task CopyBaseAsync(
        DatasetVersion version, List<DatasetColumn> columns, int labelIndex, string positive, int predictionColumn, HashSet<Guid> holdout, HashSet<Guid> predictions,
        SepWriter writer, Counts counts, CancellationToken cancellationToken)
    {
        await using var stream = await artifacts.OpenReadAsync(version.Checksum, cancellationToken);
        using var reader = CsvFile.OpenReader(stream, version.Schema.Delimiter);
        if (!reader.MoveNext()) return; // the header
        var width = version.Schema.Columns.Count;
        var scratch = new char[256];
        var row = new string?[columns.Count];
        while (reader.MoveNext())
        {
            var line = reader.Current;
            if (CsvFile.IsBlank(line)) continue;
            if (((counts.BaseRows + counts.BaseHoldout) & 0x3FFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            Array.Clear(row);
            for (var i = 0; i < width && i < line.ColCount; i++) row[i] = CsvFile.Cell(line[i].Span, ref scratch, out _).ToString();
            var prediction = predictionColumn >= 0 && Guid.TryParse(row[predictionColumn]?.Trim(), out var id) ? id : (Guid?)null;
            if (prediction is Guid held && holdout.Contains(held))
            {
                counts.BaseHoldout++;
                continue;
            }

            Write(writer, columns, row);
            counts.BaseRows++;
            if (row[labelIndex] is { } y && !CsvFile.IsMissing(y))
            {
                if (y.Trim() == positive) counts.BaseFraud++;
                else counts.BaseLegit++;
            }

            // The traffic read next skips these: a prediction is never both an original row and a traffic row.
            if (prediction is Guid copied) predictions.Add(copied);
        }
    }

    private async Task RecordLineageAsync(
        RetrainingWorkflow workflow, DatasetVersion version, HashSet<Guid> sources, DateTime from, DateTime to, DateTime? holdoutFrom, DateTime? holdoutTo,
        Guid? baseVersionId, Counts counts, long leftOut, string sha256, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A retried step that rebuilt identical content gets the same version back; its lineage is already there.
        const string sql = """
            INSERT INTO retraining_dataset_lineage (dataset_version_id, workflow_id, registered_model_id, source_version_ids, window_from, window_to,
                holdout_from, holdout_to, mode, base_dataset_version_id, base_rows, predictions, fraud_labelled, legit_labelled, legit_by_window, left_out,
                prediction_ids_sha256, created_at)
            VALUES (@versionId, @workflowId, @modelId, @sources, @from, @to, @holdoutFrom, @holdoutTo, @mode, @baseVersionId, @baseRows, @predictions,
                @fraud, @legit, @legitByWindow, @leftOut, @sha256, @now)
            ON CONFLICT (dataset_version_id) DO NOTHING
            """;
        var inserted = await connection.ExecuteAsync(new CommandDefinition(sql, new
        {
            versionId = version.Id, workflowId = workflow.Id, modelId = workflow.RegisteredModelId, sources = sources.Order().ToArray(), from, to, holdoutFrom, holdoutTo,
            mode = workflow.Policy.DataMode, baseVersionId, baseRows = counts.BaseRows, predictions = counts.Traffic, fraud = counts.Fraud, legit = counts.Legit,
            legitByWindow = counts.LegitByWindow, leftOut, sha256, now,
        }, transaction, cancellationToken: cancellationToken));
        if (inserted == 1)
        {
            await AuditLog.WriteAsync(transaction, now, RetrainingTraffic.Actor, "retraining.dataset", "dataset", version.DatasetId.ToString(), new
            {
                workflow = workflow.Id, model = workflow.ModelName, version = version.Version, mode = workflow.Policy.DataMode, windowFrom = from, windowTo = to, holdoutFrom, holdoutTo,
                baseRows = counts.BaseRows, baseHoldoutLeftOut = counts.BaseHoldout, predictions = counts.Traffic, fraudLabelled = counts.Fraud, legitLabelled = counts.Legit,
                legitByWindow = counts.LegitByWindow, leftOut, predictionIdsSha256 = sha256,
            }, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}

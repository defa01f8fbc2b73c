using System.Globalization;
using FraudWorkbench.Core.Artifacts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Core.Explain;

/// <summary>A version's holdout as loaded for explaining: its labelled rows, numbered 0 to <see cref="Count"/> − 1.</summary>
/// <param name="Highest">The row with the highest probability (the first, on a tie).</param>
/// <param name="Lowest">The row with the lowest probability (the first, on a tie).</param>
/// <param name="FraudRows">The rows labelled fraud, ascending.</param>
public sealed record HoldoutRows(Guid VersionId, int Count, int Highest, int Lowest, IReadOnlyList<int> FraudRows)
{
    public int FraudCount => FraudRows.Count;

    /// <summary>The first fraud row after <paramref name="row"/>, wrapping round to the first; null when no row is labelled fraud.</summary>
    public int? NextFraud(int row) => FraudRows.Count == 0 ? null : FraudRows.FirstOrDefault(i => i > row, FraudRows[0]);
}

/// <summary>One holdout row: its label, the probability the version gives it, its raw values and its explanation.</summary>
/// <param name="Values">The row's raw values by the model's input schema's column names, in schema order (null where missing).</param>
/// <param name="Explanation">Null when the version cannot explain its scores (trained before explanations were stored).</param>
public sealed record HoldoutRow(int Index, bool IsFraud, double Probability, IReadOnlyList<(string Column, string? Value)> Values, TransactionExplanation? Explanation);

/// <summary>A version's holdout featurized for its model: <paramref name="Features"/> row-major, one label and one raw row per holdout row.</summary>
public sealed record HoldoutData(float[] Features, bool[] Labels, PackedRows Rows);

/// <summary>A holdout that cannot be rebuilt: its run or dataset version is gone, its file unreadable, or it lacks the label or a model input.</summary>
public sealed class HoldoutUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Explains any row of a version's holdout (its validation rows), not only the sample the global explanation job
/// kept. The holdout is rebuilt, featurized and scored once per version, on demand, and kept for the few versions
/// asked for last: the features and raw text of tens of thousands of rows are megabytes, and most pages never ask.
/// </summary>
public sealed class HoldoutExplainer(TrainingRunStore runs, DatasetStore datasets, ArtifactStore artifacts)
{
    public const int MaxVersions = 3;

    private sealed record Loaded(HoldoutRows Summary, HoldoutData Data, double[] Probabilities);

    /// <summary>Most recently used first.</summary>
    private readonly LinkedList<(Guid VersionId, Task<Loaded> Load)> recent = new();

    private int builds;

    /// <summary>How many holdouts this instance has rebuilt (a kept one is not rebuilt).</summary>
    internal int Builds => Volatile.Read(ref builds);

    /// <summary>The holdout's features, labels and raw rows, rebuilt or kept: the global explanation job reads the same one the page does.</summary>
    /// <exception cref="HoldoutUnavailableException">The holdout cannot be rebuilt; the message says why.</exception>
    public async Task<HoldoutData> DataAsync(ModelVersion version, ServingModel model, CancellationToken cancellationToken = default) =>
        (await GetAsync(version, model, cancellationToken)).Data;

    /// <summary>Rebuilds and scores <paramref name="version"/>'s holdout, or returns the one already kept.</summary>
    /// <exception cref="HoldoutUnavailableException">The holdout cannot be rebuilt; the message says why.</exception>
    public async Task<HoldoutRows> LoadAsync(ModelVersion version, ServingModel model, CancellationToken cancellationToken = default) =>
        (await GetAsync(version, model, cancellationToken)).Summary;

    /// <summary>Row <paramref name="index"/> of the holdout, explained by <paramref name="model"/> (loading the holdout again if it was dropped).</summary>
    /// <exception cref="ArgumentOutOfRangeException">There is no such row.</exception>
    public async Task<HoldoutRow> RowAsync(ModelVersion version, ServingModel model, int index, CancellationToken cancellationToken = default)
    {
        var loaded = await GetAsync(version, model, cancellationToken);
        var data = loaded.Data;
        var count = data.Labels.Length;
        if (index < 0 || index >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, count == 0
                ? $"The holdout of {model.ModelName} version {model.Version} has no labelled rows."
                : $"Row {index} is not in the holdout of {model.ModelName} version {model.Version}: its {count.ToString("N0", CultureInfo.InvariantCulture)} labelled rows are numbered 0 to {count - 1}.");
        }

        var width = model.Features.SlotCount;
        var raw = data.Rows.Row(index);
        var columns = model.Features.Schema.Columns;
        return new HoldoutRow(index, data.Labels[index], loaded.Probabilities[index],
            [.. columns.Select((c, i) => (c.Name, i < raw.Length ? raw[i] : null))],
            model.Explain(data.Features.AsSpan(index * width, width)));
    }

    private async Task<Loaded> GetAsync(ModelVersion version, ServingModel model, CancellationToken cancellationToken)
    {
        if (model.VersionId != version.Id)
            throw new ArgumentException($"The model given is {model.ModelName} version {model.Version}, not {version.ModelName} version {version.Version}.", nameof(model));

        Task<Loaded>? started = null;
        Task<Loaded> load;
        lock (recent)
        {
            var node = recent.First;
            while (node is not null && node.Value.VersionId != version.Id) node = node.Next;
            if (node is null)
            {
                // Off the caller's thread (a Blazor circuit's, here): featurizing and scoring take seconds of CPU. No
                // caller's token either: callers share the load, and one giving up must not fail the others.
                started = Task.Run(() => BuildAsync(version, model), CancellationToken.None);
                node = new LinkedListNode<(Guid, Task<Loaded>)>((version.Id, started));
            }
            else
            {
                recent.Remove(node);
            }

            recent.AddFirst(node);
            while (recent.Count > MaxVersions) recent.RemoveLast();
            load = node.Value.Load;
        }

        // Never keep a failed load, even when nobody waits for it any more: the next ask tries again. Registered
        // outside the lock, as a load that already failed runs its continuation right here.
        _ = started?.ContinueWith(failed => Forget(version.Id, failed), CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        return await load.WaitAsync(cancellationToken);
    }

    private void Forget(Guid versionId, Task<Loaded> load)
    {
        lock (recent)
        {
            for (var node = recent.First; node is not null; node = node.Next)
            {
                if (node.Value.VersionId != versionId || node.Value.Load != load) continue;
                recent.Remove(node);
                return;
            }
        }
    }

    private async Task<Loaded> BuildAsync(ModelVersion version, ServingModel model)
    {
        Interlocked.Increment(ref builds);
        (float[] Features, bool[] Labels, List<string?[]> Rows) holdout;
        try
        {
            var run = await runs.GetAsync(version.RunId) ?? throw new HoldoutUnavailableException("The version's training run no longer exists.");
            holdout = (await Holdout.LoadAsync(run, datasets, artifacts, CancellationToken.None)).Featurize(model);
        }
        catch (NonRetryableJobException ex)
        {
            throw new HoldoutUnavailableException(ex.Message, ex);
        }
        catch (ArtifactCorruptedException ex)
        {
            throw new HoldoutUnavailableException("The training dataset's file failed its checksum: " + ex.Message, ex);
        }
        catch (IOException ex)
        {
            throw new HoldoutUnavailableException("The training dataset's file could not be read: " + ex.Message, ex);
        }

        var (features, labels, rows) = holdout;
        var count = labels.Length;
        var probabilities = new double[count];
        if (count > 0) model.Probabilities(features, count, probabilities);
        var highest = 0;
        var lowest = 0;
        for (var i = 1; i < count; i++)
        {
            if (probabilities[i] > probabilities[highest]) highest = i;
            if (probabilities[i] < probabilities[lowest]) lowest = i;
        }

        int[] fraud = [.. Enumerable.Range(0, count).Where(i => labels[i])];
        // Kept as one UTF-8 buffer: the raw text of every holdout row, for the few versions asked for last.
        return new Loaded(new HoldoutRows(version.Id, count, highest, lowest, fraud), new HoldoutData(features, labels, new PackedRows(rows)), probabilities);
    }
}

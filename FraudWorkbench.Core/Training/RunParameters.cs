using System.Globalization;
using System.Text.Json;

namespace FraudWorkbench.Core.Training;

/// <summary>One setting of a run, as the run page and the comparison show it.</summary>
/// <param name="Key">Stable key, e.g. <c>trainer.trees</c>.</param>
/// <param name="Label">Plain English, e.g. "Trees".</param>
public sealed record RunParameter(string Group, string Key, string Label, string Value);

/// <summary>A row of the comparison's parameter diff: the value in each run, and whether they differ.</summary>
public sealed record ParameterDiffRow(string Group, string Key, string Label, IReadOnlyList<string> Values)
{
    public bool Differs => Values.Distinct(StringComparer.Ordinal).Skip(1).Any();
}

/// <summary>Every setting of a run (all of its config, so a setting added later shows without a change here) and the diff between runs.</summary>
public static class RunParameters
{
    public const string NotUsed = "not used";

    private static readonly Dictionary<string, string> Groups = new(StringComparer.OrdinalIgnoreCase)
    {
        ["trainer"] = "Trainer", ["imbalance"] = "Imbalance", ["split"] = "Split", ["threshold"] = "Threshold",
    };

    private static readonly Dictionary<string, string> Labels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["trainer.trainer"] = "Trainer", ["trainer.trees"] = "Trees", ["trainer.leaves"] = "Leaves", ["trainer.learningRate"] = "Learning rate",
        ["trainer.minimumExamplesPerLeaf"] = "Min rows per leaf", ["trainer.l2Regularization"] = "L2 regularisation", ["trainer.threads"] = "Threads",
        ["trainer.seed"] = "Seed", ["trainer.maximumDepth"] = "Max depth (0 = unlimited)",
        ["imbalance.strategy"] = "Strategy", ["imbalance.positiveWeight"] = "Fraud weight (empty: negatives ÷ positives)", ["imbalance.k"] = "SMOTE k",
        ["imbalance.targetRatio"] = "Fraud per legitimate after resampling",
        ["split.kind"] = "Split", ["split.validationFraction"] = "Validation share", ["split.folds"] = "Folds",
        ["threshold.method"] = "Threshold method", ["threshold.reviewCost"] = "Cost of a review", ["threshold.maxReviewsPerDay"] = "Reviews per day (cap)",
        ["threshold.amountColumn"] = "Amount column",
    };

    // An unset setting (a default weight, no amount column) is a row too: "all settings" includes what was left empty.
    private static readonly JsonSerializerOptions WithNulls = new(Data.DatasetSchema.Json) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never };

    /// <summary>The run's trainer, imbalance, split and threshold settings in a fixed order (lineage ids left out: the pages name them).</summary>
    public static IReadOnlyList<RunParameter> Of(TrainingRunRequest config)
    {
        var normalised = config with
        {
            Trainer = config.Trainer ?? new TrainerSettings(), Imbalance = config.Imbalance ?? new ImbalanceSettings(),
            Split = config.Split ?? new SplitSettings(), Threshold = config.Threshold ?? new ThresholdSettings(),
        };
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(normalised, WithNulls));
        var list = new List<RunParameter>();
        foreach (var section in json.RootElement.EnumerateObject())
        {
            if (section.Value.ValueKind != JsonValueKind.Object) continue;
            foreach (var setting in section.Value.EnumerateObject())
            {
                var key = $"{section.Name}.{setting.Name}";
                if (!InEffect(key, normalised)) continue;
                list.Add(new RunParameter(Groups.GetValueOrDefault(section.Name, section.Name), key, Labels.GetValueOrDefault(key, setting.Name), Text(setting.Value)));
            }
        }

        return list;
    }

    /// <summary>
    /// Whether a setting changes what the run does: SMOTE's k means nothing to class weights, a review cost nothing
    /// to a best-F1 threshold. Settings that do nothing are left out, so a comparison does not mark them as differences.
    /// </summary>
    public static bool InEffect(string key, TrainingRunRequest config) => key.ToLowerInvariant() switch
    {
        "imbalance.positiveweight" => config.Imbalance?.Strategy == ImbalanceStrategy.ClassWeights,
        "imbalance.k" => config.Imbalance?.Strategy == ImbalanceStrategy.Smote,
        "imbalance.targetratio" => config.Imbalance?.Strategy is ImbalanceStrategy.Smote or ImbalanceStrategy.Undersample,
        "split.folds" => config.Split?.Kind == SplitKind.KFold,
        "threshold.reviewcost" or "threshold.maxreviewsperday" or "threshold.amountcolumn" => config.Threshold?.Method == "cost",
        _ => true,
    };

    /// <summary>One row per setting any of the runs has, in the first run's order; a setting that does nothing in a run shows as "not used".</summary>
    public static IReadOnlyList<ParameterDiffRow> Diff(IReadOnlyList<TrainingRunRequest> configs)
    {
        var perRun = configs.Select(c => Of(c).ToDictionary(p => p.Key)).ToList();
        var keys = new List<RunParameter>();
        foreach (var run in perRun)
            foreach (var parameter in run.Values)
                if (!keys.Any(k => k.Key == parameter.Key)) keys.Add(parameter);
        return [.. keys.Select(k => new ParameterDiffRow(k.Group, k.Key, k.Label, [.. perRun.Select(r => r.TryGetValue(k.Key, out var p) ? p.Value : NotUsed)]))];
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "",
        JsonValueKind.String => value.GetString()!.Replace('_', ' '),
        JsonValueKind.Number => value.TryGetInt64(out var whole) ? whole.ToString(CultureInfo.InvariantCulture) : value.GetDouble().ToString("G6", CultureInfo.InvariantCulture),
        _ => value.GetRawText(),
    };
}

/// <summary>A metric the comparison lines runs up on, and which way is better.</summary>
public sealed record ComparedMetric(string Label, bool HigherIsBetter, Func<TrainingResult, double> Value, string Format = "0.000")
{
    /// <summary>PR-AUC first: with a few fraud rows in many, it says more than ROC-AUC. Log loss and Brier are errors: lower is better.</summary>
    public static readonly IReadOnlyList<ComparedMetric> All =
    [
        new("PR-AUC", true, r => r.Metrics.AveragePrecision),
        new("ROC-AUC", true, r => r.Metrics.RocAuc),
        new("Recall at 1 % FPR", true, r => r.Metrics.RecallAtOnePercentFpr),
        new("F1 at the threshold", true, r => r.Threshold.Confusion.F1),
        new("Log loss", false, r => r.Metrics.LogLoss, "0.0000"),
        new("Brier", false, r => r.Metrics.Brier, "0.0000"),
    ];

    /// <summary>The indexes of the best value (all of them on a tie); none when fewer than two values or all equal.</summary>
    public IReadOnlySet<int> Best(IReadOnlyList<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count < 2 || finite.Distinct().Count() == 1) return new HashSet<int>();
        var best = HigherIsBetter ? finite.Max() : finite.Min();
        return Enumerable.Range(0, values.Count).Where(i => values[i] == best).ToHashSet();
    }
}

using System.Globalization;
using System.Text.Json.Serialization;
using FraudWorkbench.Core.Registry;

namespace FraudWorkbench.Core.Fairness;

/// <summary>
/// A disparity limit: <see cref="DisparityName.Ratio"/>s must be at least <paramref name="Threshold"/>,
/// <see cref="DisparityName.Difference"/>s at most.
/// </summary>
/// <param name="Disparity"><see cref="DisparityName.DemographicParity"/>, <see cref="DisparityName.EqualizedOdds"/> or <see cref="DisparityName.EqualOpportunity"/>.</param>
/// <param name="Aggregation">For equalized odds: worst_case (default) or mean.</param>
/// <param name="Grouping">A protected column, or crossed columns joined by " × "; null for every protected column on its own.</param>
public sealed record FairnessLimit(
    string Disparity, string Kind, double Threshold, string Method = DisparityName.BetweenGroups, string? Aggregation = null, string? Grouping = null)
{
    public static readonly IReadOnlyList<string> Disparities = [DisparityName.DemographicParity, DisparityName.EqualizedOdds, DisparityName.EqualOpportunity];
    public static readonly IReadOnlyList<string> Kinds = [DisparityName.Ratio, DisparityName.Difference];
    public static readonly IReadOnlyList<string> Methods = [DisparityName.BetweenGroups, DisparityName.ToOverall];
    public static readonly IReadOnlyList<string> Aggregations = [DisparityName.WorstCase, DisparityName.Mean];

    [JsonIgnore]
    public bool IsRatio => Kind == DisparityName.Ratio;

    /// <summary>The aggregation the disparity is looked up with: worst case unless said otherwise, none outside equalized odds.</summary>
    [JsonIgnore]
    public string? EffectiveAggregation => Disparity == DisparityName.EqualizedOdds ? Aggregation ?? DisparityName.WorstCase : null;

    /// <summary>"equalized odds difference (worst case, between groups)".</summary>
    [JsonIgnore]
    public string Title
    {
        get
        {
            var how = Method == DisparityName.ToOverall ? "to overall" : "between groups";
            return EffectiveAggregation is { } a ? $"{Describe(Disparity)} {Kind} ({a.Replace('_', ' ')}, {how})" : $"{Describe(Disparity)} {Kind} ({how})";
        }
    }

    public static string Describe(string disparity) => disparity switch
    {
        DisparityName.DemographicParity => "demographic parity",
        DisparityName.EqualizedOdds => "equalized odds",
        DisparityName.EqualOpportunity => "equal opportunity",
        _ => disparity,
    };
}

/// <summary>
/// A registered model's fairness gate: limits on disparities, judged on their bootstrap intervals, and optionally no
/// worse than the production version on the same holdout by more than <paramref name="MaxRegression"/>.
/// </summary>
public sealed record FairnessGateSettings(IReadOnlyList<FairnessLimit> Limits, bool NonRegression = false, double MaxRegression = 0.02)
{
    public const int MaxLimits = 30;
    public const int MaxGroupingLength = 300;

    public static FairnessGateSettings None => new([]);

    /// <summary>The issue's examples: demographic parity ratio at least 0.8 (the four-fifths rule) and equalized odds difference at most 0.1.</summary>
    public static IReadOnlyList<FairnessLimit> Suggested =>
        [new(DisparityName.DemographicParity, DisparityName.Ratio, 0.8), new(DisparityName.EqualizedOdds, DisparityName.Difference, 0.1)];

    /// <summary>What non-regression compares when no limits are set: <see cref="Suggested"/>'s disparities.</summary>
    [JsonIgnore]
    public IReadOnlyList<FairnessLimit> Compared => Limits.Count > 0 ? Limits : Suggested;

    [JsonIgnore]
    public bool IsEmpty => Limits.Count == 0 && !NonRegression;

    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        if (Limits is null) return [("limits", "Give the limits (the list may be empty).")];
        if (Limits.Count > MaxLimits) return [("limits", $"At most {MaxLimits} limits.")];
        var issues = new List<(string, string)>();
        for (var i = 0; i < Limits.Count; i++)
        {
            var l = Limits[i];
            var at = $"limits[{i}]";
            if (l is null)
            {
                issues.Add((at, "A limit needs a disparity, a kind and a threshold."));
                continue;
            }

            if (!FairnessLimit.Disparities.Contains(l.Disparity)) issues.Add(($"{at}.disparity", $"'{l.Disparity}' is not one of {string.Join(", ", FairnessLimit.Disparities)}."));
            if (!FairnessLimit.Kinds.Contains(l.Kind)) issues.Add(($"{at}.kind", $"'{l.Kind}' is not one of {string.Join(", ", FairnessLimit.Kinds)}."));
            if (!FairnessLimit.Methods.Contains(l.Method)) issues.Add(($"{at}.method", $"'{l.Method}' is not one of {string.Join(", ", FairnessLimit.Methods)}."));
            if (l.Aggregation is not null && (l.Disparity != DisparityName.EqualizedOdds || !FairnessLimit.Aggregations.Contains(l.Aggregation)))
                issues.Add(($"{at}.aggregation", $"Only equalized odds takes an aggregation, one of {string.Join(", ", FairnessLimit.Aggregations)}."));
            if (l.Threshold is not (>= 0 and <= 1)) issues.Add(($"{at}.threshold", "A disparity limit is a number from 0 to 1."));
            if (l.Grouping is not null && (string.IsNullOrWhiteSpace(l.Grouping) || l.Grouping.Length > MaxGroupingLength || l.Grouping.Any(char.IsControl)))
                issues.Add(($"{at}.grouping", $"A grouping is a protected column, or columns joined by \"{FairnessGroups.Separator.Trim()}\" (up to {MaxGroupingLength} characters); leave it out for every protected column."));
        }

        if (MaxRegression is not (>= 0 and <= 1)) issues.Add(("maxRegression", "The non-regression margin is a number from 0 to 1."));
        return issues;
    }
}

/// <summary>
/// Judges a candidate's fairness against a gate. A limit fails only when the whole confidence interval is beyond it, so
/// a small holdout cannot fail a model on noise; it is inconclusive when the disparity cannot be computed (fewer than
/// two groups large enough), which blocks promotion until an Admin overrides it.
/// </summary>
public static class FairnessGate
{
    public const string LimitKind = "fairness";
    public const string RegressionKind = "fairness-regression";

    /// <param name="candidate">The candidate's groupings on its holdout, with intervals.</param>
    /// <param name="champion">The production version's groupings on the same rows (point values are enough), or null.</param>
    /// <param name="columns">The protected columns, each a grouping on its own.</param>
    public static IReadOnlyList<GateCheck> Judge(
        FairnessGateSettings gate, IReadOnlyList<GroupingFairness> candidate, IReadOnlyList<GroupingFairness>? champion, int? championVersion,
        IReadOnlyList<string> columns, FairnessSettings settings)
    {
        var checks = new List<GateCheck>();
        if (gate.IsEmpty) return checks;
        var level = settings.Confidence.ToString("0.##%", CultureInfo.InvariantCulture);
        if (columns.Count == 0)
        {
            checks.Add(new GateCheck(LimitKind, "protected columns", "the gate sets fairness limits, but the version's data marks no protected column", null, null, false, Inconclusive: true));
            return checks;
        }

        foreach (var limit in gate.Limits)
        {
            foreach (var name in limit.Grouping is { } one ? [one] : columns)
            {
                checks.Add(JudgeLimit(limit, name, candidate.FirstOrDefault(g => g.Name == name), settings, level));
            }
        }

        if (gate.NonRegression && champion is not null)
        {
            foreach (var limit in gate.Compared)
            {
                foreach (var name in limit.Grouping is { } one ? [one] : columns)
                {
                    checks.Add(JudgeRegression(limit, name, candidate.FirstOrDefault(g => g.Name == name), champion.FirstOrDefault(g => g.Name == name),
                        championVersion, gate.MaxRegression, settings, level));
                }
            }
        }

        return checks;
    }

    private static GateCheck JudgeLimit(FairnessLimit limit, string grouping, GroupingFairness? found, FairnessSettings settings, string level)
    {
        var sign = limit.IsRatio ? "≥" : "≤";
        var rule = $"{sign} {F(limit.Threshold)}; fails only when the whole {level} interval is {(limit.IsRatio ? "below" : "above")} it";
        if (Find(limit, found) is not { Value.Value: { } value } d)
        {
            return new GateCheck(LimitKind, limit.Title, $"{rule}. Cannot be judged: {Why(found, grouping, limit, settings)}", null, limit.Threshold, false, Inconclusive: true, Subject: grouping);
        }

        // The bound nearest the limit decides: the upper bound of a ratio, the lower bound of a difference.
        var nearest = limit.IsRatio ? d.Value.Upper ?? value : d.Value.Lower ?? value;
        var failed = limit.IsRatio ? nearest < limit.Threshold : nearest > limit.Threshold;
        var beyond = limit.IsRatio ? value < limit.Threshold : value > limit.Threshold;
        if (!failed && beyond) rule += $" (the value is {(limit.IsRatio ? "below" : "above")} it, but the interval reaches it)";
        return new GateCheck(LimitKind, limit.Title, rule, value, limit.Threshold, !failed, Lower: d.Value.Lower, Upper: d.Value.Upper, Subject: grouping);
    }

    private static GateCheck JudgeRegression(
        FairnessLimit limit, string grouping, GroupingFairness? found, GroupingFairness? production, int? championVersion, double margin, FairnessSettings settings, string level)
    {
        var against = championVersion is int v ? $"production version {v}" : "the production version";
        if (Find(limit, found) is not { Value.Value: { } value } d)
        {
            return new GateCheck(RegressionKind, limit.Title, $"no worse than {against}. Cannot be judged: {Why(found, grouping, limit, settings)}", null, null, false, Inconclusive: true, Subject: grouping);
        }

        if (Find(limit, production)?.Value.Value is not { } reference)
        {
            return new GateCheck(RegressionKind, limit.Title, $"no worse than {against}: its disparity is undefined on these rows, so there is nothing to regress from",
                value, null, true, Lower: d.Value.Lower, Upper: d.Value.Upper, Subject: grouping);
        }

        var bound = limit.IsRatio ? reference - margin : reference + margin;
        var nearest = limit.IsRatio ? d.Value.Upper ?? value : d.Value.Lower ?? value;
        var failed = limit.IsRatio ? nearest < bound : nearest > bound;
        var rule = $"{(limit.IsRatio ? "≥" : "≤")} {F(bound)} ({against} {F(reference)}, at most {F(margin)} worse); fails only when the whole {level} interval is beyond it";
        return new GateCheck(RegressionKind, limit.Title, rule, value, reference, !failed, Lower: d.Value.Lower, Upper: d.Value.Upper, Subject: grouping);
    }

    private static Disparity? Find(FairnessLimit limit, GroupingFairness? grouping) =>
        grouping?.Disparities.FirstOrDefault(d => d.Name == limit.Disparity && d.Kind == limit.Kind && d.Method == limit.Method && d.Aggregation == limit.EffectiveAggregation);

    /// <summary>Why a disparity has no value, in the reviewer's terms.</summary>
    private static string Why(GroupingFairness? grouping, string name, FairnessLimit limit, FairnessSettings settings)
    {
        if (grouping is null) return $"the holdout has no protected grouping \"{name}\".";
        var needsFraud = limit.Disparity != DisparityName.DemographicParity;
        var judged = grouping.Groups.Where(g => g.TooSmall is null && (!needsFraud || g.Fraud > 0)).Select(g => g.Group).ToList();
        var left = grouping.Groups.Where(g => !judged.Contains(g.Group)).Select(g => $"{g.Group} ({g.Count:N0} rows, {g.Fraud:N0} fraud)").ToList();
        return $"fewer than two groups of \"{name}\" have at least {settings.MinGroupSize} rows{(needsFraud ? " and a fraud case" : "")}"
            + (left.Count > 0 ? $"; too small: {string.Join(", ", left.Take(8))}{(left.Count > 8 ? $" and {left.Count - 8} more" : "")}." : ".");
    }

    private static string F(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);
}

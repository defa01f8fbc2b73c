using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>What the Fairness tab shows, as plain functions of the Core records (tested without a page).</summary>
public static class FairnessProductionView
{
    public const string Realized = "realized";
    public const string Estimated = "estimated";

    /// <summary>The disparities the series can draw: key "name|kind|aggregation", between groups.</summary>
    public static readonly IReadOnlyList<(string Key, string Label)> Disparities =
    [
        ($"{DisparityName.DemographicParity}|{DisparityName.Ratio}|", "Demographic parity ratio (min / max)"),
        ($"{DisparityName.DemographicParity}|{DisparityName.Difference}|", "Demographic parity difference"),
        ($"{DisparityName.EqualOpportunity}|{DisparityName.Difference}|", "Equal opportunity difference (TPR)"),
        ($"{DisparityName.EqualizedOdds}|{DisparityName.Difference}|{DisparityName.WorstCase}", "Equalized odds difference (worst case)"),
        ($"{DisparityName.EqualizedOdds}|{DisparityName.Ratio}|{DisparityName.WorstCase}", "Equalized odds ratio (worst case)"),
    ];

    /// <summary>The disparity's name for the chart's axis (short, so it fits the axis) and whether it is a ratio.</summary>
    public static (string Axis, bool Ratio) Describe(string key)
    {
        var parts = key.Split('|');
        var name = parts[0] switch
        {
            DisparityName.DemographicParity => "DP",
            DisparityName.EqualOpportunity => "EO",
            _ => "EOdds",
        };
        return ($"{name} {parts[1]}", parts[1] == DisparityName.Ratio);
    }

    /// <summary>One point per stored window: the realized between-groups disparity with its interval, and the estimate where labels matter (not for demographic parity, which needs none).</summary>
    public static IReadOnlyList<DisparityPoint> Points(FairnessSeries series, string key)
    {
        var parts = key.Split('|');
        var (name, kind, aggregation) = (parts[0], parts[1], parts.Length > 2 && parts[2].Length > 0 ? parts[2] : null);
        Disparity? Find(IReadOnlyList<Disparity> list) =>
            list.FirstOrDefault(d => d.Name == name && d.Kind == kind && d.Method == DisparityName.BetweenGroups && d.Aggregation == aggregation);
        var versions = series.Points.Select(p => p.Version).Distinct().Count();
        return [.. series.Points.Select(p =>
        {
            var realized = Find(p.Realized)?.Value;
            var estimated = name == DisparityName.DemographicParity ? null : Find(p.Estimated)?.Value.Value;
            var label = p.Day.ToString("MM-dd", CultureInfo.InvariantCulture) + (versions > 1 ? $" v{p.Version}" : "");
            return new DisparityPoint(label, realized?.Value, realized?.Lower, realized?.Upper, estimated, p.Mature, p.Predictions);
        })];
    }
}

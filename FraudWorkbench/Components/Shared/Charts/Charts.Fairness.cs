using FraudWorkbench.Core.Fairness;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

public static partial class Charts
{
    /// <summary>
    /// One metric per group as bars with their bootstrap interval as whiskers, the overall value as a dashed line; groups
    /// too small to judge (or where the metric is undefined) are grey. Hovering a bar gives its value, interval and size.
    /// </summary>
    /// <param name="figure">False for the bare SVG (a standalone report, with no download buttons to wire up).</param>
    public static string FairnessGroups(GroupingFairness grouping, string metric, int width = 960, int height = 320, bool figure = true)
    {
        var (plot, hovers) = FairnessGroupsPlot(grouping, metric);
        return figure ? Svg(plot, width, height, $"{grouping.Name} {metric}", hovers) : DrawSvg(plot, width, height, hovers);
    }

    /// <summary>The chart of <see cref="FairnessGroups"/> as a PNG, for a document that cannot hold SVG (the PDF report).</summary>
    public static byte[] FairnessGroupsPng(GroupingFairness grouping, string metric, int width = 960, int height = 320, float scale = 2) =>
        Png(FairnessGroupsPlot(grouping, metric).Plot, width, height, scale);

    private static (Plot Plot, List<Hover> Hovers) FairnessGroupsPlot(GroupingFairness grouping, string metric)
    {
        var plot = new Plot();
        var groups = grouping.Groups;
        var hovers = new List<Hover>();
        var top = 0.0;
        var bars = new List<Bar>();
        var whiskers = new List<(double X1, double Y1, double X2, double Y2)>();
        for (var i = 0; i < groups.Count; i++)
        {
            var group = groups[i];
            var value = group.Metrics[metric];
            if (value.Value is not { } v) continue;
            var judged = group.TooSmall is null;
            bars.Add(new Bar { Position = i, Value = v, FillColor = judged ? Bars : NoValue, LineWidth = 0 });
            if (value.Lower is { } low && value.Upper is { } high)
            {
                whiskers.AddRange([(i, low, i, high), (i - 0.15, low, i + 0.15, low), (i - 0.15, high, i + 0.15, high)]);
                top = Math.Max(top, high);
            }

            top = Math.Max(top, v);
            var interval = value.Lower is null ? "" : $" (95 % interval {Value(value.Lower.Value)}–{Value(value.Upper!.Value)})";
            hovers.Add(Hover.Box(i - 0.4, i + 0.4, 0, Math.Max(v, 1e-9),
                $"{group.Group}: {FairnessMetric.Title(metric)} {Value(v)}{interval}, {group.Count:N0} rows{(judged ? "" : ", too small to judge")}"));
        }

        if (grouping.Overall.Metrics[metric].Value is { } overall)
        {
            var line = plot.Add.HorizontalLine(overall);
            line.Color = NoValue;
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1;
            line.LegendText = $"overall {Value(overall)}";
        }

        plot.Add.Bars(bars).LegendText = "group (grey: too small to judge), whisker: bootstrap interval";
        // Over the bars, so the lower half of an interval shows too.
        foreach (var (x1, y1, x2, y2) in whiskers)
        {
            var whisker = plot.Add.Line(x1, y1, x2, y2);
            whisker.Color = Fraud;
            whisker.LineWidth = 1.5f;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. groups.Select((_, i) => (double)i)], [.. groups.Select(g => ShortName(g.Group, 16))]);
        plot.Axes.Left.Label.Text = FairnessMetric.Title(metric);
        plot.Axes.SetLimits(-0.6, groups.Count - 0.4, 0, Math.Max(0.05, top * 1.1));
        LegendAbove(plot);
        return (plot, hovers);
    }
}

public static partial class Charts
{
    /// <summary>
    /// The threshold what-if: one line per group of the rate <paramref name="metric"/> (selection rate, TPR or FPR) over
    /// thresholds, the version's threshold as a vertical line; groups too small to judge are dashed.
    /// </summary>
    public static string FairnessWhatIf(ThresholdCurves curves, string metric, double threshold, int width = 960, int height = 340)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var hovers = new List<Hover>();
        var xs = curves.Thresholds;
        for (var i = 0; i < curves.Groups.Count; i++)
        {
            var group = curves.Groups[i];
            double?[] values = metric switch
            {
                FairnessMetric.TruePositiveRate => group.TruePositiveRate,
                FairnessMetric.FalsePositiveRate => group.FalsePositiveRate,
                _ => [.. group.SelectionRate.Select(v => (double?)v)],
            };
            var points = Enumerable.Range(0, xs.Length).Where(k => values[k] is not null).ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(k => xs[k]).ToArray(), points.Select(k => values[k]!.Value).ToArray());
            line.Color = palette.GetColor(i);
            line.LineWidth = 2;
            line.MarkerSize = 0;
            if (group.TooSmall) line.LinePattern = LinePattern.Dashed;
            line.LegendText = group.TooSmall ? $"{ShortName(group.Group, 16)} (too small)" : ShortName(group.Group, 16);
            foreach (var k in points.Where(k => k % 5 == 0))
                hovers.Add(Hover.At(xs[k], values[k]!.Value, $"{group.Group}: at threshold {Value(xs[k])}, {FairnessMetric.Title(metric)} {Value(values[k]!.Value)}"));
        }

        var current = plot.Add.VerticalLine(threshold);
        current.Color = NoValue;
        current.LinePattern = LinePattern.Dashed;
        current.LineWidth = 1;
        current.LegendText = $"this version's threshold {Value(threshold)}";
        plot.Axes.Bottom.Label.Text = "threshold (flag when the score is at or above it)";
        plot.Axes.Left.Label.Text = FairnessMetric.Title(metric);
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        LegendAbove(plot);
        return Svg(plot, width, height, $"{curves.Grouping} {metric} by threshold", hovers);
    }
}

using FraudWorkbench.Core.Fairness;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>One day of a disparity series: the realized value with its bootstrap interval, and the estimate where it differs.</summary>
public sealed record DisparityPoint(string Label, double? Realized, double? Lower, double? Upper, double? Estimated, bool Mature, long Predictions);

public static partial class Charts
{
    /// <summary>
    /// A disparity per day: realized as a line with filled markers on mature days and hollow ones while provisional, its
    /// bootstrap interval as a band; the estimate (labels where in, probabilities where not) dashed; for a ratio the
    /// four-fifths line. Day labels are thinned so they never overlap.
    /// </summary>
    public static string FairnessDisparitySeries(string title, IReadOnlyList<DisparityPoint> points, bool ratio, int width = 960, int height = 300, string? name = null)
    {
        var plot = new Plot();
        var hovers = new List<Hover>();
        var colour = Bars;
        var estimateColour = ScottPlot.Color.FromHex(EstimateHex);

        var bandLegend = false;
        var run = new List<int>();
        void FlushBand()
        {
            if (run.Count == 0) return;
            double[] xs = run.Count == 1 ? [run[0] - 0.15, run[0] + 0.15] : [.. run.Select(i => (double)i)];
            var lows = xs.Select(x => points[(int)Math.Round(x)].Lower!.Value).ToArray();
            var highs = xs.Select(x => points[(int)Math.Round(x)].Upper!.Value).ToArray();
            var band = plot.Add.FillY(xs, lows, highs);
            band.FillColor = colour.WithAlpha(0.16);
            band.LineWidth = 0;
            if (!bandLegend) band.LegendText = "95 % bootstrap interval";
            bandLegend = true;
            run.Clear();
        }

        for (var i = 0; i < points.Count; i++)
        {
            if (points[i] is { Lower: not null, Upper: not null }) run.Add(i);
            else FlushBand();
        }

        FlushBand();

        for (var i = 0; i + 1 < points.Count; i++)
        {
            if (points[i].Realized is not { } a || points[i + 1].Realized is not { } b) continue;
            var segment = plot.Add.Line(i, a, i + 1, b);
            segment.Color = colour;
            segment.LineWidth = 2;
            if (!(points[i].Mature && points[i + 1].Mature)) segment.LinePattern = LinePattern.Dashed;
        }

        foreach (var mature in new[] { true, false })
        {
            var chosen = Enumerable.Range(0, points.Count).Where(i => points[i].Realized is not null && points[i].Mature == mature).ToList();
            if (chosen.Count == 0) continue;
            var markers = plot.Add.ScatterPoints(chosen.Select(i => (double)i).ToArray(), chosen.Select(i => points[i].Realized!.Value).ToArray());
            markers.Color = colour;
            markers.MarkerSize = 8;
            markers.MarkerShape = mature ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
            markers.LegendText = mature ? "realized, mature" : "realized, provisional";
        }

        var estimated = Enumerable.Range(0, points.Count).Where(i => points[i].Estimated is not null).ToList();
        if (estimated.Count > 0)
        {
            var line = plot.Add.Scatter(estimated.Select(i => (double)i).ToArray(), estimated.Select(i => points[i].Estimated!.Value).ToArray());
            line.Color = estimateColour;
            line.LineWidth = 2;
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 5;
            line.MarkerShape = MarkerShape.FilledDiamond;
            line.LegendText = "estimated (labels + probabilities)";
        }

        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var text = $"{p.Label}: {title} ";
            text += p.Realized is { } v ? $"realized {Value(v)}" + (p.Lower is { } lo && p.Upper is { } hi ? $" (interval {Value(lo)}–{Value(hi)})" : "") + (p.Mature ? "" : ", provisional") : "realized not defined";
            if (p.Estimated is { } e) text += $"; estimated {Value(e)}";
            hovers.Add(Hover.At(i, p.Realized ?? p.Estimated ?? 0, text + $"; {p.Predictions:N0} predictions"));
        }

        if (ratio)
        {
            var rule = plot.Add.HorizontalLine(FairnessSettings.FourFifthsRule);
            rule.Color = ScottPlot.Color.FromHex(DriftHex);
            rule.LinePattern = LinePattern.Dotted;
            rule.LineWidth = 1.5f;
            rule.LegendText = "0.8 (four-fifths rule of thumb)";
        }

        foreach (var (x, y) in new[] { (-0.5, 0.0), (points.Count - 0.5, ratio ? 1.0 : 0.0) })
        {
            var room = plot.Add.Marker(x, y);
            room.MarkerSize = 0;
        }

        // About one label per 80 px, so day labels never overlap whatever the range.
        var every = Math.Max(1, (int)Math.Ceiling(points.Count / Math.Max(2.0, width / 80.0)));
        var ticks = Enumerable.Range(0, points.Count).Where(i => i % every == 0).ToList();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(i => (double)i)], [.. ticks.Select(i => points[i].Label)]);
        plot.Axes.Bottom.Label.Text = "day (UTC)";
        plot.Axes.Left.Label.Text = title;
        plot.Axes.Right.MinimumSize = 40;
        LegendAbove(plot);
        return Svg(plot, width, height, name ?? title, hovers);
    }
}

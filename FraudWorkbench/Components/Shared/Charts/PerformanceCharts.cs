using System.Globalization;
using System.Text;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>One cohort on the performance chart: its realized value, its CBPE estimate with band, and how mature its labels are.</summary>
/// <param name="Label">The cohort's tick label (its first day, or its month).</param>
/// <param name="Maturity">Expected share of its eventual fraud labels already in, 0–1.</param>
public sealed record PerformancePoint(string Label, double? Realized, bool Mature, bool Open, double? Estimate, double? Lower, double? Upper, double Maturity);

/// <summary>Charts of a model's realized and estimated performance over cohorts, and of how its fraud labels arrive.</summary>
public static partial class Charts
{
    private const string EstimateHex = "#ef6c00";
    private const string MatureHex = "#2e7d32";
    private const string ProvisionalHex = "#f9a825";

    /// <summary>Height of the maturity strip drawn under the chart's x axis.</summary>
    private const int StripHeight = 34;

    /// <summary>
    /// A metric over cohorts: realized as a solid line with filled markers where the cohort is mature, dashed with hollow
    /// markers where it is provisional; the CBPE estimate dashed with its ± 3 SE band; the validation value and the
    /// reference's alert thresholds as horizontal lines; under the x axis a strip of bars giving each cohort's label
    /// maturity (0–100 %). Every point and bar has a hover title.
    /// </summary>
    public static string PerformanceSeries(string metric, IReadOnlyList<PerformancePoint> points, double? validation, double? lower, double? upper,
        int width = 960, int height = 330, string? name = null)
    {
        var plot = new Plot();
        var hovers = new List<Hover>();
        var realizedColour = ScottPlot.Color.FromHex(ReferenceHex);
        var estimateColour = ScottPlot.Color.FromHex(EstimateHex);

        // The band in contiguous runs: a cohort without an estimate (no traffic) breaks it rather than bridging the gap.
        var bandLegend = false;
        foreach (var run in Runs(points, p => p.Lower is not null && p.Upper is not null))
        {
            var xs = run.Select(i => (double)i).ToArray();
            if (xs.Length == 1) xs = [xs[0] - 0.15, xs[0] + 0.15];
            var lows = xs.Select(x => points[(int)Math.Round(x)].Lower!.Value).ToArray();
            var highs = xs.Select(x => points[(int)Math.Round(x)].Upper!.Value).ToArray();
            var band = plot.Add.FillY(xs, lows, highs);
            band.FillColor = estimateColour.WithAlpha(0.18);
            band.LineWidth = 0;
            if (!bandLegend) band.LegendText = "estimate band (± 3 SE)";
            bandLegend = true;
        }

        var estimated = points.Select((p, i) => (p, i)).Where(x => x.p.Estimate is not null).ToList();
        if (estimated.Count > 0)
        {
            var line = plot.Add.Scatter(estimated.Select(x => (double)x.i).ToArray(), estimated.Select(x => x.p.Estimate!.Value).ToArray());
            line.Color = estimateColour;
            line.LineWidth = 2;
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 5;
            line.MarkerShape = MarkerShape.FilledDiamond;
            line.LegendText = "estimated (CBPE)";
            foreach (var (p, i) in estimated)
            {
                var band = p.Lower is { } lo && p.Upper is { } hi ? $" (band {Value(lo)}–{Value(hi)})" : "";
                hovers.Add(Hover.At(i, p.Estimate!.Value, $"{p.Label}: estimated {metric} {Value(p.Estimate!.Value)}{band}"));
            }
        }

        // Realized: each segment solid between two mature cohorts, dashed once either end is provisional.
        for (var i = 0; i + 1 < points.Count; i++)
        {
            if (points[i].Realized is not { } a || points[i + 1].Realized is not { } b) continue;
            var segment = plot.Add.Line(i, a, i + 1, b);
            segment.Color = realizedColour;
            segment.LineWidth = 2;
            segment.MarkerSize = 0;
            if (!(points[i].Mature && points[i + 1].Mature)) segment.LinePattern = LinePattern.Dashed;
        }

        AddRealizedMarkers(plot, points, mature: true, realizedColour, "realized, mature");
        AddRealizedMarkers(plot, points, mature: false, realizedColour, "realized, provisional");
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Realized is not { } v) continue;
            var state = points[i].Mature ? "mature" : points[i].Open ? "open, provisional" : "provisional";
            hovers.Add(Hover.At(i, v, $"{points[i].Label}: realized {metric} {Value(v)} ({state}, {points[i].Maturity * 100:0} % of labels expected in)"));
        }

        if (validation is { } value) AddLevel(plot, value, ScottPlot.Colors.Gray, LinePattern.Dashed, $"validation {Value(value)}");
        if (lower is { } l) AddLevel(plot, l, ScottPlot.Color.FromHex(DriftHex), LinePattern.Dotted, $"alert below {Value(l)}");
        if (upper is { } u) AddLevel(plot, u, ScottPlot.Color.FromHex(DriftHex), LinePattern.Dotted, $"alert above {Value(u)}");

        // Invisible corners: half a cohort of room each side, and the y range covering the reference lines.
        var ys = new[] { validation, lower, upper }.Where(v => v is not null).Select(v => v!.Value).ToList();
        foreach (var (x, y) in new[] { (-0.5, ys.DefaultIfEmpty(0).Min()), (points.Count - 0.5, ys.DefaultIfEmpty(0).Max()) })
        {
            var room = plot.Add.Marker(x, y);
            room.MarkerSize = 0;
        }

        var every = Math.Max(1, (int)Math.Ceiling(points.Count / Math.Max(2.0, width / 95.0)));
        var ticks = Enumerable.Range(0, points.Count).Where(i => i % every == 0).ToList();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(i => (double)i)], [.. ticks.Select(i => points[i].Label)]);
        plot.Axes.Bottom.Label.Text = "cohort (predictions made in)";
        plot.Axes.Left.Label.Text = metric;
        plot.Axes.Right.MinimumSize = 40;
        LegendAbove(plot);

        var svg = DrawSvg(plot, width, height, hovers);
        var data = plot.RenderManager.LastRender.DataRect;
        var slot = points.Count == 0 ? 0 : Math.Abs(plot.GetPixel(new Coordinates(1, 0)).X - plot.GetPixel(new Coordinates(0, 0)).X);
        var strip = new StringBuilder("<g class=\"fw-maturity-strip\">");
        strip.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"{height}\" width=\"{width}\" height=\"{StripHeight}\" fill=\"#ffffff\" />");
        strip.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{N(Math.Max(2, data.Left - 62))}\" y=\"{height + 19}\" font-size=\"11\" font-family=\"{UiFonts}\" fill=\"#555\">labels in</text>");
        const double barHeight = 22;
        var top = height + 4;
        for (var i = 0; i < points.Count; i++)
        {
            var centre = plot.GetPixel(new Coordinates(i, 0)).X;
            var w = Math.Max(2, Math.Min(slot * 0.8, 60));
            var x = centre - w / 2;
            var filled = Math.Clamp(points[i].Maturity, 0, 1) * barHeight;
            var colour = points[i].Mature ? MatureHex : ProvisionalHex;
            var state = points[i].Mature ? "mature" : points[i].Open ? "open, provisional" : "provisional";
            strip.Append(CultureInfo.InvariantCulture, $"<g><title>{Escape(points[i].Label)}: {points[i].Maturity * 100:0} % of expected fraud labels in ({state})</title>");
            strip.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{top}\" width=\"{N(w)}\" height=\"{barHeight}\" fill=\"#eeeeee\" />");
            strip.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{N(top + barHeight - filled)}\" width=\"{N(w)}\" height=\"{N(filled)}\" fill=\"{colour}\" /></g>");
        }

        strip.Append("</g>");
        svg = WithExtraHeight(svg, width, height, StripHeight);
        svg = svg.Insert(svg.LastIndexOf("</svg>", StringComparison.Ordinal), strip.ToString());
        return Figure(svg, name ?? $"{metric} per cohort");
    }

    /// <summary>
    /// The share of a cohort's eventual fraud labels in after each day (the label-arrival curve, 0–100 %), with the day by
    /// which half are in marked.
    /// </summary>
    public static string LabelArrival(IReadOnlyList<double> share, int? medianDays, int width = 520, int height = 240)
    {
        var plot = new Plot();
        var xs = Enumerable.Range(0, share.Count).Select(d => (double)d).ToArray();
        var ys = share.Select(s => s * 100).ToArray();
        var line = plot.Add.Scatter(xs, ys);
        line.Color = Bars;
        line.LineWidth = 2;
        line.MarkerSize = 0;
        line.LegendText = "share of fraud labels in";
        var hovers = new List<Hover>();
        var step = Math.Max(1, share.Count / 60);
        for (var d = 0; d < share.Count; d += step) hovers.Add(Hover.At(d, ys[d], $"after {d} days: {ys[d]:0.#} % of fraud labels in"));
        if (medianDays is { } median)
        {
            var half = plot.Add.VerticalLine(median);
            half.Color = ScottPlot.Colors.Gray;
            half.LinePattern = LinePattern.Dashed;
            half.LineWidth = 1.5f;
            half.LegendText = $"half in by day {median}";
        }

        var top = plot.Add.Marker(0, 100); // keeps 100 % on the axis while few labels are in
        top.MarkerSize = 0;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Bottom.Label.Text = "days after the prediction";
        plot.Axes.Left.Label.Text = "% of fraud labels in";
        plot.Axes.Right.MinimumSize = 20;
        LegendAbove(plot);
        return Svg(plot, width, height, "label arrival curve", hovers);
    }

    private static void AddRealizedMarkers(Plot plot, IReadOnlyList<PerformancePoint> points, bool mature, ScottPlot.Color colour, string legend)
    {
        var chosen = points.Select((p, i) => (p, i)).Where(x => x.p.Realized is not null && x.p.Mature == mature).ToList();
        if (chosen.Count == 0) return;
        var markers = plot.Add.ScatterPoints(chosen.Select(x => (double)x.i).ToArray(), chosen.Select(x => x.p.Realized!.Value).ToArray());
        markers.Color = colour;
        markers.MarkerSize = 9;
        markers.MarkerShape = mature ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
        markers.LegendText = legend;
    }

    private static void AddLevel(Plot plot, double y, ScottPlot.Color colour, LinePattern pattern, string legend)
    {
        var line = plot.Add.HorizontalLine(y);
        line.Color = colour;
        line.LinePattern = pattern;
        line.LineWidth = 1.5f;
        line.LegendText = legend;
    }

    /// <summary>Indexes of <paramref name="points"/> where <paramref name="include"/> holds, in runs of consecutive ones: a gap breaks a line instead of bridging it.</summary>
    private static IEnumerable<List<int>> Runs<T>(IReadOnlyList<T> points, Func<T, bool> include)
    {
        var run = new List<int>();
        for (var i = 0; i < points.Count; i++)
        {
            if (include(points[i]))
            {
                run.Add(i);
                continue;
            }

            if (run.Count > 0) yield return run;
            run = [];
        }

        if (run.Count > 0) yield return run;
    }

    /// <summary>The SVG root made <paramref name="extra"/> px taller (its viewBox too), for a drawing added under the plot.</summary>
    private static string WithExtraHeight(string svg, int width, int height, int extra)
    {
        var root = SvgRoot().Match(svg);
        var tag = root.Value
            .Replace($"height=\"{height}\"", $"height=\"{height + extra}\"", StringComparison.Ordinal)
            .Replace($"viewBox=\"0 0 {width} {height}\"", $"viewBox=\"0 0 {width} {height + extra}\"", StringComparison.Ordinal);
        return string.Concat(svg.AsSpan(0, root.Index), tag, svg.AsSpan(root.Index + root.Length));
    }
}

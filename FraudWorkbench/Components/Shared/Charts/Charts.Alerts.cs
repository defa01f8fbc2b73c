using FraudWorkbench.Core.Alerts;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>The alert rule editor's "would it have fired?" chart.</summary>
public static partial class Charts
{
    private const string FiringHex = "#b23a48";

    /// <summary>
    /// A backtest: the metric over the range, the thresholds each evaluation was judged against (a dashed line where it
    /// is one value throughout, a band or lines where it moves), and the periods the rule would have been firing shaded
    /// red. Every reading and every firing period has a hover title; the firing periods' hover boxes carry the class
    /// <c>fw-firing</c> with their start and end, so the page and its tests can find them.
    /// </summary>
    public static string AlertBacktest(AlertBacktestResult result, int width = 960, int height = 320)
    {
        var plot = new Plot();
        var hovers = new List<Hover>();
        var info = AlertMetricKind.Find(result.Rule.Metric.Kind);
        var valued = result.Points.Where(p => p.Value is { } v && double.IsFinite(v)).ToList();

        double? Constant(Func<BacktestPoint, double?> pick)
        {
            var values = result.Points.Select(pick).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).Distinct().ToList();
            return values.Count == 1 ? values[0] : null;
        }

        var lowerConstant = Constant(p => p.Lower);
        var upperConstant = Constant(p => p.Upper);
        var hasLower = result.Points.Any(p => p.Lower is { } l && double.IsFinite(l));
        var hasUpper = result.Points.Any(p => p.Upper is { } u && double.IsFinite(u));

        // The y range the shading spans: every value and threshold, so a firing period covers the whole data area.
        var ys = valued.Select(p => p.Value!.Value)
            .Concat(result.Points.Select(p => p.Lower).Concat(result.Points.Select(p => p.Upper)).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value))
            .DefaultIfEmpty(0).ToList();
        double yMin = ys.Min(), yMax = ys.Max();
        var pad = Math.Max((yMax - yMin) * 0.08, Math.Max(Math.Abs(yMax), 1) * 0.05);
        // Counts, shares and latencies never go below zero: no negative axis under them.
        (yMin, yMax) = (yMin >= 0 && yMin - pad < 0 ? 0 : yMin - pad, yMax + pad);

        var firingLegend = false;
        foreach (var period in result.Firing)
        {
            var to = period.To ?? result.To;
            var span = plot.Add.HorizontalSpan(period.From.ToOADate(), to.ToOADate());
            span.FillColor = ScottPlot.Color.FromHex(FiringHex).WithAlpha(0.18);
            span.LineWidth = 0;
            if (!firingLegend) span.LegendText = "would have fired";
            firingLegend = true;
            var hours = (to - period.From).TotalHours;
            hovers.Add(new Hover(
                $"would have fired {period.From:yyyy-MM-dd HH:mm} – {(period.To is null ? "still firing" : $"{to:yyyy-MM-dd HH:mm}")} UTC ({hours:0.#} h)",
                Rect: new CoordinateRect(period.From.ToOADate(), to.ToOADate(), yMin, yMax)));
        }

        if (hasLower && hasUpper && (lowerConstant is null || upperConstant is null))
        {
            foreach (var run in Runs(result.Points, p => p.Lower is { } l && p.Upper is { } u && double.IsFinite(l) && double.IsFinite(u)))
            {
                var xs = run.Select(i => result.Points[i].At.ToOADate()).ToArray();
                if (xs.Length < 2) continue;
                var band = plot.Add.FillY(xs, run.Select(i => result.Points[i].Lower!.Value).ToArray(), run.Select(i => result.Points[i].Upper!.Value).ToArray());
                band.FillColor = ScottPlot.Colors.Gray.WithAlpha(0.2);
                band.LineWidth = 0;
                band.LegendText = "";
            }
        }

        AddThreshold(plot, result.Points, p => p.Lower, lowerConstant, hasLower && hasUpper ? "lower bound" : "threshold");
        AddThreshold(plot, result.Points, p => p.Upper, upperConstant, hasLower && hasUpper ? "upper bound" : "threshold");

        if (valued.Count > 0)
        {
            var line = plot.Add.Scatter(valued.Select(p => p.At.ToOADate()).ToArray(), valued.Select(p => p.Value!.Value).ToArray());
            line.Color = ScottPlot.Color.FromHex(ReferenceHex);
            line.LineWidth = 2;
            line.MarkerSize = valued.Count > 80 ? 0 : 4;
            line.LegendText = info?.Title ?? result.Rule.Metric.Kind;
            foreach (var p in valued)
            {
                var state = p.State is AlertState.Firing or AlertState.Pending ? $", {p.State}" : "";
                var sample = p.Sample > 0 ? $" (n = {p.Sample:#,0})" : "";
                hovers.Add(Hover.At(p.At.ToOADate(), p.Value!.Value, $"{p.At:yyyy-MM-dd HH:mm} UTC: {Value(p.Value!.Value)}{sample}{state}"));
            }
        }

        plot.Axes.DateTimeTicksBottom();
        plot.Axes.SetLimitsX(result.From.ToOADate(), result.To.ToOADate());
        plot.Axes.SetLimitsY(yMin, yMax);
        plot.Axes.Right.MinimumSize = 40;
        plot.Axes.Bottom.Label.Text = "time (UTC)";
        plot.Axes.Left.Label.Text = info?.Unit ?? result.Rule.Metric.Kind;
        LegendAbove(plot);
        var svg = DrawSvg(plot, width, height, hovers);
        // Marks the firing periods' hover boxes (the first hovers drawn) for the page and its tests.
        svg = System.Text.RegularExpressions.Regex.Replace(svg, "<rect ([^>]*)><title>would have fired", m => $"<rect class=\"fw-firing\" {m.Groups[1].Value}><title>would have fired");
        return Figure(svg, $"{result.Rule.Name} backtest {result.Model}");
    }

    private static void AddThreshold(Plot plot, IReadOnlyList<BacktestPoint> points, Func<BacktestPoint, double?> pick, double? constant, string name)
    {
        var colour = ScottPlot.Color.FromHex(FiringHex);
        if (constant is { } y)
        {
            var h = plot.Add.HorizontalLine(y);
            h.Color = colour;
            h.LinePattern = LinePattern.Dashed;
            h.LineWidth = 1.5f;
            h.LegendText = $"{name} {Value(y)}";
            return;
        }

        var legend = true;
        foreach (var run in Runs(points, p => pick(p) is { } v && double.IsFinite(v)))
        {
            var line = plot.Add.Scatter(run.Select(i => points[i].At.ToOADate()).ToArray(), run.Select(i => pick(points[i])!.Value).ToArray());
            line.Color = colour;
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1.5f;
            line.MarkerSize = 0;
            if (legend) line.LegendText = name;
            legend = false;
        }
    }
}

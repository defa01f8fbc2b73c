using FraudWorkbench.Core.Explain;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>Charts of a training run or a model version: ROC / precision-recall / calibration curves, score distribution, importance.</summary>
public static partial class Charts
{
    /// <summary>
    /// One or more curves (ROC, precision-recall, calibration) on shared axes, one colour each, with a legend when there is
    /// more than one series (the diagonal counts). Hovering a point shows its values.
    /// </summary>
    /// <param name="diagonalName">The legend's name for the dashed diagonal.</param>
    /// <param name="name">The download's file name; defaults to the axis labels.</param>
    public static string Curves(string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> curves, bool diagonal = false, int width = 520, int height = 320,
        string? diagonalName = null, string? name = null)
    {
        var plot = new Plot();
        var hovers = new List<Hover>();
        var legend = curves.Count + (diagonal ? 1 : 0) > 1;
        for (var i = 0; i < curves.Count; i++)
        {
            var (curveName, xs, ys) = curves[i];
            var line = plot.Add.Scatter(xs, ys);
            line.Color = Series[i % Series.Length];
            line.LineWidth = 2;
            line.MarkerSize = 0;
            if (legend) line.LegendText = curveName;
            var prefix = curves.Count > 1 ? $"{curveName}: " : "";
            foreach (var k in ExplanationPlots.EvenSample(Math.Min(xs.Length, ys.Length), 150))
                hovers.Add(Hover.At(xs[k], ys[k], $"{prefix}{xLabel} {Value(xs[k])} · {yLabel} {Value(ys[k])}"));
        }

        if (diagonal)
        {
            var reference = plot.Add.Line(0, 0, 1, 1);
            reference.Color = ScottPlot.Colors.Gray;
            reference.LinePattern = LinePattern.Dashed;
            reference.LegendText = diagonalName ?? (xLabel.Contains("predicted", StringComparison.Ordinal) ? "perfectly calibrated" : "chance");
        }

        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        if (legend) LegendAbove(plot);
        return Svg(plot, width, height, name ?? $"{yLabel} vs {xLabel}", hovers);
    }

    /// <summary>Named values as horizontal bars, largest on top (feature importance); hovering a bar shows its value.</summary>
    public static string HorizontalBars(IReadOnlyList<(string Name, double Value)> items, string label, int width = 520, string? name = null)
    {
        var top = items.OrderByDescending(i => i.Value).Take(15).Reverse().ToList();
        var plot = new Plot();
        plot.Add.Bars(top.Select((item, i) => new Bar { Position = i, Value = item.Value, FillColor = Bars, LineWidth = 0, Orientation = Orientation.Horizontal }).ToList());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. top.Select((_, i) => (double)i)], [.. top.Select(i => ShortName(i.Name))]);
        plot.Axes.Bottom.Label.Text = label;
        plot.Axes.Margins(left: 0);
        var hovers = top.Select((item, i) => Hover.Box(Math.Min(0, item.Value), Math.Max(0, item.Value), i - 0.4, i + 0.4, $"{item.Name}: {label} {Value(item.Value)}")).ToList();
        return Svg(plot, width, Math.Max(240, 24 * top.Count + 60), name ?? label, hovers);
    }

    /// <summary>Validation rows per probability bin, legitimate and fraud side by side, each as a share of its class.</summary>
    public static string ScoreDistribution(IReadOnlyList<FraudWorkbench.Core.Training.ScoreBin> bins, int width = 520, int height = 300)
    {
        double legit = bins.Sum(b => b.Legitimate), fraud = bins.Sum(b => b.Fraud);
        var plot = new Plot();
        List<Bar> legitBars = [], fraudBars = [];
        var hovers = new List<Hover>();
        foreach (var bin in bins)
        {
            var centre = (bin.From + bin.To) / 2;
            var w = (bin.To - bin.From) * 0.45;
            double l = legit == 0 ? 0 : 100 * bin.Legitimate / legit, f = fraud == 0 ? 0 : 100 * bin.Fraud / fraud;
            legitBars.Add(new Bar { Position = centre - w / 2, Value = l, Size = w, FillColor = Bars, LineWidth = 0 });
            fraudBars.Add(new Bar { Position = centre + w / 2, Value = f, Size = w, FillColor = Fraud, LineWidth = 0 });
            var range = $"probability {Value(bin.From)}–{Value(bin.To)}";
            hovers.Add(Hover.Box(centre - w, centre, 0, l, FormattableString.Invariant($"{range}: legitimate {bin.Legitimate:#,0} rows ({l:0.#} % of class)")));
            hovers.Add(Hover.Box(centre, centre + w, 0, f, FormattableString.Invariant($"{range}: fraud {bin.Fraud:#,0} rows ({f:0.#} % of class)")));
        }

        plot.Add.Bars(legitBars).LegendText = "legitimate";
        plot.Add.Bars(fraudBars).LegendText = "fraud";
        LegendAbove(plot);
        plot.Axes.Bottom.Label.Text = "predicted probability of fraud";
        plot.Axes.Left.Label.Text = "% of class";
        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height, "score distribution", hovers);
    }
}

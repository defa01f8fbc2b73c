using System.Globalization;
using System.Text;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>Charts of a model's monitoring: inline sparklines and mini histograms for the drift table, overlaid histograms and time series with a threshold.</summary>
public static partial class Charts
{
    private const string ReferenceHex = "#1f4e79";
    private const string CurrentHex = "#ef6c00";
    private const string DriftHex = "#b23a48";

    /// <summary>
    /// A drift score over the windows as a tiny inline SVG (hand-drawn: ScottPlot's axes and padding do not shrink to a
    /// table cell), the threshold as a dashed line, drifted points red. Windows without a score leave a gap.
    /// </summary>
    public static string Sparkline(IReadOnlyList<(DateTime Start, double? Value, bool Drifted)> points, double threshold, bool pValue, int width = 140, int height = 36)
    {
        // P-values drift downwards and span decades, so they are drawn on −log10 like the severity they are sorted by.
        double Y(double v) => pValue ? -Math.Log10(Math.Max(v, 1e-12)) : v;
        var ys = points.Where(p => p.Value is not null).Select(p => Y(p.Value!.Value)).Append(Y(threshold)).ToList();
        double min = pValue ? 0 : Math.Min(0, ys.Min()), max = Math.Max(ys.Max(), min + 1e-9) * 1.1;
        const double pad = 3;
        double Px(int i) => points.Count <= 1 ? width / 2.0 : pad + i * (width - 2 * pad) / (points.Count - 1);
        double Py(double y) => height - pad - (y - min) / (max - min) * (height - 2 * pad);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"fw-spark\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">");
        var t = Py(Y(threshold));
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" x2=\"{width}\" y1=\"{N(t)}\" y2=\"{N(t)}\" stroke=\"#888\" stroke-dasharray=\"3 2\" stroke-width=\"1\"><title>threshold {Value(threshold)}</title></line>");
        var path = new StringBuilder();
        var pen = false;
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Value is not { } v)
            {
                pen = false;
                continue;
            }

            path.Append(CultureInfo.InvariantCulture, $"{(pen ? "L" : "M")}{N(Px(i))} {N(Py(Y(v)))} ");
            pen = true;
        }

        if (path.Length > 0) svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{path.ToString().Trim()}\" fill=\"none\" stroke=\"{ReferenceHex}\" stroke-width=\"1.5\" />");
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Value is not { } v) continue;
            var colour = points[i].Drifted ? DriftHex : ReferenceHex;
            svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{N(Px(i))}\" cy=\"{N(Py(Y(v)))}\" r=\"{(points[i].Drifted ? 2.5 : 1.5)}\" fill=\"{colour}\">");
            svg.Append(CultureInfo.InvariantCulture, $"<title>{points[i].Start:yyyy-MM-dd HH:mm} UTC: {Value(v)}{(points[i].Drifted ? " (drifted)" : "")}</title></circle>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>
    /// A small inline histogram of shares per bin (reference or current), for the drift table. Unseen bins are drawn red;
    /// each bar's title gives its label and share.
    /// </summary>
    public static string MiniHistogram(IReadOnlyList<string> labels, IReadOnlyList<long> counts, IReadOnlyList<bool> unseen, bool current, int width = 110, int height = 32)
    {
        var total = Math.Max(1, counts.Sum());
        var shares = counts.Select(c => (double)c / total).ToList();
        var max = Math.Max(shares.DefaultIfEmpty(0).Max(), 1e-9);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"fw-spark\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" x2=\"{width}\" y1=\"{height - 0.5}\" y2=\"{height - 0.5}\" stroke=\"#bbb\" stroke-width=\"1\" />");
        var slot = (double)width / Math.Max(1, counts.Count);
        for (var i = 0; i < counts.Count; i++)
        {
            var h = shares[i] / max * (height - 2);
            var colour = unseen[i] ? DriftHex : current ? CurrentHex : ReferenceHex;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(i * slot + slot * 0.08)}\" y=\"{N(height - 1 - h)}\" width=\"{N(Math.Max(slot * 0.84, 0.5))}\" height=\"{N(Math.Max(h, 0))}\" fill=\"{colour}\">");
            svg.Append(CultureInfo.InvariantCulture, $"<title>{Escape(labels[i])}{(unseen[i] ? " (unseen)" : "")}: {shares[i] * 100:0.#} % ({counts[i]:#,0})</title></rect>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>
    /// Reference and current distributions of a column overlaid per bin (counts or shares), side by side in each slot;
    /// unseen categories are labelled as such and have no reference bar.
    /// </summary>
    public static string OverlaidHistogram(string column, IReadOnlyList<string> labels, IReadOnlyList<long> reference, IReadOnlyList<long> current,
        IReadOnlyList<bool> unseen, bool shares, int width = 720, int height = 320)
    {
        double refTotal = Math.Max(1, reference.Sum()), curTotal = Math.Max(1, current.Sum());
        double R(int i) => shares ? 100 * reference[i] / refTotal : reference[i];
        double C(int i) => shares ? 100 * current[i] / curTotal : current[i];
        var plot = new Plot();
        List<Bar> refBars = [], curBars = [];
        var hovers = new List<Hover>();
        var unit = shares ? "%" : "rows";
        for (var i = 0; i < labels.Count; i++)
        {
            refBars.Add(new Bar { Position = i - 0.2, Value = R(i), Size = 0.4, FillColor = ScottPlot.Color.FromHex(ReferenceHex), LineWidth = 0 });
            curBars.Add(new Bar { Position = i + 0.2, Value = C(i), Size = 0.4, FillColor = ScottPlot.Color.FromHex(unseen[i] ? DriftHex : CurrentHex), LineWidth = 0 });
            var label = labels[i] + (unseen[i] ? " (unseen)" : "");
            hovers.Add(Hover.Box(i - 0.4, i, 0, Math.Max(R(i), 0), FormattableString.Invariant($"{label}: reference {reference[i]:#,0} ({100 * reference[i] / refTotal:0.##} %)")));
            hovers.Add(Hover.Box(i, i + 0.4, 0, Math.Max(C(i), 0), FormattableString.Invariant($"{label}: current {current[i]:#,0} ({100 * current[i] / curTotal:0.##} %)")));
        }

        plot.Add.Bars(refBars).LegendText = "reference";
        plot.Add.Bars(curBars).LegendText = "current";
        LegendAbove(plot);
        // Upright labels, as many as fit (about 110 px each), and a slot of room at each end: a centred label on the last
        // bar would otherwise run past the drawing's right edge.
        var every = Math.Max(1, (int)Math.Ceiling(labels.Count / Math.Max(2.0, width / 110.0)));
        var ticks = Enumerable.Range(0, labels.Count).Where(i => i % every == 0).ToList();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(i => (double)i)],
            [.. ticks.Select(i => ShortName(labels[i], 11) + (unseen[i] ? " *" : ""))]);
        foreach (var x in new[] { -1.0, labels.Count })
        {
            var room = plot.Add.Marker(x, 0); // invisible: widens the automatic x limits by a slot each side
            room.MarkerSize = 0;
        }
        plot.Axes.Bottom.Label.Text = unseen.Any(u => u) ? $"{column} (* unseen in the reference)" : column;
        plot.Axes.Left.Label.Text = shares ? "% of rows" : "rows";
        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height, $"{column} distribution {unit}", hovers);
    }

    /// <summary>
    /// One or more series over the windows (dates on the x axis), an optional dashed threshold or reference line, and
    /// points marked red where <c>Marked</c> says so (drifted windows).
    /// </summary>
    public static string WindowSeries(string yLabel, IReadOnlyList<(string Name, IReadOnlyList<(DateTime At, double? Value, bool Marked)> Points)> series,
        double? line = null, string lineName = "threshold", int width = 720, int height = 280, string? name = null)
    {
        var plot = new Plot();
        var hovers = new List<Hover>();
        var legend = series.Count > 1 || line is not null;
        for (var s = 0; s < series.Count; s++)
        {
            var points = series[s].Points.Where(p => p.Value is { } v && !double.IsNaN(v)).ToList();
            if (points.Count == 0) continue;
            var xs = points.Select(p => p.At.ToOADate()).ToArray();
            var ys = points.Select(p => p.Value!.Value).ToArray();
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = Series[(s == 0 ? 0 : s + 2) % Series.Length];
            scatter.LineWidth = 2;
            scatter.MarkerSize = points.Count > 60 ? 0 : 4;
            if (legend) scatter.LegendText = series[s].Name;
            var marked = points.Where(p => p.Marked).ToList();
            if (marked.Count > 0)
            {
                var red = plot.Add.ScatterPoints(marked.Select(p => p.At.ToOADate()).ToArray(), marked.Select(p => p.Value!.Value).ToArray());
                red.Color = Fraud;
                red.MarkerSize = 8;
                if (legend && s == 0) red.LegendText = "drifted";
            }

            foreach (var p in points)
                hovers.Add(Hover.At(p.At.ToOADate(), p.Value!.Value, $"{series[s].Name} {p.At:yyyy-MM-dd HH:mm} UTC: {Value(p.Value!.Value)}{(p.Marked ? " (drifted)" : "")}"));
        }

        if (line is { } y)
        {
            var h = plot.Add.HorizontalLine(y);
            h.Color = ScottPlot.Colors.Gray;
            h.LinePattern = LinePattern.Dashed;
            h.LineWidth = 1.5f;
            h.LegendText = $"{lineName} {Value(y)}";
        }

        plot.Axes.DateTimeTicksBottom();
        // A date tick can fall on the plot's right edge; its label (a date over a time) needs half its width beyond it.
        plot.Axes.Right.MinimumSize = 40;
        plot.Axes.Left.Label.Text = yLabel;
        if (legend) LegendAbove(plot);
        return Svg(plot, width, height, name ?? yLabel, hovers);
    }
}

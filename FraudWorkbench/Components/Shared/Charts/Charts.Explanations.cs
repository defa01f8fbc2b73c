using System.Globalization;
using FraudWorkbench.Core.Explain;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>Explanation charts: waterfalls of one row, and global summaries (mean |contribution|, beeswarm, dependence, permutation).</summary>
public static partial class Charts
{
    private static readonly ScottPlot.Color Lowers = ScottPlot.Color.FromHex("#1e88e5");
    private static readonly ScottPlot.Color Ends = ScottPlot.Color.FromHex("#9e9e9e");

    /// <summary>One step of a waterfall: a contribution running from <see cref="Start"/> to <see cref="End"/> on the log-odds axis.</summary>
    /// <param name="Count">How many contributions the bar stands for (more than one for the "other" bar).</param>
    public sealed record WaterfallBar(string Name, double Value, double Start, int Count = 1)
    {
        public double End => Start + Value;
    }

    /// <summary>
    /// The bars of a waterfall from <paramref name="baseValue"/>: the <paramref name="top"/> contributions with the largest
    /// |value| first (ties by name), then the rest summed into one "other N <paramref name="noun"/>" bar, each starting where
    /// the previous ended, so the last bar ends at the base value plus every contribution.
    /// </summary>
    public static IReadOnlyList<WaterfallBar> WaterfallBars(double baseValue, IReadOnlyList<(string Name, double Value)> contributions, int top = 10, string noun = "inputs")
    {
        var ordered = contributions.OrderByDescending(c => Math.Abs(c.Value)).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var bars = new List<WaterfallBar>();
        var at = baseValue;
        foreach (var (name, value) in ordered.Take(top))
        {
            bars.Add(new WaterfallBar(name, value, at));
            at += value;
        }

        var rest = ordered.Skip(top).ToList();
        if (rest.Count > 0)
        {
            var sum = rest.Sum(c => c.Value);
            bars.Add(new WaterfallBar($"other {rest.Count} {(rest.Count == 1 ? noun.TrimEnd('s') : noun)}", sum, at, rest.Count));
        }

        return bars;
    }

    /// <summary>
    /// A horizontal waterfall of a raw score (log-odds): the base value on top, then one bar per contribution from
    /// <see cref="WaterfallBars"/> (red raises the fraud score, blue lowers it), ending in the raw score at the bottom.
    /// </summary>
    /// <param name="title">Defaults to the probability; rows without one (holdout samples) name themselves instead.</param>
    public static string Waterfall(double baseValue, IReadOnlyList<WaterfallBar> bars, double rawScore, double probability, int width = 720, string? title = null)
    {
        var rows = bars.Count + 2;
        var plot = new Plot();
        var drawn = new List<Bar>();
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            drawn.Add(new Bar
            {
                Position = rows - 2 - i,
                ValueBase = bar.Start,
                Value = bar.End,
                FillColor = bar.Value >= 0 ? Fraud : Lowers,
                LineWidth = 0,
                Orientation = Orientation.Horizontal,
                Size = 0.7,
            });
        }

        plot.Add.Bars(drawn);

        // The base value and the raw score are points on the log-odds axis, not lengths from zero: a marker on their
        // own row and a dashed line through the bars.
        foreach (var (value, row) in new[] { (baseValue, rows - 1), (rawScore, 0) })
        {
            var line = plot.Add.VerticalLine(value);
            line.Color = Ends;
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = 1;
            var marker = plot.Add.Marker(value, row);
            marker.Color = ScottPlot.Color.FromHex("#424242");
            marker.Size = 11;
            marker.Shape = MarkerShape.FilledDiamond;
        }

        // Bars are laid out from their base, which autoscaling does not see: the limits cover every start and end.
        var ends = bars.SelectMany(b => new[] { b.Start, b.End }).Append(baseValue).Append(rawScore).ToList();
        var (low, high) = (ends.Min(), ends.Max());
        var pad = Math.Max((high - low) * 0.06, 0.05);
        plot.Axes.SetLimitsX(low - pad, high + pad);
        plot.Axes.SetLimitsY(-0.7, rows - 0.3);

        string Short(string name) => name.Length > 30 ? name[..30] + "…" : name;
        var labels = new List<string> { $"base value {baseValue.ToString("0.000", CultureInfo.InvariantCulture)}" };
        labels.AddRange(bars.Select(b => $"{Short(b.Name)} {b.Value.ToString("+0.000;−0.000;0.000", CultureInfo.InvariantCulture)}"));
        labels.Add($"raw score {rawScore.ToString("0.000", CultureInfo.InvariantCulture)}");
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, rows).Select(i => (double)(rows - 1 - i))], [.. labels]);
        plot.Axes.Bottom.Label.Text = "log-odds";
        plot.Title(title ?? $"fraud probability {probability.ToString("0.0000", CultureInfo.InvariantCulture)}", 13);
        var hovers = bars.Select((b, i) => Hover.Box(Math.Min(b.Start, b.End), Math.Max(b.Start, b.End), rows - 2 - i - 0.35, rows - 2 - i + 0.35,
            $"{b.Name}: {b.Value.ToString("+0.000;−0.000;0.000", CultureInfo.InvariantCulture)} log-odds ({b.Start.ToString("0.000", CultureInfo.InvariantCulture)} → {b.End.ToString("0.000", CultureInfo.InvariantCulture)})")).ToList();
        return Svg(plot, width, Math.Max(240, 26 * rows + 80), "waterfall", hovers);
    }

    // ----- Global explanations: pure computations first (unit-tested), then the charts that draw them. -----

    /// <summary>The low and high ends of the beeswarm's value colour scale, and the colour of a value with no rank.</summary>
    public static readonly ScottPlot.Color LowValue = ScottPlot.Color.FromHex("#1e88e5");
    public static readonly ScottPlot.Color HighValue = ScottPlot.Color.FromHex("#d81b60");
    public static readonly ScottPlot.Color NoValue = ScottPlot.Color.FromHex("#9e9e9e");

    /// <summary>A rank from <see cref="ValueRanks"/> as a colour: blue (low) through to red (high); grey when there is no rank.</summary>
    public static ScottPlot.Color RankColour(double? rank)
    {
        if (rank is not double r) return NoValue;
        r = Math.Clamp(r, 0, 1);
        byte Mix(byte low, byte high) => (byte)Math.Round(low + (high - low) * r);
        return new ScottPlot.Color(Mix(LowValue.R, HighValue.R), Mix(LowValue.G, HighValue.G), Mix(LowValue.B, HighValue.B));
    }

    // The numbers behind these charts live in Core (ExplanationPlots, unit-tested there); these names stay for callers.

    /// <inheritdoc cref="ExplanationPlots.IsNumeric"/>
    public static bool IsNumeric(IReadOnlyList<string?> values) => ExplanationPlots.IsNumeric(values);

    /// <inheritdoc cref="ExplanationPlots.ValueRanks"/>
    public static double?[] ValueRanks(IReadOnlyList<string?> values) => ExplanationPlots.ValueRanks(values);

    /// <inheritdoc cref="ExplanationPlots.CategoryIndex"/>
    public static (double[] X, IReadOnlyList<string> Categories) CategoryIndex(IReadOnlyList<string?> values) => ExplanationPlots.CategoryIndex(values);

    /// <inheritdoc cref="ExplanationPlots.MeanAbsoluteBars"/>
    public static IReadOnlyList<(string Name, double Value)> MeanAbsoluteBars(IReadOnlyList<ColumnSummary> columns, int top = 15) => ExplanationPlots.MeanAbsoluteBars(columns, top);

    /// <inheritdoc cref="ExplanationPlots.PermutationBars"/>
    public static IReadOnlyList<PermutationImportance> PermutationBars(IReadOnlyList<PermutationImportance> items, int top = 15) => ExplanationPlots.PermutationBars(items, top);

    /// <inheritdoc cref="ExplanationPlots.EvenSample"/>
    public static int[] EvenSample(int count, int max) => ExplanationPlots.EvenSample(count, max);

    /// <inheritdoc cref="ExplanationPlots.SwarmOffsets"/>
    public static double[] SwarmOffsets(IReadOnlyList<double> xs, double spread = 0.38, int seed = 7) => ExplanationPlots.SwarmOffsets(xs, spread, seed);

    /// <inheritdoc cref="ExplanationPlots.DependencePoints"/>
    public static (double[] X, double[] Y, IReadOnlyList<string>? Categories, int Missing) DependencePoints(ColumnSummary column) => ExplanationPlots.DependencePoints(column);

    /// <summary>Mean |contribution| per input column as horizontal bars, the largest on top (<see cref="MeanAbsoluteBars"/>).</summary>
    public static string MeanContributions(IReadOnlyList<ColumnSummary> columns, string label, int top = 15, int width = 560)
    {
        var bars = MeanAbsoluteBars(columns, top).Reverse().ToList();
        var plot = new Plot();
        plot.Add.Bars(bars.Select((b, i) => new Bar { Position = i, Value = b.Value, FillColor = Bars, LineWidth = 0, Orientation = Orientation.Horizontal }).ToList());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. bars.Select((_, i) => (double)i)], [.. bars.Select(b => ShortName(b.Name))]);
        plot.Axes.Bottom.Label.Text = label;
        plot.Axes.Margins(left: 0);
        var hovers = bars.Select((b, i) => Hover.Box(0, b.Value, i - 0.4, i + 0.4, $"{b.Name}: {label} {Value(b.Value)}")).ToList();
        return Svg(plot, width, Math.Max(240, 24 * bars.Count + 60), "mean contributions", hovers);
    }

    /// <summary>
    /// A beeswarm summary: one row per column (the <paramref name="top"/> by mean |contribution|, largest on top), a point per
    /// explained row at x = its contribution, spread vertically by <see cref="SwarmOffsets"/> and coloured by the row's value
    /// (<see cref="ValueRanks"/>, <see cref="RankColour"/>). At most <paramref name="maxPoints"/> rows are drawn (the same rows
    /// in every column, <see cref="EvenSample"/>); ranks are taken over all of a column's rows.
    /// </summary>
    public static string Beeswarm(IReadOnlyList<ColumnSummary> columns, int top = 10, int maxPoints = 400, int width = 720)
    {
        const int Shades = 10;
        var shown = columns.OrderByDescending(c => c.MeanAbsolute).ThenBy(c => c.Column, StringComparer.Ordinal).Take(top).ToList();
        var plot = new Plot();
        var zero = plot.Add.VerticalLine(0);
        zero.Color = NoValue;
        zero.LineWidth = 1;
        for (var row = 0; row < shown.Count; row++)
        {
            var column = shown[row];
            var y = shown.Count - 1 - row;
            var ranks = ValueRanks([.. column.Points.Select(p => p.Value)]);
            var picked = EvenSample(column.Points.Count, maxPoints);
            var xs = picked.Select(k => column.Points[k].Contribution).ToArray();
            var offsets = SwarmOffsets(xs);
            // One marker group per shade (ranks rounded to tenths) keeps the SVG to a handful of plottables.
            foreach (var group in picked.Select((k, i) => (X: xs[i], Y: y + offsets[i], Shade: ranks[k] is double r ? (int)Math.Round(r * Shades) : -1)).GroupBy(p => p.Shade))
            {
                var colour = RankColour(group.Key < 0 ? null : group.Key / (double)Shades);
                plot.Add.Markers(group.Select(p => p.X).ToArray(), group.Select(p => p.Y).ToArray(), MarkerShape.FilledCircle, 4, colour.WithAlpha(0.8));
            }
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. shown.Select((_, i) => (double)(shown.Count - 1 - i))], [.. shown.Select(c => ShortName(c.Column))]);
        plot.Axes.SetLimitsY(-0.6, shown.Count - 0.4);
        plot.Axes.Bottom.Label.Text = "contribution to the raw score (log-odds)";
        return Svg(plot, width, Math.Max(260, 34 * shown.Count + 70), "beeswarm");
    }

    /// <summary>
    /// A dependence plot: the column's value on x (categories by index, named on the axis) against its contribution on y.
    /// At most <paramref name="maxPoints"/> rows are drawn (<see cref="EvenSample"/>).
    /// </summary>
    public static string Dependence(ColumnSummary column, int maxPoints = 1000, int width = 560, int height = 320)
    {
        var (x, y, categories, _) = DependencePoints(column);
        var picked = EvenSample(x.Length, maxPoints);
        var plot = new Plot();
        var zero = plot.Add.HorizontalLine(0);
        zero.Color = NoValue;
        zero.LineWidth = 1;
        zero.LinePattern = LinePattern.Dashed;
        double[] px = [.. picked.Select(i => x[i])], py = [.. picked.Select(i => y[i])];
        if (categories is not null) px = [.. px.Zip(SwarmOffsets(px, 0.25, 11), (a, b) => a + b)]; // spread each category's column of points
        plot.Add.Markers(px, py, MarkerShape.FilledCircle, 4, Bars.WithAlpha(0.6));
        if (categories is not null)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. categories.Select((_, i) => (double)i)], [.. categories.Select(c => ShortName(c, 14))]);
            plot.Axes.SetLimitsX(-0.6, categories.Count - 0.4);
        }

        plot.Axes.Bottom.Label.Text = column.Column + (categories is null ? "" : " (category)");
        plot.Axes.Left.Label.Text = "contribution (log-odds)";
        return Svg(plot, width, height, $"dependence {column.Column}");
    }

    /// <summary>Permutation importance: each input's mean PR-AUC drop as a horizontal bar with ± its standard deviation, the largest on top.</summary>
    public static string Permutation(IReadOnlyList<PermutationImportance> items, int top = 15, int width = 560)
    {
        var bars = PermutationBars(items, top).Reverse().ToList();
        var plot = new Plot();
        plot.Add.Bars(bars.Select((b, i) => new Bar
        {
            Position = i,
            Value = b.Drop,
            Error = b.StandardDeviation,
            FillColor = Fraud,
            LineWidth = 0,
            Orientation = Orientation.Horizontal,
        }).ToList());
        var zero = plot.Add.VerticalLine(0);
        zero.Color = NoValue;
        zero.LineWidth = 1;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. bars.Select((_, i) => (double)i)], [.. bars.Select(b => ShortName(b.Input))]);
        plot.Axes.Bottom.Label.Text = "PR-AUC drop (± standard deviation over shuffles)";
        var hovers = bars.Select((b, i) => Hover.Box(Math.Min(0, b.Drop), Math.Max(0, b.Drop), i - 0.4, i + 0.4, $"{b.Input}: PR-AUC drop {Value(b.Drop)} ± {Value(b.StandardDeviation)}")).ToList();
        return Svg(plot, width, Math.Max(240, 24 * bars.Count + 60), "permutation importance", hovers);
    }
}

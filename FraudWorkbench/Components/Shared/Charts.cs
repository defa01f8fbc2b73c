using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Explain;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>Server-side ScottPlot charts rendered to inline SVG (a new Plot per render, as ScottPlot requires).</summary>
public static partial class Charts
{
    // Text is measured with a sans font on disk (Debian's fonts-dejavu-core) and drawn by the browser in the UI's
    // stack, with the measuring font as the fallback so the layout holds where the UI's font is missing.
    private const string MeasuringFont = "DejaVu Sans";
    private const string UiFonts = "Roboto, Helvetica, Arial, 'DejaVu Sans', sans-serif";

    /// <summary>
    /// The plot as inline SVG that scales with its container: a viewBox, so CSS width 100% shrinks or grows the whole
    /// drawing (without one the browser crops it at the container's edge, axis labels and legends first).
    /// </summary>
    public static string Svg(Plot plot, int width, int height)
    {
        plot.Font.Set(MeasuringFont);
        var svg = plot.GetSvgXml(width, height);
        svg = SvgRoot().Replace(svg, m => $"{m.Value[..^1]} viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMidYMid meet\">", 1);
        return svg.Replace($"font-family=\"{MeasuringFont}\"", $"font-family=\"{UiFonts}\"", StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex("<svg [^>]*>")]
    private static partial System.Text.RegularExpressions.Regex SvgRoot();

    private static readonly ScottPlot.Color Bars = ScottPlot.Color.FromHex("#1f4e79");
    private static readonly ScottPlot.Color Fraud = ScottPlot.Color.FromHex("#b23a48");

    /// <summary>A histogram with, when the dataset has a label, the fraud rate per bin on the right axis.</summary>
    public static string Histogram(ColumnProfile column, int width = 520, int height = 260)
    {
        var bins = column.Histogram ?? [];
        var plot = new Plot();
        var isTime = column.Type == ColumnType.DateTime;
        var bars = bins.Select(b => new Bar
        {
            Position = (b.From + b.To) / 2,
            Value = b.Count,
            Size = Math.Max(b.To - b.From, 1e-9) * 0.95,
            FillColor = Bars,
            LineWidth = 0,
        }).ToList();
        plot.Add.Bars(bars);
        if (isTime)
        {
            var ticks = bins.Where((_, i) => i % 5 == 0).Select(b => (b.From, DateTime.UnixEpoch.AddSeconds(b.From).ToString("MM-dd", CultureInfo.InvariantCulture))).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(t => t.From)], [.. ticks.Select(t => t.Item2)]);
        }

        plot.Axes.Left.Label.Text = "rows";
        if (bins.Any(b => b.FraudRate is not null))
        {
            var rated = bins.Where(b => b.Count > 0 && b.FraudRate is not null).ToList();
            var line = plot.Add.Scatter(rated.Select(b => (b.From + b.To) / 2).ToArray(), rated.Select(b => b.FraudRate!.Value * 100).ToArray());
            line.Color = Fraud;
            line.LineWidth = 2;
            line.MarkerSize = 4;
            line.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "fraud rate %";
        }

        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height);
    }

    /// <summary>A feature's decile bins: the share of fraud rows and of legitimate rows falling in each, side by side.</summary>
    public static string SplitByLabel(FraudWorkbench.Core.Features.SlotReference slot, int width = 520, int height = 240)
    {
        var plot = new Plot();
        var positives = slot.Positives ?? [];
        double fraudTotal = positives.Sum(), legitTotal = slot.Counts.Sum() - fraudTotal;
        var bars = new List<Bar>();
        for (var b = 0; b < slot.Counts.Count; b++)
        {
            var fraud = positives.Count > b ? positives[b] : 0;
            bars.Add(new Bar { Position = b * 3, Value = legitTotal == 0 ? 0 : 100 * (slot.Counts[b] - fraud) / legitTotal, FillColor = Bars, LineWidth = 0 });
            bars.Add(new Bar { Position = b * 3 + 1, Value = fraudTotal == 0 ? 0 : 100 * fraud / fraudTotal, FillColor = Fraud, LineWidth = 0 });
        }

        plot.Add.Bars(bars);
        var labels = Enumerable.Range(0, slot.Counts.Count).Select(b => b == 0 ? $"≤{slot.Edges.ElementAtOrDefault(0):0.##}" : b == slot.Counts.Count - 1 ? $">{slot.Edges[^1]:0.##}" : $"≤{slot.Edges[b]:0.##}").ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, slot.Counts.Count).Select(b => b * 3 + 0.5)], labels);
        plot.Axes.Left.Label.Text = "% of class";
        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height);
    }

    private static readonly ScottPlot.Color[] Series = [Bars, Fraud, ScottPlot.Color.FromHex("#2e7d32"), ScottPlot.Color.FromHex("#ef6c00")];

    /// <summary>One or more curves (ROC, precision-recall, calibration) on shared axes, one colour and legend entry each.</summary>
    public static string Curves(string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> curves, bool diagonal = false, int width = 520, int height = 320)
    {
        var plot = new Plot();
        for (var i = 0; i < curves.Count; i++)
        {
            var line = plot.Add.Scatter(curves[i].X, curves[i].Y);
            line.Color = Series[i % Series.Length];
            line.LineWidth = 2;
            line.MarkerSize = 0;
            if (curves.Count > 1) line.LegendText = curves[i].Name;
        }

        if (diagonal)
        {
            var reference = plot.Add.Line(0, 0, 1, 1);
            reference.Color = ScottPlot.Colors.Gray;
            reference.LinePattern = LinePattern.Dashed;
        }

        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        if (curves.Count > 1) plot.ShowLegend(Alignment.LowerRight);
        return Svg(plot, width, height);
    }

    /// <summary>Named values as horizontal bars, largest on top (feature importance).</summary>
    public static string HorizontalBars(IReadOnlyList<(string Name, double Value)> items, string label, int width = 520)
    {
        var top = items.OrderByDescending(i => i.Value).Take(15).Reverse().ToList();
        var plot = new Plot();
        plot.Add.Bars(top.Select((item, i) => new Bar { Position = i, Value = item.Value, FillColor = Bars, LineWidth = 0, Orientation = Orientation.Horizontal }).ToList());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. top.Select((_, i) => (double)i)], [.. top.Select(i => i.Name.Length > 28 ? i.Name[..28] + "…" : i.Name)]);
        plot.Axes.Bottom.Label.Text = label;
        plot.Axes.Margins(left: 0);
        return Svg(plot, width, Math.Max(240, 24 * top.Count + 60));
    }

    /// <summary>Validation rows per probability bin, legitimate and fraud side by side, each as a share of its class.</summary>
    public static string ScoreDistribution(IReadOnlyList<FraudWorkbench.Core.Training.ScoreBin> bins, int width = 520, int height = 300)
    {
        double legit = bins.Sum(b => b.Legitimate), fraud = bins.Sum(b => b.Fraud);
        var plot = new Plot();
        var bars = new List<Bar>();
        foreach (var bin in bins)
        {
            var centre = (bin.From + bin.To) / 2;
            var w = (bin.To - bin.From) * 0.45;
            bars.Add(new Bar { Position = centre - w / 2, Value = legit == 0 ? 0 : 100 * bin.Legitimate / legit, Size = w, FillColor = Bars, LineWidth = 0 });
            bars.Add(new Bar { Position = centre + w / 2, Value = fraud == 0 ? 0 : 100 * bin.Fraud / fraud, Size = w, FillColor = Fraud, LineWidth = 0 });
        }

        plot.Add.Bars(bars);
        plot.Axes.Bottom.Label.Text = "predicted probability of fraud";
        plot.Axes.Left.Label.Text = "% of class";
        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height);
    }

    /// <summary>Top categories as horizontal bars, with the fraud rate per category when there is a label.</summary>
    public static string Categories(ColumnProfile column, int width = 520, int height = 260)
    {
        var top = (column.TopCategories ?? []).Take(12).Reverse().ToList();
        var plot = new Plot();
        var bars = top.Select((c, i) => new Bar { Position = i, Value = c.Count, FillColor = Bars, LineWidth = 0, Orientation = Orientation.Horizontal }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. top.Select((_, i) => (double)i)],
            [.. top.Select(c => (c.Value.Length > 18 ? c.Value[..18] + "…" : c.Value) + (c.FraudRate is double r ? $" ({r:P1})" : ""))]);
        plot.Axes.Bottom.Label.Text = column.TopCategories?.Any(c => c.FraudRate is not null) == true ? "rows (fraud rate in brackets)" : "rows";
        plot.Axes.Margins(left: 0);
        return Svg(plot, width, Math.Max(height, 28 * top.Count + 60));
    }

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
    /// Show it no wider than <paramref name="width"/>: the SVG has no viewBox to scale by.
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
        return Svg(plot, width, Math.Max(240, 26 * rows + 80));
    }

    // ----- Global explanations: pure computations first (unit-tested), then the charts that draw them. -----

    /// <summary>The low and high ends of the beeswarm's value colour scale, and the colour of a value with no rank.</summary>
    public static readonly ScottPlot.Color LowValue = ScottPlot.Color.FromHex("#1e88e5");
    public static readonly ScottPlot.Color HighValue = ScottPlot.Color.FromHex("#d81b60");
    public static readonly ScottPlot.Color NoValue = ScottPlot.Color.FromHex("#9e9e9e");

    private static bool TryNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Whether a column's raw cells are numbers: at least one value, and every non-missing one parses (invariant culture).</summary>
    public static bool IsNumeric(IReadOnlyList<string?> values) => values.Any(v => v is not null) && values.All(v => v is null || TryNumber(v, out _));

    /// <summary>
    /// Each value's rank within its column scaled to [0, 1] (0 the lowest, 1 the highest, ties share their mean rank; a single
    /// distinct value is 0.5). Null for a missing value, and for every value of a column that is not numeric.
    /// </summary>
    public static double?[] ValueRanks(IReadOnlyList<string?> values)
    {
        var ranks = new double?[values.Count];
        if (!IsNumeric(values)) return ranks;
        var numbers = values.Select((v, i) => (Index: i, Ok: TryNumber(v, out var x), Value: x)).Where(p => p.Ok).OrderBy(p => p.Value).ToList();
        var last = numbers.Count - 1;
        for (var start = 0; start < numbers.Count;)
        {
            var end = start;
            while (end + 1 < numbers.Count && numbers[end + 1].Value == numbers[start].Value) end++;
            var rank = last == 0 ? 0.5 : (start + end) / 2.0 / last;
            for (var k = start; k <= end; k++) ranks[numbers[k].Index] = rank;
            start = end + 1;
        }

        return ranks;
    }

    /// <summary>A rank from <see cref="ValueRanks"/> as a colour: blue (low) through to red (high); grey when there is no rank.</summary>
    public static ScottPlot.Color RankColour(double? rank)
    {
        if (rank is not double r) return NoValue;
        r = Math.Clamp(r, 0, 1);
        byte Mix(byte low, byte high) => (byte)Math.Round(low + (high - low) * r);
        return new ScottPlot.Color(Mix(LowValue.R, HighValue.R), Mix(LowValue.G, HighValue.G), Mix(LowValue.B, HighValue.B));
    }

    /// <summary>Categorical values as indices 0..n−1 of their distinct values in ordinal order, a missing value as "(missing)" last.</summary>
    public static (double[] X, IReadOnlyList<string> Categories) CategoryIndex(IReadOnlyList<string?> values)
    {
        const string Missing = "(missing)";
        var categories = values.OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (values.Any(v => v is null)) categories.Add(Missing);
        var index = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (double)p.i, StringComparer.Ordinal);
        return ([.. values.Select(v => index[v ?? Missing])], categories);
    }

    /// <summary>Columns by mean |contribution|, largest first (ties by name), at most <paramref name="top"/>.</summary>
    public static IReadOnlyList<(string Name, double Value)> MeanAbsoluteBars(IReadOnlyList<ColumnSummary> columns, int top = 15) =>
        [.. columns.OrderByDescending(c => c.MeanAbsolute).ThenBy(c => c.Column, StringComparer.Ordinal).Take(top).Select(c => (c.Column, c.MeanAbsolute))];

    /// <summary>Inputs by PR-AUC drop, largest first (ties by name), at most <paramref name="top"/>.</summary>
    public static IReadOnlyList<PermutationImportance> PermutationBars(IReadOnlyList<PermutationImportance> items, int top = 15) =>
        [.. items.OrderByDescending(p => p.Drop).ThenBy(p => p.Input, StringComparer.Ordinal).Take(top)];

    /// <summary><paramref name="max"/> indices spread evenly over 0..<paramref name="count"/>−1 (all of them when there are no more).</summary>
    public static int[] EvenSample(int count, int max) =>
        count <= max ? [.. Enumerable.Range(0, count)] : [.. Enumerable.Range(0, max).Select(i => (int)((long)i * count / max))];

    /// <summary>
    /// Vertical offsets for a beeswarm row: uniform jitter from a fixed seed, scaled by how crowded the point's stretch of the
    /// x axis is (30 bins), so a dense region spreads up to ±<paramref name="spread"/> and a lone point stays near the line.
    /// </summary>
    public static double[] SwarmOffsets(IReadOnlyList<double> xs, double spread = 0.38, int seed = 7)
    {
        const int Bins = 30;
        var offsets = new double[xs.Count];
        if (xs.Count == 0) return offsets;
        double low = xs.Min(), high = xs.Max(), width = high - low;
        int Bin(double x) => width <= 0 ? 0 : Math.Min(Bins - 1, (int)((x - low) / width * Bins));
        var counts = new int[Bins];
        foreach (var x in xs) counts[Bin(x)]++;
        var most = counts.Max();
        var random = new Random(seed);
        for (var i = 0; i < xs.Count; i++) offsets[i] = (random.NextDouble() * 2 - 1) * spread * counts[Bin(xs[i])] / most;
        return offsets;
    }

    /// <summary>
    /// The points of a dependence plot: x the row's value (numbers parsed; categories as <see cref="CategoryIndex"/> indices,
    /// named in <c>Categories</c>), y the contribution. For a numeric column a missing value has no x: those rows are counted in
    /// <c>Missing</c> and left out.
    /// </summary>
    public static (double[] X, double[] Y, IReadOnlyList<string>? Categories, int Missing) DependencePoints(ColumnSummary column)
    {
        var values = column.Points.Select(p => p.Value).ToList();
        if (IsNumeric(values))
        {
            var present = column.Points.Where(p => p.Value is not null).ToList();
            return ([.. present.Select(p => double.Parse(p.Value!, NumberStyles.Float, CultureInfo.InvariantCulture))], [.. present.Select(p => p.Contribution)], null, column.Points.Count - present.Count);
        }

        var (x, categories) = CategoryIndex(values);
        return (x, [.. column.Points.Select(p => p.Contribution)], categories, 0);
    }

    private static string ShortName(string name, int length = 28) => name.Length > length ? name[..length] + "…" : name;

    /// <summary>Mean |contribution| per input column as horizontal bars, the largest on top (<see cref="MeanAbsoluteBars"/>).</summary>
    public static string MeanContributions(IReadOnlyList<ColumnSummary> columns, string label, int top = 15, int width = 560)
    {
        var bars = MeanAbsoluteBars(columns, top).Reverse().ToList();
        var plot = new Plot();
        plot.Add.Bars(bars.Select((b, i) => new Bar { Position = i, Value = b.Value, FillColor = Bars, LineWidth = 0, Orientation = Orientation.Horizontal }).ToList());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. bars.Select((_, i) => (double)i)], [.. bars.Select(b => ShortName(b.Name))]);
        plot.Axes.Bottom.Label.Text = label;
        plot.Axes.Margins(left: 0);
        return Svg(plot, width, Math.Max(240, 24 * bars.Count + 60));
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
        return Svg(plot, width, Math.Max(260, 34 * shown.Count + 70));
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
        return Svg(plot, width, height);
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
        return Svg(plot, width, Math.Max(240, 24 * bars.Count + 60));
    }
}

using System.Globalization;
using FraudWorkbench.Core.Data;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>Charts of a dataset's profile and a feature's distribution.</summary>
public static partial class Charts
{
    /// <summary>
    /// A histogram with, when the dataset has a label, the fraud rate per bin on the right axis (only for bins with enough
    /// rows: <see cref="HistogramBinning.ShowsFraudRate"/>). Log and quantile bins (heavy-tailed columns) are drawn as equal
    /// slots with their edges on the axis, and the axis says which bins they are.
    /// </summary>
    public static string Histogram(ColumnProfile column, int width = 520, int height = 260)
    {
        var bins = column.Histogram ?? [];
        var kind = column.Bins ?? HistogramBinning.Linear;
        var bySlot = kind != HistogramBinning.Linear;
        var plot = new Plot();
        var isTime = column.Type == ColumnType.DateTime;
        double Centre(int i) => bySlot ? i : (bins[i].From + bins[i].To) / 2;
        double Size(int i) => bySlot ? 0.95 : Math.Max(bins[i].To - bins[i].From, 1e-9) * 0.95;
        var bars = plot.Add.Bars(bins.Select((b, i) => new Bar { Position = Centre(i), Value = b.Count, Size = Size(i), FillColor = Bars, LineWidth = 0 }).ToList());
        string Range(HistogramBin b) => isTime
            ? $"{DateTime.UnixEpoch.AddSeconds(b.From):yyyy-MM-dd HH:mm}–{DateTime.UnixEpoch.AddSeconds(b.To):yyyy-MM-dd HH:mm}"
            : $"{Value(b.From)}–{Value(b.To)}";
        var hovers = bins.Select((b, i) => Hover.Box(Centre(i) - Size(i) / 2, Centre(i) + Size(i) / 2, 0, b.Count,
            $"{column.Name} {Range(b)}: {b.Count.ToString("#,0", CultureInfo.InvariantCulture)} rows" +
            (b.FraudRate is double r ? FormattableString.Invariant($" · fraud rate {r * 100:0.##} % of {b.Labelled:#,0} labelled") : ""))).ToList();

        if (isTime)
        {
            var ticks = bins.Where((_, i) => i % 5 == 0).Select(b => (b.From, DateTime.UnixEpoch.AddSeconds(b.From).ToString("MM-dd", CultureInfo.InvariantCulture))).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(t => t.From)], [.. ticks.Select(t => t.Item2)]);
        }
        else if (bySlot && bins.Count > 0)
        {
            // Slot i spans i − 0.5 to i + 0.5; its lower edge is labelled at i − 0.5, about five labels in all.
            var every = Math.Max(1, (int)Math.Ceiling(bins.Count / 5.0));
            var edges = bins.Select(b => b.From).Append(bins[^1].To).ToList();
            var at = Enumerable.Range(0, edges.Count).Where(i => i % every == 0 || i == edges.Count - 1).ToList();
            if (at.Count > 1 && at[^1] - at[^2] < every) at.RemoveAt(at.Count - 2); // the last edge's label stays clear of the one before
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. at.Select(i => i - 0.5)], [.. at.Select(i => Compact(edges[i]))]);
            plot.Axes.Bottom.Label.Text = kind == HistogramBinning.Log ? "log-spaced bins (each bar spans its edges)" : "quantile bins (about equal rows per bar)";
        }

        plot.Axes.Left.Label.Text = "rows";
        var total = bins.Sum(b => b.Count);
        var rated = Enumerable.Range(0, bins.Count).Where(i => HistogramBinning.ShowsFraudRate(bins[i], total)).ToList();
        if (rated.Count > 0)
        {
            bars.LegendText = "rows";
            plot.Axes.Right.Label.Text = "fraud rate %";
            var line = plot.Add.Scatter(rated.Select(Centre).ToArray(), rated.Select(i => bins[i].FraudRate!.Value * 100).ToArray());
            line.Color = Fraud;
            line.LineWidth = 2;
            line.MarkerSize = 4;
            line.Axes.YAxis = plot.Axes.Right;
            // Near-empty bins have no point; the legend says so, so a gap in the line does not read as a fraud rate of zero.
            line.LegendText = $"fraud rate % (bins with ≥ {HistogramBinning.MinRowsForRate} rows)";
            hovers.AddRange(rated.Select(i => Hover.At(Centre(i), bins[i].FraudRate!.Value * 100,
                $"{column.Name} {Range(bins[i])}: fraud rate {(bins[i].FraudRate!.Value * 100).ToString("0.##", CultureInfo.InvariantCulture)} %", plot.Axes.Right)));
            LegendAbove(plot);
        }

        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height, $"{column.Name} histogram", hovers);
    }

    /// <summary>A number for an axis label: at most three significant digits, k / M for thousands and millions.</summary>
    public static string Compact(double value)
    {
        var a = Math.Abs(value);
        string Digits(double v) => v.ToString(Math.Abs(v) >= 100 ? "0" : Math.Abs(v) >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture);
        return a >= 1e6 ? Digits(value / 1e6) + "M" : a >= 1e3 ? Digits(value / 1e3) + "k" : Digits(value);
    }

    /// <summary>A feature's decile bins: the share of fraud rows and of legitimate rows falling in each, side by side.</summary>
    public static string SplitByLabel(FraudWorkbench.Core.Features.SlotReference slot, int width = 520, int height = 240)
    {
        var plot = new Plot();
        var positives = slot.Positives ?? [];
        double fraudTotal = positives.Sum(), legitTotal = slot.Counts.Sum() - fraudTotal;
        List<Bar> legitBars = [], fraudBars = [];
        for (var b = 0; b < slot.Counts.Count; b++)
        {
            var fraud = positives.Count > b ? positives[b] : 0;
            legitBars.Add(new Bar { Position = b * 3, Value = legitTotal == 0 ? 0 : 100 * (slot.Counts[b] - fraud) / legitTotal, FillColor = Bars, LineWidth = 0 });
            fraudBars.Add(new Bar { Position = b * 3 + 1, Value = fraudTotal == 0 ? 0 : 100 * fraud / fraudTotal, FillColor = Fraud, LineWidth = 0 });
        }

        plot.Add.Bars(legitBars).LegendText = "legitimate";
        plot.Add.Bars(fraudBars).LegendText = "fraud";
        LegendAbove(plot);
        var labels = Enumerable.Range(0, slot.Counts.Count).Select(b => b == 0 ? $"≤{slot.Edges.ElementAtOrDefault(0):0.##}" : b == slot.Counts.Count - 1 ? $">{slot.Edges[^1]:0.##}" : $"≤{slot.Edges[b]:0.##}").ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, slot.Counts.Count).Select(b => b * 3 + 0.5)], labels);
        plot.Axes.Left.Label.Text = "% of class";
        plot.Axes.Margins(bottom: 0);
        return Svg(plot, width, height, "split by label");
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
        var hovers = top.Select((c, i) => Hover.Box(0, c.Count, i - 0.4, i + 0.4,
            $"{c.Value}: {c.Count.ToString("#,0", CultureInfo.InvariantCulture)} rows" + (c.FraudRate is double r ? $" · fraud rate {(r * 100).ToString("0.##", CultureInfo.InvariantCulture)} %" : ""))).ToList();
        return Svg(plot, width, Math.Max(height, 28 * top.Count + 60), $"{column.Name} categories", hovers);
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Components;

public sealed class ChartsTests
{
    private static readonly XNamespace SvgNs = "http://www.w3.org/2000/svg";

    public static TheoryData<string, string> Drawn => new()
    {
        { "curves", Charts.Curves("false positive rate", "true positive rate", [("run", [0, 0.1, 1], [0, 0.8, 1])], diagonal: true, width: 520, height: 320) },
        { "bars", Charts.HorizontalBars([("amount", 0.4), ("customer_id__count_1h", 0.2)], "mean |contribution|", width: 520) },
        { "histogram", Charts.Histogram(AmountColumn(HistogramBinning.Log)) },
        { "scores", Charts.ScoreDistribution([new ScoreBin(0, 0.5, 900, 10), new ScoreBin(0.5, 1, 100, 90)]) },
    };

    /// <summary>An amount column with 20 log bins over 1..1000 and a fraud rate per bin; the last three bins hold few rows.</summary>
    private static ColumnProfile AmountColumn(string? bins)
    {
        var histogram = Enumerable.Range(0, 20).Select(i =>
        {
            var rows = i < 17 ? 500L : 5L;
            return new HistogramBin(Math.Pow(1000, i / 20.0), Math.Pow(1000, (i + 1) / 20.0), rows, rows / 10 + i, rows);
        }).ToList();
        return new ColumnProfile("amount", ColumnType.Decimal, "feature", 0, 0, 1000, false, null, histogram, null, null, bins);
    }

    /// <summary>The SVG element of a figure, parsed (titles and legend text are looked up in it, not in the raw string).</summary>
    private static XElement Drawing(string figure) => XElement.Parse(Regex.Match(figure, "<svg .*</svg>", RegexOptions.Singleline).Value);

    private static List<string> Texts(XElement svg) => [.. svg.Descendants(SvgNs + "text").Select(t => t.Value.Trim())];

    [Theory]
    [MemberData(nameof(Drawn))]
    public void Chart_AnyKind_ScalesWithItsContainerAndUsesASansFont(string kind, string svg)
    {
        var root = Regex.Match(svg, "<svg [^>]*>").Value;
        var width = Regex.Match(root, "width=\"(\\d+)\"").Groups[1].Value;
        var height = Regex.Match(root, "height=\"(\\d+)\"").Groups[1].Value;

        // Without a viewBox, CSS width 100% crops a drawing wider than its card instead of scaling it.
        Assert.True(root.Contains($"viewBox=\"0 0 {width} {height}\""), $"{kind}: {root}");
        Assert.Contains("preserveAspectRatio=\"xMidYMid meet\"", root);
        var fonts = Regex.Matches(svg, "font-family=\"([^\"]*)\"").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.NotEmpty(fonts);
        Assert.All(fonts, f => Assert.EndsWith("sans-serif", f));
    }

    [Theory]
    [MemberData(nameof(Drawn))]
    public void Figure_AnyKind_TheDrawingOnceWithSvgAndPngDownloadButtons(string kind, string figure)
    {
        var html = XElement.Parse(figure);

        Assert.Equal("figure", html.Name.LocalName);
        Assert.True(html.Descendants(SvgNs + "svg").Count() == 1, $"{kind}: drawn once, downloads serialise what is on the page");
        var buttons = html.Descendants("button").ToList();
        Assert.All(buttons, b => Assert.Equal("button", b.Attribute("type")!.Value));
        Assert.Matches("^[a-z0-9-]+\\.svg$", buttons.Single(b => b.Attribute("data-chart-svg") is not null).Attribute("data-chart-svg")!.Value);
        Assert.Matches("^[a-z0-9-]+\\.png$", buttons.Single(b => b.Attribute("data-chart-png") is not null).Attribute("data-chart-png")!.Value);
        Assert.DoesNotContain("base64", figure, StringComparison.Ordinal);
    }

    [Fact]
    public void Curves_TwoRuns_LegendNamesEachRunAboveTheDataInsideTheViewBox()
    {
        var figure = Charts.Curves("false positive rate", "true positive rate",
            [("#1 lightgbm · class weights", [0, 0.1, 1], [0, 0.8, 1]), ("#2 fastforest · SMOTE", [0, 0.2, 1], [0, 0.6, 1])], diagonal: true);
        var svg = Drawing(figure);
        var texts = svg.Descendants(SvgNs + "text").ToList();

        foreach (var name in new[] { "#1 lightgbm · class weights", "#2 fastforest · SMOTE", "chance" })
        {
            var text = texts.Single(t => t.Value.Trim() == name);
            // Text is placed glyph by glyph: x and y list a position per character; the first is where it starts.
            double First(string attribute) => double.Parse(text.Attribute(attribute)!.Value.Split(',')[0], CultureInfo.InvariantCulture);
            var (x, y) = (First("x"), First("y"));
            Assert.InRange(x, 0, 520);
            // Above the data area: higher on the canvas than the top of the y axis (the highest point, y = 1, drawn with a title).
            var top = HoverCircles(svg).Where(c => c.Title.EndsWith("true positive rate 1", StringComparison.Ordinal)).Min(c => c.Y);
            Assert.InRange(y, 0, top);
        }
    }

    [Fact]
    public void Curves_OneRunWithoutDiagonal_NoLegend()
    {
        var texts = Texts(Drawing(Charts.Curves("recall", "precision", [("run", [0, 0.5, 1], [1, 0.7, 0.2])])));
        Assert.DoesNotContain("run", texts);
    }

    private static List<(double X, double Y, string Title)> HoverCircles(XElement svg) =>
        [.. svg.Descendants(SvgNs + "circle").Where(c => c.Element(SvgNs + "title") is not null).Select(c => (
            double.Parse(c.Attribute("cx")!.Value, CultureInfo.InvariantCulture),
            double.Parse(c.Attribute("cy")!.Value, CultureInfo.InvariantCulture),
            c.Element(SvgNs + "title")!.Value))];

    [Fact]
    public void Roc_Drawn_EachPointHasATitleWithItsValuesWhereItIsDrawn()
    {
        var svg = Drawing(Charts.Curves("false positive rate", "true positive rate", [("run", [0, 0.1, 1], [0, 0.8, 1])], diagonal: true));

        var points = HoverCircles(svg);
        Assert.Equal(
            ["false positive rate 0 · true positive rate 0", "false positive rate 0.1 · true positive rate 0.8", "false positive rate 1 · true positive rate 1"],
            points.Select(p => p.Title));
        // Pixels grow rightwards and downwards: x follows the FPR, y falls as the TPR rises, and the step from
        // (0, 0) to (0.1, 0.8) is 0.1 of the width from (0, 0) to (1, 1) and 0.8 of its height.
        var (origin, mid, corner) = (points[0], points[1], points[2]);
        Assert.Equal(0.1, (mid.X - origin.X) / (corner.X - origin.X), 2);
        Assert.Equal(0.8, (origin.Y - mid.Y) / (origin.Y - corner.Y), 2);
    }

    [Fact]
    public void ImportanceBars_Drawn_EachBarHasATitleWithItsValue()
    {
        var svg = Drawing(Charts.HorizontalBars([("amount", 0.4), ("hour", 0.25)], "importance"));
        var titles = svg.Descendants(SvgNs + "rect").Select(r => r.Element(SvgNs + "title")?.Value).OfType<string>().ToList();
        Assert.Equal(["hour: importance 0.25", "amount: importance 0.4"], titles);
    }

    [Fact]
    public void Histogram_WithRates_LegendForBarsAndLine_RateOmittedForNearEmptyBins()
    {
        var column = AmountColumn(HistogramBinning.Log);
        var svg = Drawing(Charts.Histogram(column));
        var texts = Texts(svg);

        Assert.Contains("rows", texts);
        Assert.Contains(texts, t => t.StartsWith("fraud rate % (bins", StringComparison.Ordinal));
        Assert.Contains("log-spaced bins (each bar spans its edges)", texts);
        // 8,515 rows: the last three bins (5 rows each, under 20 and under 1 %) draw a bar but no fraud-rate point.
        var ratePoints = HoverCircles(svg);
        Assert.Equal(17, ratePoints.Count);
        Assert.All(ratePoints, p => Assert.Contains("fraud rate", p.Title));
        Assert.Equal(20, svg.Descendants(SvgNs + "rect").Count(r => r.Element(SvgNs + "title")?.Value.Contains(" rows", StringComparison.Ordinal) == true));
        Assert.Contains(svg.Descendants(SvgNs + "title"), t => t.Value == "amount 1–1.413: 500 rows · fraud rate 10 % of 500 labelled");
    }

    [Fact]
    public void Histogram_ProfileStoredBeforeBinKinds_DrawnLinearWithoutBinLabel()
    {
        // A profile stored before Bins existed has no such property in its JSON.
        var json = JsonSerializer.Serialize(AmountColumn(HistogramBinning.Log)).Replace(",\"Bins\":\"log\"", "", StringComparison.Ordinal);
        Assert.DoesNotContain("Bins", json);
        var old = JsonSerializer.Deserialize<ColumnProfile>(json)!;

        var texts = Texts(Drawing(Charts.Histogram(old)));

        Assert.Null(old.Bins);
        Assert.DoesNotContain(texts, t => t.Contains("bins (", StringComparison.Ordinal));
        Assert.Contains("rows", texts);
    }

    [Fact]
    public void ScoreDistribution_TwoClasses_LegendNamesBoth()
    {
        var texts = Texts(Drawing(Charts.ScoreDistribution([new ScoreBin(0, 0.5, 900, 10), new ScoreBin(0.5, 1, 100, 90)])));
        Assert.Contains("legitimate", texts);
        Assert.Contains("fraud", texts);
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Bunit;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Alerts;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

public sealed class AlertBacktestChartTests
{
    private static readonly XNamespace SvgNs = "http://www.w3.org/2000/svg";
    private static readonly DateTime Start = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// 48 hourly readings of the flag rate: 0.2, except 0.8 from 10:00 to 19:00 (ten readings); "above 0.5" with for 0s
    /// fires at 10:00 and resolves at 20:00 (the first reading back under), so one firing period of 10 h.
    /// </summary>
    private static AlertBacktestResult Result(IReadOnlyList<FiringPeriod>? firing = null)
    {
        var rule = new AlertRuleSpec("flag rate high", "fraud-model", new AlertMetricSpec(AlertMetricKind.FlagRate),
            new AlertCondition(AlertConditionKind.Above, 0.5));
        var points = Enumerable.Range(0, 48).Select(h =>
        {
            var high = h is >= 10 and < 20;
            return new BacktestPoint(Start.AddHours(h), high ? 0.8 : 0.2, 100, null, 0.5, high ? AlertOutcome.True : AlertOutcome.False,
                high ? AlertState.Firing : AlertState.Inactive);
        }).ToList();
        return new AlertBacktestResult("fraud-model", rule, Start, Start.AddHours(47), TimeSpan.FromHours(1), points,
            firing ?? [new FiringPeriod(Start.AddHours(10), Start.AddHours(20))], null);
    }

    private static BunitContext NewContext()
    {
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices();
        context.Render<MudPopoverProvider>();
        return context;
    }

    private static XElement Drawing(string html) => XElement.Parse(Regex.Match(html, "<svg .*</svg>", RegexOptions.Singleline).Value);

    private static double D(XElement e, string attribute) => double.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    private static List<(double X, double Y, string Title)> Readings(XElement svg) =>
        [.. svg.Descendants(SvgNs + "circle").Where(c => c.Element(SvgNs + "title") is not null)
            .Select(c => (D(c, "cx"), D(c, "cy"), c.Element(SvgNs + "title")!.Value))];

    [Fact]
    public async Task AlertBacktestChart_OneFiringPeriod_MetricLineThresholdShadedPeriodAndAxisLabelsWhereTheyBelong()
    {
        await using var context = NewContext();

        var cut = context.Render<AlertBacktestChart>(p => p.Add(x => x.Result, Result()));

        Assert.Equal("1", cut.Find("[data-testid=alert-backtest]").GetAttribute("data-firing"));
        Assert.Equal("Would have fired once for fraud-model, 10 h in total.", cut.Find("[data-testid=alert-backtest-summary]").TextContent.Trim());
        var svg = Drawing(cut.Find("[data-testid=alert-backtest-chart]").InnerHtml);
        var texts = svg.Descendants(SvgNs + "text").Select(t => t.Value.Trim()).ToList();
        Assert.Contains("time (UTC)", texts);
        Assert.Contains("share decided fraud", texts); // the flag rate's unit on the y axis
        Assert.Contains("Flag rate", texts); // the metric line's legend
        Assert.Contains("threshold 0.5", texts);
        Assert.Contains("would have fired", texts);

        // The metric line: a titled point per reading, 0.8 drawn higher than 0.2.
        var readings = Readings(svg);
        Assert.Equal(48, readings.Count);
        Assert.Equal("2026-11-01 10:00 UTC: 0.8 (n = 100), firing", readings[10].Title);
        Assert.Equal("2026-11-01 09:00 UTC: 0.2 (n = 100)", readings[9].Title);
        var (low, high) = (readings[0].Y, readings[10].Y);
        Assert.True(high < low, "0.8 is above 0.2");

        // The threshold: a horizontal line half way between the 0.2 and 0.8 readings' pixels.
        var expectedY = low + (high - low) * (0.5 - 0.2) / (0.8 - 0.2);
        // ScottPlot draws a dashed line as a filled path of dashes (red here): every dash on that height, from edge to edge.
        var dashes = svg.Descendants(SvgNs + "path").Where(p => (string?)p.Attribute("fill") == "#B23A48")
            .Select(p => Regex.Matches(p.Attribute("d")!.Value, "([0-9.]+) ([0-9.]+)").Select(m => (X: Double(m.Groups[1]), Y: Double(m.Groups[2]))).ToList())
            .Where(points => points.Count > 8).ToList();
        var threshold = Assert.Single(dashes);
        Assert.All(threshold, p => Assert.InRange(p.Y, expectedY - 1.5, expectedY + 1.5));
        Assert.True(threshold.Min(p => p.X) <= readings[0].X + 1 && threshold.Max(p => p.X) >= readings[^1].X - 1, "the threshold spans the range");

        // The shaded period: from the 10:00 reading to the 20:00 one, across the whole data area.
        var firing = svg.Descendants(SvgNs + "rect").Where(r => (string?)r.Attribute("class") == "fw-firing").ToList();
        var box = Assert.Single(firing);
        Assert.Equal(readings[10].X, D(box, "x"), 0);
        Assert.Equal(readings[20].X, D(box, "x") + D(box, "width"), 0);
        Assert.True(D(box, "y") < high && D(box, "y") + D(box, "height") > low, "the shading spans every value");
        Assert.Equal("would have fired 2026-11-01 10:00 – 2026-11-01 20:00 UTC (10 h)", box.Element(SvgNs + "title")!.Value);
    }

    [Fact]
    public async Task AlertBacktestChart_TwoPeriodsOneStillFiring_EachShadedAndTheSummaryCountsBothToTheEnd()
    {
        await using var context = NewContext();
        var result = Result([new FiringPeriod(Start.AddHours(10), Start.AddHours(20)), new FiringPeriod(Start.AddHours(40), null)]);

        var cut = context.Render<AlertBacktestChart>(p => p.Add(x => x.Result, result));

        // 10 h, then 40:00 to the end of the range (47:00): 7 h more.
        Assert.Equal("Would have fired 2 times for fraud-model, 17 h in total, and would be firing now.", cut.Find("[data-testid=alert-backtest-summary]").TextContent.Trim());
        var svg = Drawing(cut.Find("[data-testid=alert-backtest-chart]").InnerHtml);
        var readings = Readings(svg);
        var boxes = svg.Descendants(SvgNs + "rect").Where(r => (string?)r.Attribute("class") == "fw-firing").OrderBy(r => D(r, "x")).ToList();
        Assert.Equal(2, boxes.Count);
        Assert.Equal(readings[40].X, D(boxes[1], "x"), 0);
        Assert.Equal(readings[47].X, D(boxes[1], "x") + D(boxes[1], "width"), 0);
    }

    [Fact]
    public async Task AlertBacktestChart_NothingToShow_TheReasonInsteadOfAnEmptyChart()
    {
        await using var context = NewContext();
        var result = Result() with { Points = [], Firing = [], Message = "fraud-model received no predictions in the last 30 days." };

        var cut = context.Render<AlertBacktestChart>(p => p.Add(x => x.Result, result));

        Assert.Contains("received no predictions", cut.Find("[data-testid=alert-backtest-message]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=alert-backtest-chart]"));
    }

    private static double Double(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);
}

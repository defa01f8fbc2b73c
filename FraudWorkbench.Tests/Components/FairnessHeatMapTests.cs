using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

public sealed class FairnessHeatMapTests
{
    /// <summary>
    /// gender × band: F × A 40 rows (10 flagged: 0.25), F × B 5 rows (1 flagged: 0.2, under the minimum of 10), M × A 30 rows
    /// (15 flagged: 0.5), M × B none.
    /// </summary>
    private static IReadOnlyList<GroupingFairness> Groupings()
    {
        var rows = new List<(string Gender, string Band, bool Flagged)>();
        void Add(string gender, string band, int count, int flagged)
        {
            for (var i = 0; i < count; i++) rows.Add((gender, band, i < flagged));
        }

        Add("F", "A", 40, 10);
        Add("F", "B", 5, 1);
        Add("M", "A", 30, 15);
        var gender = FairnessGroups.FromValues("gender", [.. rows.Select(r => r.Gender)]);
        var band = FairnessGroups.FromValues("band", [.. rows.Select(r => r.Band)]);
        var labels = rows.Select((_, i) => i % 3 == 0).ToArray();
        var scores = rows.Select(r => r.Flagged ? 0.9 : 0.1).ToArray();
        var settings = new FairnessSettings(MinGroupSize: 10, Resamples: 20);
        return [.. new[] { gender, band, FairnessGroups.Cross([gender, band]) }.Select(g => FairnessCalculator.Evaluate(g, labels, scores, 0.5, settings))];
    }

    private static BunitContext NewContext()
    {
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices();
        context.Render<MudPopoverProvider>();
        return context;
    }

    [Fact]
    public async Task FairnessHeatMap_TwoColumnsCrossed_GridOfTheirGroupsColouredByTheMetric_SmallAndEmptyCellsMarked()
    {
        await using var context = NewContext();

        var cut = context.Render<FairnessHeatMap>(p => p.Add(x => x.Groupings, Groupings()).Add(x => x.Metric, FairnessMetric.SelectionRate));

        Assert.Equal("gender × band", cut.Find("[data-testid=fairness-heatmap]").GetAttribute("data-pair"));
        var cells = cut.FindAll("[data-testid=heatmap-cell]");
        Assert.Equal([("F", "A"), ("F", "B"), ("M", "A"), ("M", "B")], cells.Select(c => (c.GetAttribute("data-row"), c.GetAttribute("data-col"))));
        string Cell(string row, string col) => cut.Find($"[data-testid=heatmap-cell][data-row={row}][data-col={col}]").TextContent;
        Assert.Equal("0.25", cut.Find("[data-row=F][data-col=A]").GetAttribute("data-value"));
        Assert.Equal("0.5", cut.Find("[data-row=M][data-col=A]").GetAttribute("data-value"));
        Assert.Contains("0.250", Cell("F", "A"), StringComparison.Ordinal);
        // F × B: 5 rows, under the minimum: shown, hatched and said to be too small.
        var small = cut.Find("[data-row=F][data-col=B]");
        Assert.Equal("true", small.GetAttribute("data-small"));
        Assert.Contains("n=5 · too small", small.TextContent, StringComparison.Ordinal);
        Assert.Contains("repeating-linear-gradient", small.GetAttribute("style"), StringComparison.Ordinal);
        Assert.Equal("true", cut.Find("[data-row=M][data-col=B]").GetAttribute("data-empty"));
        // The scale runs over the judged cells: the lowest (0.25) white, the highest (0.5) the charts' blue with white text.
        Assert.Contains("background: rgb(255, 255, 255)", cut.Find("[data-row=F][data-col=A]").GetAttribute("style"), StringComparison.Ordinal);
        Assert.Contains("background: rgb(31, 78, 121); color: #ffffff", cut.Find("[data-row=M][data-col=A]").GetAttribute("style"), StringComparison.Ordinal);
        Assert.Contains("gender ↓ · band →", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("0.250 to 0.500", cut.Find("[data-testid=heatmap-legend]").TextContent, StringComparison.Ordinal);
        Assert.Contains("interval", cut.Find("[data-row=M][data-col=A]").GetAttribute("title"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FairnessHeatMap_OneProtectedColumn_SaysHowToGetACrossing()
    {
        await using var context = NewContext();

        var cut = context.Render<FairnessHeatMap>(p => p.Add(x => x.Groupings, Groupings().Take(1).ToList()).Add(x => x.Metric, FairnessMetric.TruePositiveRate));

        Assert.Contains("protected", cut.Find("[data-testid=heatmap-none]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=heatmap-cell]"));
    }

    [Fact]
    public void DisparitySeries_ManyDays_LabelsThinnedBandAndFourFifthsLine()
    {
        var points = Enumerable.Range(0, 60).Select(i => new DisparityPoint($"11-{i:00}", 0.85 + i % 3 * 0.01, 0.8, 0.9, i % 2 == 0 ? 0.86 : null, Mature: i < 30, Predictions: 100)).ToList();
        var series = new FairnessSeries("m", new DateOnly(2026, 11, 1), new DateOnly(2026, 12, 30), "gender", ["gender"], []);

        var svg = Charts.FairnessDisparitySeries("Demographic parity ratio", points, ratio: true);

        foreach (var legend in new[] { "realized, mature", "realized, provisional", "95 % bootstrap interval", "estimated (labels + probabilities)", "0.8 (four-fifths rule of thumb)" })
            Assert.Contains(legend, svg, StringComparison.Ordinal);
        // 960 px at about one label per 80 px: every 5th of 60 days, so "11-05" is a tick and "11-01" is not.
        Assert.Matches(@">\s*11-05\s*</text>", svg);
        Assert.DoesNotMatch(@">\s*11-01\s*</text>", svg);
        Assert.Empty(FairnessProductionView.Points(series, FairnessProductionView.Disparities[0].Key));
    }
}

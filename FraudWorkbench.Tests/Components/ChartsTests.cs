using System.Text.RegularExpressions;
using FraudWorkbench.Components.Shared;

namespace FraudWorkbench.Tests.Components;

public sealed class ChartsTests
{
    public static TheoryData<string, string> Drawn => new()
    {
        { "curves", Charts.Curves("false positive rate", "true positive rate", [("run", [0, 0.1, 1], [0, 0.8, 1])], diagonal: true, width: 520, height: 320) },
        { "bars", Charts.HorizontalBars([("amount", 0.4), ("customer_id__count_1h", 0.2)], "mean |contribution|", width: 520) },
    };

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
}

using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

public sealed class AlertTemplateTests
{
    private static readonly Dictionary<string, string> Values = new() { ["value"] = "0.625", ["model"] = "card-fraud", ["link"] = "/models/card-fraud/monitoring" };
    private static readonly Dictionary<string, string> Labels = new() { ["team"] = "payments" };

    [Fact]
    public void Render_KnownPlaceholdersAndLabels_Replaced()
    {
        var text = AlertTemplate.Render("{{model}} drift {{ value }} for {{labels.team}} ({{labels.absent}}) {{link}}", Values, Labels);
        Assert.Equal("card-fraud drift 0.625 for payments () /models/card-fraud/monitoring", text);
    }

    [Fact]
    public void Render_TemplateLooksLikeCode_StaysText()
    {
        // No expression language: what is not a {{name}} placeholder is copied as it is, markup included.
        var text = AlertTemplate.Render("<script>alert(1)</script> @DateTime.Now {{value}}", Values, Labels);
        Assert.Equal("<script>alert(1)</script> @DateTime.Now 0.625", text);
    }

    [Theory]
    [InlineData("{{value}} of {{model}}")]
    [InlineData("{{labels.team}}")]
    [InlineData("no placeholder at all")]
    public void Validate_KnownPlaceholders_Null(string template) => Assert.Null(AlertTemplate.Validate(template));

    [Theory]
    [InlineData("{{valu}}", "valu")]
    [InlineData("{{ System.IO.File }}", "System.IO.File")]
    [InlineData("{{value", "not closed")]
    [InlineData("{{ 1 + 1 }}", "not closed")]
    public void Validate_UnknownOrUnclosed_NamesTheProblem(string template, string expected) =>
        Assert.Contains(expected, AlertTemplate.Validate(template));

    [Fact]
    public void Validate_DefaultTemplate_Valid() => Assert.Null(AlertTemplate.Validate(AlertTemplate.Default));

    [Theory]
    [InlineData(0.123456, "0.1235")]
    [InlineData(1234567.0, "1.235E+06")]
    [InlineData(null, "no value")]
    public void Number_FourSignificantDigitsInvariant(double? value, string expected) => Assert.Equal(expected, AlertTemplate.Number(value));
}

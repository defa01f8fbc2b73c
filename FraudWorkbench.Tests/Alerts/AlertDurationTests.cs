using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

public sealed class AlertDurationTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("4h", 14_400)]
    [InlineData("1d", 86_400)]
    [InlineData("1w", 604_800)]
    [InlineData("1h30m", 5_400)]
    [InlineData("0s", 0)]
    [InlineData(" 2m ", 120)]
    public void TryParse_PrometheusDurations_Seconds(string text, long seconds)
    {
        Assert.True(AlertDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("m")]
    [InlineData("-5m")]
    [InlineData("5 m")]
    [InlineData("1.5h")]
    [InlineData("5y")]
    [InlineData("5m!")]
    [InlineData("999999999d")]
    public void TryParse_NotADuration_False(string? text) => Assert.False(AlertDuration.TryParse(text, out _));

    [Theory]
    [InlineData(5_400, "1h30m")]
    [InlineData(0, "0s")]
    [InlineData(691_261, "1w1d1m1s")]
    public void Format_Seconds_ShortestTextThatParsesBack(long seconds, string expected)
    {
        var text = AlertDuration.Format(TimeSpan.FromSeconds(seconds));
        Assert.Equal(expected, text);
        Assert.Equal(TimeSpan.FromSeconds(seconds), AlertDuration.Parse(text));
    }
}

using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

public sealed class AlertMatcherTests
{
    private static readonly IReadOnlyDictionary<string, string> Labels =
        AlertLabels.Of("Dataset drift", "card-fraud", AlertSeverity.Warning, new Dictionary<string, string> { ["team"] = "payments" });

    [Theory]
    [InlineData("model", "=", "card-fraud", true)]
    [InlineData("model", "=", "card", false)]
    [InlineData("model", "!=", "other", true)]
    [InlineData("alertname", "=~", "Dataset.*", true)]
    [InlineData("alertname", "=~", "drift", false)] // anchored, as Alertmanager's
    [InlineData("severity", "!~", "critical|warning", false)]
    [InlineData("team", "=", "payments", true)]
    [InlineData("absent", "=", "", true)] // a missing label reads as empty, as in Alertmanager
    public void Matches_LabelsOfAnAlert(string label, string op, string value, bool expected) =>
        Assert.Equal(expected, new AlertMatcher(label, op, value).Matches(Labels));

    [Fact]
    public void Labels_RuleLabelsCannotReplaceTheRulesOwn()
    {
        var labels = AlertLabels.Of("rule", "m", AlertSeverity.Critical, new Dictionary<string, string> { ["model"] = "spoofed", ["severity"] = "info" });
        Assert.Equal("m", labels["model"]);
        Assert.Equal("critical", labels["severity"]);
    }

    [Fact]
    public void Fingerprint_SameRuleAndModel_Same_OtherwiseDifferent()
    {
        var rule = Guid.Parse("0192f5a8-0000-7000-8000-000000000001");
        Assert.Equal(AlertLabels.Fingerprint(rule, "card-fraud"), AlertLabels.Fingerprint(rule, "card-fraud"));
        Assert.NotEqual(AlertLabels.Fingerprint(rule, "card-fraud"), AlertLabels.Fingerprint(rule, "card-fraud-2"));
        Assert.Equal(16, AlertLabels.Fingerprint(rule, "*").Length);
    }

    [Fact]
    public void Silence_MutesOnlyInsideItsTimeAndWhenEveryMatcherMatches()
    {
        var start = new DateTime(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);
        var silence = new Silence(Guid.NewGuid(), [new("model", "=", "card-fraud"), new("alertname", "=~", "Dataset.*")],
            start, start.AddHours(2), "maintenance", "admin", start, null, null);
        Assert.True(silence.Mutes(Labels, start.AddHours(1)));
        Assert.False(silence.Mutes(Labels, start.AddHours(2))); // the end is exclusive
        Assert.False(silence.Mutes(Labels, start.AddMinutes(-1)));
        Assert.False((silence with { Matchers = [new("model", "=", "card-fraud"), new("model", "=", "other")] }).Mutes(Labels, start.AddHours(1)));
        Assert.False((silence with { ExpiredAt = start.AddMinutes(30) }).Mutes(Labels, start.AddHours(1)));
    }

    [Fact]
    public void SilenceSpec_Validate_NamesEveryBadField()
    {
        var now = new DateTime(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);
        var issues = new SilenceSpec([new("model", "~", "x"), new("alertname", "=~", "(unclosed")], now, now.AddHours(-1), " ").Validate(now);
        Assert.Equal(["matchers[0]", "matchers[1]", "endsAt", "comment"], issues.Select(i => i.Field));
        Assert.Empty(new SilenceSpec([new("model", "=", "card-fraud")], now, now.AddHours(1), "deploy").Validate(now));
    }
}

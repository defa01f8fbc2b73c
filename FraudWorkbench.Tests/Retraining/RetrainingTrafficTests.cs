using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Retraining;

namespace FraudWorkbench.Tests.Retraining;

/// <summary>The windows, the label rule and the log's rows read back, without a database.</summary>
public sealed class RetrainingTrafficTests
{
    private static DateTime Utc(int month, int day, int hour = 0, int minute = 0) => new(2026, month, day, hour, minute, 0, DateTimeKind.Utc);

    [Fact]
    public void Windows_MidDay_HoldoutEndsAtTheFirstImmatureDay()
    {
        // 2026-05-31 ends 06-01 00:00, plus 14 days is 06-15 00:00, before now: mature. 06-01 ends 06-02: plus 14 days is after now.
        Assert.Equal((Utc(5, 18, 12), Utc(6, 15, 12), (DateTime?)Utc(5, 29), (DateTime?)Utc(6, 1)), RetrainingTraffic.Windows(Utc(6, 15, 12), 28, 3, 14));
    }

    [Fact]
    public void Windows_AtMidnight_TheDayEndingNowPlusTheWindowIsMature()
    {
        Assert.Equal((Utc(5, 18), Utc(6, 15), (DateTime?)Utc(5, 25), (DateTime?)Utc(6, 1)), RetrainingTraffic.Windows(Utc(6, 15), 28, 7, 14));
    }

    [Fact]
    public void Windows_HoldoutLongerThanTheMaturePart_ClippedToTheWindow()
    {
        Assert.Equal((Utc(6, 5, 12), Utc(6, 15, 12), (DateTime?)Utc(6, 5, 12), (DateTime?)Utc(6, 10)), RetrainingTraffic.Windows(Utc(6, 15, 12), 10, 7, 5));
    }

    [Fact]
    public void Windows_LabelWindowLongerThanTheTrainingWindow_NoHoldout()
    {
        Assert.Equal((Utc(5, 18, 12), Utc(6, 15, 12), (DateTime?)null, (DateTime?)null), RetrainingTraffic.Windows(Utc(6, 15, 12), 28, 7, 90));
    }

    [Theory]
    [InlineData(true, 0, TrafficLabel.Fraud)]
    [InlineData(false, 0, TrafficLabel.Legitimate)]
    [InlineData(null, 14 * 24 * 60, TrafficLabel.LegitimateByWindow)] // exactly the label window old: it has passed
    [InlineData(null, 14 * 24 * 60 - 1, TrafficLabel.Unknown)]
    public void Label_ByFeedbackElseByAge(bool? fraud, int minutesOld, TrafficLabel expected)
    {
        var now = Utc(6, 15, 12);
        Assert.Equal(expected, RetrainingTraffic.Label(fraud, now.AddMinutes(-minutesOld), now, 14));
    }

    [Fact]
    public void ParseRow_ByColumnName_ValuesAsTheContractStoresThem()
    {
        var schema = new DatasetSchema(',', [
            new DatasetColumn("transaction_id", ColumnType.Text, ColumnRole.Ignore),
            new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso),
            new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature),
            new DatasetColumn("shipping_address_new", ColumnType.Boolean, ColumnRole.Feature),
            new DatasetColumn("account_age_days", ColumnType.Integer, ColumnRole.Feature),
            new DatasetColumn("is_fraud", ColumnType.Integer, ColumnRole.Label),
        ], "1");

        var row = RetrainingTraffic.ParseRow("""
            {"amount": 12.50, "shipping_address_new": "yes", "transaction_id": 17, "not_a_column": 5, "account_age_days": null, "event_time": "2026-01-01T00:00:00Z"}
            """, schema);

        Assert.Equal(new string?[] { "17", "2026-01-01T00:00:00Z", "12.5", "true", null, null }, row.AsEnumerable());
    }
}

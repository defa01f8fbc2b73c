using System.Text.Json;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>An evaluation's change split into events that each fit the relay between instances.</summary>
public sealed class AlertsChangedTests
{
    private static int Bytes(AlertsChanged change) => PostgresEventRelay.PayloadBytes("alerts.changed", JsonSerializer.Serialize(change, EventHub.JsonOptions));

    private static AlertNotice Notice(int i, string summary) =>
        new(Guid.CreateVersion7(), $"Scoring p99 · rule {i}", $"model-{i}", AlertSeverity.Critical, summary, Guid.CreateVersion7());

    [Fact]
    public void Parts_NothingFired_OneEmptyEvent()
    {
        var parts = AlertsChanged.Parts([]);

        Assert.Empty(Assert.Single(parts).Fired);
    }

    [Fact]
    public void Parts_TwoHundredNotices_EveryPartFitsIsFullAndTogetherTheyAreTheNoticesInOrder()
    {
        // Quotes and non-ASCII are escaped twice on the way (the event's JSON inside the envelope's): sizes must count that.
        var fired = Enumerable.Range(0, 200).Select(i => Notice(i, $"Scoring latency p99 of \"model-{i}\" is {i}.5 (> 50) · ümlaut")).ToList();

        var parts = AlertsChanged.Parts(fired);

        Assert.True(parts.Count > 1);
        Assert.Equal(fired, parts.SelectMany(p => p.Fired));
        Assert.All(parts, p => Assert.True(Bytes(p) <= PostgresEventRelay.MaxPayloadBytes, $"{Bytes(p)} bytes"));
        // Packed greedily: one more notice would not have fitted in any part but the last.
        for (var i = 0; i < parts.Count - 1; i++)
            Assert.True(Bytes(new AlertsChanged([.. parts[i].Fired, parts[i + 1].Fired[0]])) > PostgresEventRelay.MaxPayloadBytes);
    }

    [Fact]
    public void Parts_NoticeTooLargeAlone_GoesWithoutItsSummary()
    {
        var huge = Notice(1, new string('é', 5000));
        var small = Notice(2, "fine");

        var parts = AlertsChanged.Parts([huge, small]);

        var all = parts.SelectMany(p => p.Fired).ToList();
        Assert.Equal([huge with { Summary = "" }, small], all);
        Assert.All(parts, p => Assert.True(Bytes(p) <= PostgresEventRelay.MaxPayloadBytes));
    }
}

using FraudWorkbench.Core.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// Prometheus's rule states, table-driven: one evaluation a minute on a fake clock; each outcome is T (condition true),
/// F (false) or U (no decision: no data or too small a sample), and each expected state after it is i (inactive),
/// p (pending), f (firing) or r (resolved).
/// </summary>
public sealed class AlertStateMachineTests
{
    [Theory]
    // for 0s: the first true reading fires at once; the first false one resolves.
    [InlineData("fires at once", 0, 0, "TTF", "ffr")]
    // for 5m: pending at 0..4 min, firing at 5 min (held for exactly 5 minutes).
    [InlineData("pending until for elapses", 5, 0, "TTTTTTT", "pppppff")]
    // A pending alert whose condition clears is over without ever firing.
    [InlineData("pending then clears", 5, 0, "TTTF", "pppr")]
    // keep firing 3m after the last true reading at 0 min: still firing at 1 and 2 min, resolved at 3 min; inactive after.
    [InlineData("keep firing for", 0, 3, "TFFFF", "fffri")]
    // Flapping with keep-firing 5m: every false reading is within 5 min of a true one, so it never resolves; then it settles.
    [InlineData("flapping held by keep firing", 0, 5, "TFTFTFFFFFF", "fffffffffri")]
    // Flapping without keep-firing: each flap is a new episode.
    [InlineData("flapping without keep firing", 0, 0, "TFTFT", "frfrf")]
    // No decision keeps a firing alert (it does not resolve because its data stopped)...
    [InlineData("unknown keeps firing", 0, 0, "TUUUUF", "fffffr")]
    // ...but ends a pending one: `for` needs the condition seen true at every evaluation (Prometheus), so a gap restarts it.
    [InlineData("unknown ends pending", 3, 0, "TUT", "prp")]
    [InlineData("true at 0 and 5 with a gap between does not fire", 3, 0, "TUUUUTTTT", "prrrrpppf")]
    [InlineData("unknown when inactive", 0, 0, "UUF", "iii")]
    // Resolved, then true again: a new episode starts pending.
    [InlineData("resolved then new episode", 2, 0, "TTTFTTT", "ppfrppf")]
    public void Step_Scenario_StatesAsInTheTable(string scenario, int forMinutes, int keepMinutes, string outcomes, string expected)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        var status = AlertStatus.Inactive;
        var states = "";
        foreach (var c in outcomes)
        {
            var outcome = c switch { 'T' => AlertOutcome.True, 'F' => AlertOutcome.False, _ => AlertOutcome.Unknown };
            status = AlertStateMachine.Step(status, outcome, time.GetUtcNow().UtcDateTime, TimeSpan.FromMinutes(forMinutes), TimeSpan.FromMinutes(keepMinutes));
            states += status.State[0];
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.True(expected == states, $"{scenario}: expected {expected}, got {states}");
    }

    [Fact]
    public void Step_PendingToFiring_KeepsActiveAtAndStampsFiredAtAndLastTrueAt()
    {
        var t0 = new DateTime(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);
        var @for = TimeSpan.FromMinutes(5);

        var pending = AlertStateMachine.Step(AlertStatus.Inactive, AlertOutcome.True, t0, @for, TimeSpan.Zero);
        var stillPending = AlertStateMachine.Step(pending, AlertOutcome.True, t0.AddMinutes(4).AddSeconds(59), @for, TimeSpan.Zero);
        var firing = AlertStateMachine.Step(stillPending, AlertOutcome.True, t0.AddMinutes(5), @for, TimeSpan.Zero);
        var held = AlertStateMachine.Step(firing, AlertOutcome.True, t0.AddMinutes(9), @for, TimeSpan.Zero);

        Assert.Equal(new AlertStatus(AlertState.Pending, t0, null, t0), pending);
        Assert.Equal(new AlertStatus(AlertState.Pending, t0, null, t0.AddMinutes(4).AddSeconds(59)), stillPending);
        Assert.Equal(new AlertStatus(AlertState.Firing, t0, t0.AddMinutes(5), t0.AddMinutes(5)), firing);
        // Firing on: the episode's start and first firing stay, the last true reading moves.
        Assert.Equal(new AlertStatus(AlertState.Firing, t0, t0.AddMinutes(5), t0.AddMinutes(9)), held);
    }

    [Fact]
    public void Step_KeepFiring_CountsFromTheLastTrueReadingNotFromFiring()
    {
        var t0 = new DateTime(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);
        var keep = TimeSpan.FromMinutes(10);
        var firing = AlertStateMachine.Step(AlertStatus.Inactive, AlertOutcome.True, t0, TimeSpan.Zero, keep);
        firing = AlertStateMachine.Step(firing, AlertOutcome.True, t0.AddMinutes(30), TimeSpan.Zero, keep);

        // 39 min: 9 min after the last true reading (30 min) → held; 40 min: 10 min → resolved. Counted from firing (0) both would resolve.
        var at39 = AlertStateMachine.Step(firing, AlertOutcome.False, t0.AddMinutes(39), TimeSpan.Zero, keep);
        var at40 = AlertStateMachine.Step(at39, AlertOutcome.False, t0.AddMinutes(40), TimeSpan.Zero, keep);

        Assert.Equal(AlertState.Firing, at39.State);
        Assert.Equal(new AlertStatus(AlertState.Resolved, t0, t0, t0.AddMinutes(30)), at40);
    }

    [Fact]
    public void Step_MinSampleBelow_IsUnknownAndKeepsTheState()
    {
        // The condition says "no decision" under the minimum sample, however far over the threshold the value is.
        var condition = new AlertCondition(AlertConditionKind.Above, 50);
        var t0 = new DateTime(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);
        var small = AlertConditions.Evaluate(condition, 20, new MetricPoint(t0, 900, 19), [], null);
        var enough = AlertConditions.Evaluate(condition, 20, new MetricPoint(t0, 900, 20), [], null);

        var firing = AlertStateMachine.Step(AlertStatus.Inactive, enough.Outcome, t0, TimeSpan.Zero, TimeSpan.Zero);
        var afterSmall = AlertStateMachine.Step(firing, small.Outcome, t0.AddMinutes(1), TimeSpan.Zero, TimeSpan.Zero);
        var inactiveAfterSmall = AlertStateMachine.Step(AlertStatus.Inactive, small.Outcome, t0, TimeSpan.Zero, TimeSpan.Zero);

        Assert.Equal(AlertOutcome.Unknown, small.Outcome);
        Assert.Equal(AlertOutcome.True, enough.Outcome);
        Assert.Same(firing, afterSmall);
        Assert.Same(AlertStatus.Inactive, inactiveAfterSmall);
    }
}

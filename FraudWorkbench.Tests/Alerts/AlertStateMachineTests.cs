using FraudWorkbench.Core.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// Prometheus's rule states, table-driven: one evaluation a minute on a fake clock; each outcome is T (condition true),
/// F (false) or U (no decision: no data or too small a sample), and each expected state after it is i (inactive),
/// p (pending), f (firing) or r (resolved). Silences and acknowledgements are not inputs here (a silence mutes what an
/// alert announces, an ack records who is on it; neither moves a state): their rows are in the stored lifecycle's table,
/// <see cref="AlertEvaluatorTests.EvaluateAsync_SilenceAndAcknowledge_ChangeWhatIsAnnouncedAndRecordedNotTheStates"/>.
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
    // keep firing 3m counted from the first false reading (1 min): still firing at 1, 2 and 3 min, resolved at 4 min; inactive after.
    [InlineData("keep firing for", 0, 3, "TFFFFF", "ffffri")]
    // keep firing as long as the interval still holds the alert through one false reading (Prometheus: it stays firing that
    // long after it clears); counted from the last true reading it would resolve at the first false one.
    [InlineData("keep firing for one interval", 0, 1, "TFF", "ffr")]
    // A true reading while held starts the count again from the next false one.
    [InlineData("true again while held restarts keep firing", 0, 2, "TFFTFFF", "ffffffr")]
    // Flapping with keep-firing 5m: no false stretch lasts 5 min, so it never resolves; then it settles 5 min after the last clear.
    [InlineData("flapping held by keep firing", 0, 5, "TFTFTFFFFFFF", "ffffffffffri")]
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
    public void Step_KeepFiring_CountsFromTheFirstFalseReadingNotFromTheLastTrueOne()
    {
        var t0 = new DateTime(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);
        var keep = TimeSpan.FromMinutes(10);
        var firing = AlertStateMachine.Step(AlertStatus.Inactive, AlertOutcome.True, t0, TimeSpan.Zero, keep);
        firing = AlertStateMachine.Step(firing, AlertOutcome.True, t0.AddMinutes(30), TimeSpan.Zero, keep);

        // First false reading at 39 min: the count starts there. 48 min: 9 min after it → held; 49 min: 10 min → resolved.
        // Counted from the last true reading (30 min) it would have resolved at 40 min, i.e. at 48.
        var at39 = AlertStateMachine.Step(firing, AlertOutcome.False, t0.AddMinutes(39), TimeSpan.Zero, keep);
        var at48 = AlertStateMachine.Step(at39, AlertOutcome.False, t0.AddMinutes(48), TimeSpan.Zero, keep);
        var at49 = AlertStateMachine.Step(at48, AlertOutcome.False, t0.AddMinutes(49), TimeSpan.Zero, keep);

        Assert.Equal(new AlertStatus(AlertState.Firing, t0, t0, t0.AddMinutes(30), t0.AddMinutes(39)), at39);
        Assert.Equal(new AlertStatus(AlertState.Firing, t0, t0, t0.AddMinutes(30), t0.AddMinutes(39)), at48);
        // The resolved alert keeps when its condition cleared.
        Assert.Equal(new AlertStatus(AlertState.Resolved, t0, t0, t0.AddMinutes(30), t0.AddMinutes(39)), at49);
        // A true reading while held clears the count.
        Assert.Null(AlertStateMachine.Step(at48, AlertOutcome.True, t0.AddMinutes(48).AddSeconds(30), TimeSpan.Zero, keep).KeepFiringSince);
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

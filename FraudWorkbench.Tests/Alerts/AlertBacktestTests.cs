using FraudWorkbench.Core.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The backtest replays a scripted series through the conditions and the state machine as the evaluator would.</summary>
public sealed class AlertBacktestTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Start = Now.AddHours(-2); // 22:00, the first of 13 ten-minute evaluations

    /// <summary>Readings from a function of time; remembers what it was asked.</summary>
    private sealed class ScriptedSource(Func<DateTime, MetricPoint> read, MetricBand? band = null) : IAlertMetricSource
    {
        public List<IReadOnlyList<DateTime>> Calls { get; } = [];

        public Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken)
        {
            Calls.Add(times);
            return Task.FromResult<IReadOnlyList<MetricPoint>>([.. times.Select(read)]);
        }

        public Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken) => Task.FromResult(band);

        public Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>(["m"]);
    }

    private static AlertBacktest Backtest(IAlertMetricSource source) => new(source, new FakeTimeProvider(Now));

    private static int Index(DateTime t) => (int)((t - Start).TotalMinutes / 10);

    // k:      0    1    2    3    4    5    6    7    8    9    10   11   12
    private static readonly double[] Flapping = [0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.9, 0.1, 0.9];

    private static AlertRuleSpec Rule(string @for, string keep, long minSample = 0) =>
        new("flag rate high", "m", new AlertMetricSpec(AlertMetricKind.FlagRate), new AlertCondition(AlertConditionKind.Above, 0.5),
            Window: "10m", MinSample: minSample, EvaluationInterval: "10m", For: @for, KeepFiringFor: keep);

    [Fact]
    public async Task RunAsync_ForAndKeepFiring_OnePeriodFromTheThirdTrueReadingUntilKeepFiringRunsOut()
    {
        // k7 has too small a sample: no decision, the alert keeps firing through it.
        var source = new ScriptedSource(t => new MetricPoint(t, Flapping[Index(t)], Index(t) == 7 ? 3 : 100));
        var result = await Backtest(source).RunAsync(Rule("20m", "10m", minSample: 10), "m", TimeSpan.FromHours(2), default);

        Assert.Equal(TimeSpan.FromMinutes(10), result.Step);
        Assert.Equal(13, result.Points.Count);
        Assert.Equal(Start, result.Points[0].At);
        Assert.Equal(Now, result.Points[^1].At);
        // By hand: pending at 22:20 (true), still pending at 22:30 (10 min < for), firing at 22:40 (20 min); kept firing at 22:50
        // (first false reading: keep-firing 10m starts), true again at 23:00, undecided at 23:10, kept at 23:20 (first false
        // reading again), resolved at 23:30 (10 min after it; counted from the last true reading it would have resolved at
        // 22:50); pending at 23:40 and dropped at 23:50 without firing; pending again at 00:00.
        string[] states =
        [
            AlertState.Inactive, AlertState.Inactive, AlertState.Pending, AlertState.Pending, AlertState.Firing, AlertState.Firing, AlertState.Firing,
            AlertState.Firing, AlertState.Firing, AlertState.Resolved, AlertState.Pending, AlertState.Resolved, AlertState.Pending,
        ];
        Assert.Equal(states, result.Points.Select(p => p.State));
        Assert.Equal(AlertOutcome.Unknown, result.Points[7].Outcome);
        Assert.Equal(AlertOutcome.True, result.Points[6].Outcome);
        Assert.All(result.Points, p => Assert.Equal((null, 0.5), (p.Lower, p.Upper)));
        Assert.Equal([new FiringPeriod(Start.AddMinutes(40), Start.AddMinutes(90))], result.Firing);
        Assert.Null(result.Message);
        Assert.Single(source.Calls); // one read for the whole range
    }

    [Fact]
    public async Task RunAsync_NoPendingNoKeep_FiresOnEveryTrueStretchAndTheLastStaysOpen()
    {
        var source = new ScriptedSource(t => new MetricPoint(t, Flapping[Index(t)], 100));
        var result = await Backtest(source).RunAsync(Rule("0s", "0s"), "m", TimeSpan.FromHours(2), default);

        Assert.Equal(
            [
                new FiringPeriod(Start.AddMinutes(20), Start.AddMinutes(50)), new FiringPeriod(Start.AddMinutes(60), Start.AddMinutes(70)),
                new FiringPeriod(Start.AddMinutes(100), Start.AddMinutes(110)), new FiringPeriod(Now, null),
            ],
            result.Firing);
    }

    [Fact]
    public async Task RunAsync_OutsideBand_ReadsTheReferenceWindowsBeforeEachPointInTheSameCall()
    {
        // A ramp: one unit per 10 minutes since 20:00. The reference of t is t − 2h and t − 1h (values v − 12 and v − 6):
        // mean v − 9, sample σ = √((3² + 3²) / 1) = √18, band at k = 1: [v − 9 − √18, v − 9 + √18].
        var origin = Start.AddHours(-2);
        var source = new ScriptedSource(t => new MetricPoint(t, (t - origin).TotalMinutes / 10, 50));
        var rule = new AlertRuleSpec("volume off", "m", new AlertMetricSpec(AlertMetricKind.Volume),
            new AlertCondition(AlertConditionKind.OutsideBand, K: 1, ReferenceWindows: 2), Window: "1h", EvaluationInterval: "10m");

        var result = await Backtest(source).RunAsync(rule, "m", TimeSpan.FromHours(2), default);

        var call = Assert.Single(source.Calls);
        Assert.Equal(origin, call[0]); // 20:00: the first point's oldest reference window
        Assert.Equal(call.Distinct().Count(), call.Count);
        var first = result.Points[0];
        Assert.Equal(12, first.Value);
        Assert.Equal(3 - Math.Sqrt(18), first.Lower!.Value, 12);
        Assert.Equal(3 + Math.Sqrt(18), first.Upper!.Value, 12);
        Assert.All(result.Points, p => Assert.Equal(AlertOutcome.True, p.Outcome));
        Assert.Equal([new FiringPeriod(Start, null)], result.Firing);
    }

    [Fact]
    public async Task RunAsync_OwnBand_JudgesAgainstTheMetricsBandNotTheReferenceSpread()
    {
        var source = new ScriptedSource(t => new MetricPoint(t, Index(t) < 6 ? 0.8 : 0.5, 1000), new MetricBand(0.7, 0.9));
        var rule = new AlertRuleSpec("recall", "m", new AlertMetricSpec(AlertMetricKind.Estimated, Metric: "recall"),
            new AlertCondition(AlertConditionKind.OutsideBand, Direction: AlertDirection.Down), Window: "1d", EvaluationInterval: "10m");

        var result = await Backtest(source).RunAsync(rule, "m", TimeSpan.FromHours(2), default);

        Assert.All(result.Points, p => Assert.Equal((0.7, (double?)null), (p.Lower!.Value, p.Upper)));
        Assert.Equal([new FiringPeriod(Start.AddMinutes(60), null)], result.Firing);
    }

    [Fact]
    public async Task RunAsync_NoReadings_SaysSoAndFiresNothing()
    {
        var source = new ScriptedSource(t => new MetricPoint(t, null, 0));
        var result = await Backtest(source).RunAsync(Rule("0s", "0s"), "ghost", TimeSpan.FromHours(2), default);

        Assert.Empty(result.Firing);
        Assert.Equal(13, result.Points.Count);
        Assert.Contains("no readings", result.Message);
        Assert.Contains("ghost", result.Message);
    }

    [Fact]
    public async Task RunAsync_SampleNeverReached_SaysTheRuleWouldNeverHaveDecided()
    {
        var source = new ScriptedSource(t => new MetricPoint(t, 0.9, 5));
        var result = await Backtest(source).RunAsync(Rule("0s", "0s", minSample: 10), "m", TimeSpan.FromHours(2), default);

        Assert.Empty(result.Firing);
        Assert.Contains("minimum sample of 10", result.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(401)]
    public async Task RunAsync_SpanOutOfRange_400NamingSpan(int days)
    {
        var error = await Assert.ThrowsAsync<AlertException>(() => Backtest(new ScriptedSource(t => new MetricPoint(t, 1, 1))).RunAsync(Rule("0s", "0s"), "m", TimeSpan.FromDays(days), default));
        Assert.Equal(400, error.Status);
        Assert.Equal("span", Assert.Single(error.Issues).Field);
    }

    [Fact]
    public async Task RunAsync_InvalidRule_400NamingTheField()
    {
        var rule = Rule("0s", "0s") with { Window = "5x" };
        var error = await Assert.ThrowsAsync<AlertException>(() => Backtest(new ScriptedSource(t => new MetricPoint(t, 1, 1))).RunAsync(rule, "m", TimeSpan.FromHours(1), default));
        Assert.Equal(400, error.Status);
        Assert.Contains(error.Issues, i => i.Field == "window");
    }

    [Theory]
    [InlineData(1, 30, 60)]        // 30 days / 720 = 1 h exactly
    [InlineData(1, 90, 180)]       // 3 h
    [InlineData(1, 365, 780)]      // 12 h 10 min, past an hour rounded up to whole hours: 13 h
    [InlineData(1, 45, 120)]       // 90 min → 2 h
    [InlineData(1, 7.0001, 15)]    // 14.0002 min, rounded up to whole minutes
    [InlineData(240, 30, 240)]     // a 4 h interval is already coarser
    [InlineData(1, 0.25, 1)]       // 6 hours at the rule's own 1 min
    public void Step_SpanOver720Points_CoarserStepInWholeMinutesOrHours(int intervalMinutes, double spanDays, int expectedMinutes)
    {
        Assert.Equal(TimeSpan.FromMinutes(expectedMinutes), AlertBacktest.Step(TimeSpan.FromMinutes(intervalMinutes), TimeSpan.FromDays(spanDays)));
        Assert.True(TimeSpan.FromDays(spanDays) / AlertBacktest.Step(TimeSpan.FromMinutes(intervalMinutes), TimeSpan.FromDays(spanDays)) <= AlertBacktest.MaxPoints);
    }

    [Fact]
    public async Task RunAsync_LongReferenceOffTheGrid_StepCoarsenedUntilTheReadingsFit()
    {
        // 61-minute windows with 365 reference windows each, at a 10-minute interval over 2 days: 289 points × 366 readings
        // (on a minute grid: ~24,000 distinct); the step doubles until the readings fit.
        var source = new ScriptedSource(t => new MetricPoint(t, 1, 1));
        var rule = new AlertRuleSpec("volume", "m", new AlertMetricSpec(AlertMetricKind.Volume),
            new AlertCondition(AlertConditionKind.RelativeChange, 0.5, ReferenceWindows: 365), Window: "61m", EvaluationInterval: "10m");

        var result = await Backtest(source).RunAsync(rule, "m", TimeSpan.FromDays(2), default);

        var call = Assert.Single(source.Calls);
        Assert.True(call.Count <= AlertBacktest.MaxReadings, $"{call.Count}");
        Assert.True(result.Step > TimeSpan.FromMinutes(10) && 10 * 1024 % (int)result.Step.TotalMinutes == 0, $"{result.Step}"); // 10 min doubled
        Assert.True(result.Points.Count >= 3);
        Assert.All(result.Points, p => Assert.Equal(AlertOutcome.False, p.Outcome)); // a constant series never changes
    }

    [Fact]
    public void Grid_UnalignedEnds_TimesOnWholeStepsInside()
    {
        var from = new DateTime(2026, 3, 1, 10, 7, 0, DateTimeKind.Utc);
        var grid = AlertBacktest.Grid(from, new DateTime(2026, 3, 1, 13, 0, 0, DateTimeKind.Utc), TimeSpan.FromHours(1));
        Assert.Equal([from.AddMinutes(53), from.AddMinutes(113), from.AddMinutes(173)], grid);
        Assert.All(grid, t => Assert.Equal(DateTimeKind.Utc, t.Kind));
    }
}

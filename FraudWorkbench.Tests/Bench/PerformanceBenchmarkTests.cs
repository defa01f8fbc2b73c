using FraudWorkbench.Bench;
using FraudWorkbench.Core.Performance;

namespace FraudWorkbench.Tests.Bench;

public sealed class PerformanceBenchmarkTests
{
    [Fact]
    public async Task RunAsync_SmallRun_PrintsBothTimesTheRatioAndAgreesWithSklearn()
    {
        var output = new StringWriter();

        // 100,000 rows a day: enough fraud labels a day for average precision on the bins to stay near the exact scores'.
        var exit = await PerformanceBenchmark.RunAsync(new PerformanceBenchmark.Options(300_000, 30_000, 3, 2, 17), output, CancellationToken.None);

        var text = output.ToString();
        Assert.Equal(0, exit);
        Assert.Contains("data: 300,000 predictions over 3 days", text);
        Assert.Matches(@"PerformanceService\.ReportAsync, 3 daily cohorts .*: p50 \d+\.\d ms, p95 \d+\.\d ms of 2 calls", text);
        Assert.Matches(@"GET [^\n]*performance[^\n]*(: 404, |MET|MISSED)", text);
        Assert.Matches(@"sklearn 1\.\d+\.\d+, numpy 1\.\d+\.\d+: load \d+\.\d{3} s .*, realized metrics of 3 daily cohorts \d+\.\d{3} s", text);
        Assert.Matches(@"ratio \(ours p50 .* / sklearn metrics\): \d+\.\d{3}x", text);
        Assert.Matches(@"rocAuc on bins \d\.\de-\d\d", text);
        Assert.Contains("confusion counts equal in 3 of 3: AGREE", text);
    }

    [Fact]
    public async Task RunAsync_NoDays_RefusedWithExitCode2()
    {
        var exit = await PerformanceBenchmark.RunAsync(new PerformanceBenchmark.Options(10, 1, 0, 1, 17), new StringWriter(), CancellationToken.None);

        Assert.Equal(2, exit);
    }

    /// <summary>
    /// Five predictions at 0.9, 0.8, 0.3, 0.2, 0.1 (fraud: the first and the third), threshold 0.5, amounts 100, 50, 20, 10, 5,
    /// every score in a bin of its own. By hand: TP 1, FP 1, FN 1, TN 2; ROC-AUC = 5 of 6 pairs ordered = 0.8333;
    /// average precision = (1 + 2/3) / 2 = 0.8333; fraud caught 100, missed 20.
    /// </summary>
    private static readonly PerformanceBenchmark.SklearnCohort HandWorked = new(0, 5, 1, 1, 1, 2, 5 / 6.0, 5 / 6.0, 100, 20, 5 / 6.0, 5 / 6.0);

    private static CohortPerformance FiveRows()
    {
        var counts = PerformanceCounts.FromLabelled([0.9, 0.8, 0.3, 0.2, 0.1], [true, false, true, false, false], 0.5, [100, 50, 20, 10, 5]);
        var day = new DateOnly(2026, 11, 2);
        return new CohortPerformance(day, day.AddDays(1), false, 1, true, true,
            PerformanceCalculator.Realized(counts, 0, hasAmount: true), PerformanceCalculator.Estimated(counts, null, 0, hasAmount: true), []);
    }

    [Fact]
    public void Compare_HandWorkedCohort_AgreesToRounding()
    {
        var agreement = PerformanceBenchmark.Compare([FiveRows()], [HandWorked]);

        Assert.True(agreement.Agree);
        Assert.Equal(1, agreement.ConfusionsEqual);
        Assert.All(agreement.Largest.Values, v => Assert.True(v.Difference <= 1e-12, $"{v.Difference}"));
    }

    [Fact]
    public void Compare_ExactScoresAveragePrecisionWithinTheBinsCost_Agrees()
    {
        var agreement = PerformanceBenchmark.Compare([FiveRows()], [HandWorked with { AveragePrecision = 5 / 6.0 + 0.004 }]);

        Assert.True(agreement.Agree);
        Assert.Equal(0.004, agreement.Largest[PerformanceMetric.AveragePrecision].Difference, 9);
    }

    public static TheoryData<string> Faults => ["ap", "ap-bins", "auc", "fp", "missed", "undefined", "cohorts"];

    [Theory]
    [MemberData(nameof(Faults))]
    public void Compare_OneFigureOff_Disagrees(string fault)
    {
        var reference = fault switch
        {
            "ap" => HandWorked with { AveragePrecision = 5 / 6.0 + 0.006 },
            "ap-bins" => HandWorked with { AveragePrecisionBins = 5 / 6.0 + 1e-6 }, // the same bins leave no room
            "auc" => HandWorked with { RocAuc = 5 / 6.0 - 0.002 },
            "fp" => HandWorked with { FalsePositives = 2, TrueNegatives = 1 },
            "missed" => HandWorked with { FraudMissed = 20.01 },
            "undefined" => HandWorked with { RocAuc = double.NaN },
            _ => HandWorked,
        };
        IReadOnlyList<PerformanceBenchmark.SklearnCohort> days = fault == "cohorts" ? [HandWorked, HandWorked with { Day = 1 }] : [reference];

        var agreement = PerformanceBenchmark.Compare([FiveRows()], days);

        Assert.False(agreement.Agree);
        Assert.Contains("DISAGREE", agreement.Describe([FiveRows()]));
    }

    private static PerformanceData.Plan Plan(long predictions = 90_000, long labels = 18_000) =>
        new(predictions, labels, 90, new DateOnly(2026, 6, 1), new DateTime(2026, 8, 30, 0, 0, 0, DateTimeKind.Utc), 0.4, 17); // now = the end of the last day

    [Fact]
    public void Day_SameSeed_SameRows()
    {
        var plan = Plan();

        var first = PerformanceData.Day(plan, 5, 0.1).ToList();
        var again = PerformanceData.Day(plan, 5, 0.1).ToList();
        var otherSeed = PerformanceData.Day(plan with { Seed = 18 }, 5, 0.1).ToList();

        Assert.Equal(1_000, first.Count);
        Assert.Equal(first, again);
        Assert.NotEqual(first.Select(r => r.Probability), otherSeed.Select(r => r.Probability));
    }

    [Fact]
    public async Task RunAsync_NinetyDays_CountsEveryRowExportsItAndMeetsTheLabelTarget()
    {
        var plan = Plan();
        var export = new MemoryStream();
        var days = new List<PerformanceData.DayCounts>();

        var totals = await PerformanceData.RunAsync(plan, export, day => { days.Add(day); return Task.CompletedTask; });

        Assert.Equal(90, days.Count);
        Assert.Equal(90_000, totals.Predictions);
        Assert.Equal(90_000, days.Sum(d => d.Predictions.Rows));
        Assert.Equal(totals.Labels, days.Sum(d => d.Labels.Labelled));
        Assert.Equal(totals.FraudLabels, days.Sum(d => d.Labels.FraudLabels));
        Assert.Equal(90_000L * PerformanceData.RecordBytes, export.Length);
        // The confirmations are chosen for 18,000 labels in expectation; the draws leave a few hundred either way.
        Assert.InRange(totals.Labels, 17_400, 18_600);
        // Calibrated by construction: fraud in truth within 3 σ of Σ p.
        double sumP = days.Sum(d => d.Predictions.SumP), sumPq = days.Sum(d => d.Predictions.SumPq);
        Assert.InRange(totals.Fraud, sumP - 3 * Math.Sqrt(sumPq), sumP + 3 * Math.Sqrt(sumPq));
        // The first record as numpy reads it: day 0, then label, decision, probability, amount.
        var first = PerformanceData.Day(plan, 0, totals.ConfirmShare).First();
        var bytes = export.ToArray();
        Assert.Equal(0, BitConverter.ToInt16(bytes, 0));
        Assert.Equal(first.Label switch { null => -1, true => 1, false => 0 }, (sbyte)bytes[2]);
        Assert.Equal(first.Decision ? 1 : 0, bytes[3]);
        Assert.Equal(first.Probability, BitConverter.ToDouble(bytes, 4));
        Assert.Equal(first.Amount, BitConverter.ToDouble(bytes, 12));
    }

    [Fact]
    public void Day_Labels_OnlyThoseArrivedByNowAndOnlyTheTruth()
    {
        var plan = Plan();
        var rows = Enumerable.Range(0, plan.Days).SelectMany(d => PerformanceData.Day(plan, d, 0.2)).ToList();

        Assert.All(rows.Where(r => r.Label is not null), r =>
        {
            Assert.Equal(r.Fraud, r.Label);
            Assert.True(r.At.AddDays(r.DelayDays) <= plan.Now);
            Assert.InRange(r.DelayDays, 0, 120);
        });
        // Flagged rows are reviewed within a week: on days more than a week old, about 90 % or more of them are labelled.
        var oldFlagged = rows.Where(r => r.Decision && r.At < plan.Now.AddDays(-8)).ToList();
        Assert.InRange(oldFlagged.Count(r => r.Label is not null) / (double)oldFlagged.Count, 0.85, 0.97);
        // The newest day's missed fraud has had no time for chargebacks (at least 3 days), while its flagged rows are being reviewed.
        var newest = rows.Where(r => r.Day == plan.Days - 1).ToList();
        Assert.Contains(newest, r => r.Fraud && !r.Decision);
        Assert.DoesNotContain(newest.Where(r => r.Fraud && !r.Decision), r => r.Label is not null);
    }
}

using FraudWorkbench.Bench;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Tests.Bench;

/// <summary>
/// <c>bench fairness</c>: no PostgreSQL and no browser (so no category: it runs with the fast tests); the end-to-end run
/// needs /usr/bin/python3 with pandas (Debian's python3-pandas), as the other benches' references do.
/// </summary>
public sealed class FairnessBenchmarkTests
{
    [Fact]
    public async Task RunAsync_SmallRun_PrintsBothTimesTheRatioTheTargetAndAgreesWithPandas()
    {
        var output = new StringWriter();

        var exit = await FairnessBenchmark.RunAsync(new FairnessBenchmark.Options(20_000, 50, 18), output, CancellationToken.None);

        var text = output.ToString();
        Assert.Equal(0, exit);
        Assert.Contains("data: 20,000 holdout rows (seed 18)", text);
        Assert.Matches(@"ours, point metrics only \(Resamples 0\): \d+\.\d{3} s, best of 3 .*sex \(3 groups\) .*age \(8 groups\) .*sex × age \(\d+ groups\)", text);
        Assert.Matches(@"ours, with 50 bootstrap resamples .*: \d+\.\d{3} s, one run", text);
        Assert.Matches(@"target: .* <= 2 s: \d+\.\d{3} s (MET|MISSED)", text);
        Assert.Matches(@"pandas \d+\.\d+\.\d+, numpy \d+\.\d+\.\d+: load \d+\.\d{3} s .*, point metrics \d+\.\d{3} s", text);
        Assert.Matches(@"ratio \(ours / pandas metrics\): with 50 resamples \d+\.\d{3}x, point metrics only \d+\.\d{3}x", text);
        // sex: 3 groups + overall; age: 8 bands with missing + overall; sex × age: up to 3 × 8 + overall.
        Assert.Matches(@"counts equal in (\d+) of \1: AGREE", text);
        // The planted disparity is found: 18–24 flagged most, the age bands under the four-fifths rule.
        Assert.Matches(@"  age: demographic parity ratio 0\.\d{3} \[[^\]]+\] \(lowest [^,]+, highest 18–24, under four-fifths\)", text);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(10, -1)]
    public async Task RunAsync_BadOptions_RefusedWithExitCode2(int rows, int resamples)
    {
        var exit = await FairnessBenchmark.RunAsync(new FairnessBenchmark.Options(rows, resamples, 18), new StringWriter(), CancellationToken.None);

        Assert.Equal(2, exit);
    }

    [Fact]
    public void Generate_SameSeed_SameRows()
    {
        var first = FairnessData.Generate(5_000, 18);
        var again = FairnessData.Generate(5_000, 18);
        var other = FairnessData.Generate(5_000, 19);

        Assert.Equal(first.Sex, again.Sex);
        Assert.Equal(first.Age, again.Age);
        Assert.Equal(first.Labels, again.Labels);
        Assert.Equal(first.Scores, again.Scores);
        Assert.NotEqual(first.Scores, other.Scores);
    }

    [Fact]
    public void Generate_PlantedDisparity_SameFraudRateMoreFlaggedAt18To24()
    {
        var holdout = FairnessData.Generate(200_000, 18);
        var rows = Enumerable.Range(0, holdout.Rows).ToList();
        var young = rows.Where(r => holdout.Age[r] is >= 18 and < 25).ToList();
        var rest = rows.Where(r => holdout.Age[r] is >= 25).ToList();
        double Share(List<int> of, Func<int, bool> what) => of.Count(what) / (double)of.Count;

        Assert.InRange(Share(rows, r => holdout.Sex[r] < 0), 0.008, 0.012);
        Assert.InRange(Share(rows, r => double.IsNaN(holdout.Age[r])), 0.002, 0.004);
        Assert.Contains(rows, r => holdout.Age[r] < 18);
        Assert.InRange(Share(young, r => holdout.Labels[r]), 0.017, 0.023);
        Assert.InRange(Share(rest, r => holdout.Labels[r]), 0.017, 0.023);
        Assert.True(Share(young, r => holdout.Scores[r] >= FairnessData.Threshold) > 1.8 * Share(rest, r => holdout.Scores[r] >= FairnessData.Threshold));
    }

    [Fact]
    public void Export_FirstRecord_AsNumpyReadsIt()
    {
        var holdout = FairnessData.Generate(100, 18);
        var stream = new MemoryStream();

        FairnessData.Export(holdout, stream);

        var bytes = stream.ToArray();
        Assert.Equal(100 * FairnessData.RecordBytes, bytes.Length);
        var r = Enumerable.Range(0, 100).First(i => holdout.Sex[i] == 1 && holdout.Labels[i]);
        var at = r * FairnessData.RecordBytes;
        Assert.Equal(1, (sbyte)bytes[at]);
        Assert.Equal(1, (sbyte)bytes[at + 1]);
        Assert.Equal(holdout.Age[r], BitConverter.ToDouble(bytes, at + 2));
        Assert.Equal(holdout.Scores[r], BitConverter.ToDouble(bytes, at + 10));
    }

    [Fact]
    public void Evaluate_TimedBySteps_SameAsFairnessAnalysis()
    {
        var holdout = FairnessData.Generate(5_000, 18);
        var cells = holdout.Cells();
        var settings = new FairnessSettings(Resamples: 20);

        var timed = FairnessBenchmark.Evaluate(cells, holdout.Labels, holdout.Scores, FairnessData.Threshold, settings);
        var analysis = FairnessAnalysis.Evaluate(FairnessData.Schema, cells, holdout.Labels, holdout.Scores, FairnessData.Threshold, settings).Groupings;

        Assert.Equal(3, timed.EvaluateSeconds.Count);
        Assert.Equal(analysis.Select(g => g.Name), timed.Results.Select(g => g.Name));
        Assert.Equal(["sex", "age", "sex × age"], timed.Results.Select(g => g.Name));
        for (var i = 0; i < analysis.Count; i++)
        {
            Assert.Equal(analysis[i].Groups.Select(g => (g.Group, g.Count)), timed.Results[i].Groups.Select(g => (g.Group, g.Count)));
            Assert.Equal(analysis[i].Disparities, timed.Results[i].Disparities);
        }
    }

    /// <summary>The pandas rows computed here by plain counting from the same data: what the script must write.</summary>
    private static (List<GroupingFairness> Ours, List<FairnessBenchmark.PandasGroup> Reference) OursAndCounted()
    {
        var holdout = FairnessData.Generate(3_000, 18);
        var ours = FairnessBenchmark.Evaluate(holdout.Cells(), holdout.Labels, holdout.Scores, FairnessData.Threshold, new FairnessSettings(Resamples: 0)).Results.ToList();
        var bands = FairnessGroups.BandLabels(Core.Data.SchemaInference.DefaultAgeBands);
        string Sex(int r) => holdout.Sex[r] < 0 ? FairnessGroups.Missing : FairnessData.Sexes[holdout.Sex[r]];
        string Age(int r) => double.IsNaN(holdout.Age[r]) ? FairnessGroups.Missing : FairnessGroups.Band(holdout.Age[r], Core.Data.SchemaInference.DefaultAgeBands);
        var rows = Enumerable.Range(0, holdout.Rows).ToList();
        var reference = new List<FairnessBenchmark.PandasGroup>();
        foreach (var (name, key) in new (string, Func<int, string>)[] { ("sex", Sex), ("age", Age), ("sex × age", r => Sex(r) + FairnessGroups.Separator + Age(r)) })
        {
            foreach (var group in rows.GroupBy(key).Prepend(rows.GroupBy(_ => "overall").Single()))
            {
                double n = group.Count(), pos = group.Count(r => holdout.Labels[r]), flagged = group.Count(r => holdout.Scores[r] >= FairnessData.Threshold);
                double tp = group.Count(r => holdout.Labels[r] && holdout.Scores[r] >= FairnessData.Threshold), fp = flagged - tp;
                static double Div(double a, double b) => b > 0 ? a / b : double.NaN;
                reference.Add(new(name, group.Key, (long)n,
                    [flagged / n, Div(tp, pos), Div(fp, n - pos), Div(pos - tp, pos), Div(tp, flagged), pos / n, group.Average(r => holdout.Scores[r])]));
            }
        }

        Assert.Contains(reference, g => g.Group == "<18");
        Assert.Contains(bands, b => b == "18–24");
        return (ours, reference);
    }

    [Fact]
    public void Compare_CountedByHand_Agrees()
    {
        var (ours, reference) = OursAndCounted();

        var agreement = FairnessBenchmark.Compare(ours, reference);

        Assert.True(agreement.Agree, agreement.Describe());
        Assert.Equal(reference.Count, agreement.Groups);
        Assert.Contains(": AGREE", agreement.Describe());
        // An undefined metric (a small crossed group without fraud) is NaN there and null here: agreeing.
        Assert.Contains(reference, g => double.IsNaN(g.Metrics[1]));
    }

    public static TheoryData<string> Faults => ["rate", "count", "undefined", "extra group", "missing group", "mean score"];

    [Theory]
    [MemberData(nameof(Faults))]
    public void Compare_OneFigureOff_Disagrees(string fault)
    {
        var (ours, reference) = OursAndCounted();
        var i = reference.FindIndex(g => g.Grouping == "age" && g.Group == "18–24");
        var row = reference[i];
        double[] metrics = [.. row.Metrics];
        switch (fault)
        {
            case "rate": metrics[2] += 2e-9; break;
            case "mean score": metrics[6] -= 2e-9; break;
            case "undefined": metrics[4] = double.NaN; break;
        }

        reference[i] = row with { Count = fault == "count" ? row.Count + 1 : row.Count, Metrics = metrics };
        if (fault == "extra group") reference.Add(row with { Group = "(other)" });
        if (fault == "missing group") reference.RemoveAt(i);

        var agreement = FairnessBenchmark.Compare(ours, reference);

        Assert.False(agreement.Agree);
        Assert.Contains("DISAGREE", agreement.Describe());
    }
}

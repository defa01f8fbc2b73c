using FraudWorkbench.Bench;

namespace FraudWorkbench.Tests.Bench;

public sealed class DriftBenchmarkTests
{
    [Fact]
    public async Task RunRawAsync_SmallSamples_PrintsBothTimesTheRatioAndAgreesWithScipy()
    {
        var output = new StringWriter();

        // 12,000 reference rows: beyond 10,000 a side, so the p-values come from the large-sample path on both sides.
        await DriftBenchmark.RunRawAsync(12_000, 3_000, runs: 1, output, CancellationToken.None);

        var text = output.ToString();
        Assert.Contains("reference month A 12,000 rows, current month B 3,000 rows", text);
        Assert.Matches(@"fraudworkbench .*: best \d+\.\d{3} s of 1", text);
        Assert.Matches(@"scipy 1\.\d+\.\d+ .*: best \d+\.\d{3} s of 1", text);
        Assert.Matches(@"ratio \(ours / scipy\): \d+\.\d{3}x \(target <= 0\.25x\) (MET|MISSED)", text);
        foreach (var column in DriftBenchmark.NumericColumns.Concat(DriftBenchmark.CategoricalColumns)) Assert.Contains($"  {column} ", text);
        Assert.Contains(") AGREE", text);
    }

    [Fact]
    public void Compute_IdenticalSamples_EveryColumnTestedWithNoGap()
    {
        var reference = new DriftBenchmark.Sample(4, [[1, 2, 3, 4], [10, 20, 30, 40], [20, 30, 40, 50]],
            [["a", "a", "b", "b"], ["card", "card", "wallet", null], ["mobile", "mobile", "mobile", "desktop"], ["DE", "DE", "FR", "FR"], ["DE", "DE", "FR", "FR"], ["true", "false", "false", "false"], ["F", "M", "F", "M"], ["gmail.com", "gmail.com", "web.de", "web.de"]]);

        var results = DriftBenchmark.Compute(reference, reference);

        Assert.Equal(11, results.Count);
        Assert.All(results.Where(r => r.Test == "ks"), r => Assert.Equal((0.0, 1.0), (r.Statistic, r.PValue)));
        Assert.All(results.Where(r => r.Test == "chisquare"), r => Assert.Equal(0.0, r.Statistic, 12));
    }

    [Fact]
    public async Task RunAsync_UnknownPart_RefusedWithExitCode2()
    {
        var exit = await DriftBenchmark.RunAsync(new DriftBenchmark.Options(10, 10, 1, 10, 1, 1, 1, [1], ["raw", "bogus"]), new StringWriter(), CancellationToken.None);

        Assert.Equal(2, exit);
    }
}

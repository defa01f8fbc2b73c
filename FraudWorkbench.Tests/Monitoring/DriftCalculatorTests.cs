using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

/// <summary>
/// The aggregated path (a reference kept at fit time, a window's values counted into its bins) against the raw path
/// (the same statistics on the raw values): equal for the binned tests, within the documented bound for Wasserstein and KS.
/// </summary>
public sealed class DriftCalculatorTests
{
    private static MonitoredColumn Column(string type, IEnumerable<string?> reference) =>
        new("c", ColumnKind.Input, 0, ColumnReferenceBuilder.Build(new DatasetColumn("c", type, ColumnRole.Feature), true, reference));

    private static ColumnCounts Count(MonitoredColumn column, IEnumerable<string?> values)
    {
        var index = column.Reference.Categories?.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal);
        var counts = new ColumnCounts(column.Reference.BinCount);
        foreach (var v in values) counts.Add(column.Reference, v, index);
        return counts;
    }

    private static double[] LogNormal(int n, double scale, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => scale * Math.Exp(0.9 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()) + 3.5))];
    }

    private static string F(double x) => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Drift_CategoriesWithAnUnseenValue_EqualTheRawStatistics()
    {
        string?[] reference = [.. Enumerable.Repeat("card", 530), .. Enumerable.Repeat("wallet", 230), .. Enumerable.Repeat("bnpl", 130), .. Enumerable.Repeat("bank", 110), null, "?"];
        string?[] current = [.. Enumerable.Repeat("card", 210), .. Enumerable.Repeat("wallet", 190), .. Enumerable.Repeat("bnpl", 40), .. Enumerable.Repeat("crypto", 60), null];
        var column = Column(ColumnType.Categorical, reference);
        var counts = Count(column, current);
        var (r, c) = DriftBinning.Categorical(reference.OfType<string>().Where(v => v != "?"), current.OfType<string>());

        Assert.Equal(DriftStatistics.JensenShannon(r, c), DriftCalculator.Drift(column, counts, new(DriftMethod.JensenShannon)).Value!.Value, 12);
        Assert.Equal(DriftStatistics.Psi(r, c), DriftCalculator.Drift(column, counts, new(DriftMethod.Psi)).Value!.Value, 12);
        Assert.Equal(DriftStatistics.ChiSquare(r, c).PValue!.Value, DriftCalculator.Drift(column, counts, new(DriftMethod.ChiSquare)).Value!.Value, 12);
        Assert.Equal(DriftStatistics.Hellinger(r, c), DriftCalculator.Drift(column, counts, new(DriftMethod.Hellinger)).Value!.Value, 12);
        var drift = DriftCalculator.Drift(column, counts, new());
        Assert.Equal(DriftMethod.JensenShannon, drift.Method); // 1,002 reference rows (missing ones count): past Evidently's 1,000, a distance
        Assert.Equal((60, 1L, 2L), (drift.Unseen, drift.Missing, column.Reference.Missing)); // "crypto" ×60; one null now; null and "?" in the reference
    }

    [Fact]
    public void Drift_NumbersInDecileBins_PsiEqualsTheRawComputationOnTheSameBins()
    {
        var reference = LogNormal(20_000, 1, 1);
        var current = LogNormal(5_000, 1.15, 2);
        var column = Column(ColumnType.Decimal, reference.Select(F));
        var edges = column.Reference.PsiEdges!.ToArray();
        long[] Bin(double[] values)
        {
            var counts = new long[edges.Length + 1];
            foreach (var x in values) counts[edges.Count(e => e < x)]++; // (e_i-1, e_i], as the reference cut them
            return counts;
        }

        Assert.Equal(9, edges.Length);
        Assert.Equal(DriftStatistics.Psi(Bin(reference), Bin(current)), DriftCalculator.Drift(column, Count(column, current.Select(F)), new(DriftMethod.Psi)).Value!.Value, 12);
    }

    [Fact]
    public void Wasserstein_HeavyTailedShift_WithinTwoTenthsOfAPercentOfScipysDefinition()
    {
        var reference = LogNormal(40_000, 1, 3);
        var current = LogNormal(4_000, 1.15, 4);
        var column = Column(ColumnType.Decimal, reference.Select(F));
        var aggregated = DriftCalculator.Drift(column, Count(column, current.Select(F)), new()).Value!.Value;
        var raw = DriftStatistics.NormedWasserstein(reference, current);

        Assert.Equal(DriftMethod.Wasserstein, DriftCalculator.Drift(column, Count(column, current.Select(F)), new()).Method);
        // Where the two CDFs cross inside a bin the bin is taken as evenly spread: with 4,000 random values that costs about 0.1 %.
        Assert.True(Math.Abs(aggregated - raw) < 0.002 * raw, $"aggregated {aggregated} vs raw {raw}");
        Assert.True(raw > 0.1, "a 15 % scale change drifts");
    }

    [Fact]
    public void KsStatistic_FromBins_WithinTheLargestBinShareOfTheRawStatistic()
    {
        var reference = LogNormal(30_000, 1, 5);
        var current = LogNormal(3_000, 1.05, 6);
        var column = Column(ColumnType.Decimal, reference.Select(F));
        var binned = DriftCalculator.KsStatistic(column.Reference, Count(column, current.Select(F)));
        var raw = DriftStatistics.KolmogorovSmirnov(reference, current).Statistic;

        // D at the bin edges never exceeds the true D, and misses it by at most the mass of one bin (half a percent of the reference, plus the current's share of it).
        Assert.True(binned <= raw + 1e-12 && raw - binned < 0.012, $"binned {binned} vs raw {raw}");
    }

    [Fact]
    public void Drift_FewValuedNumbers_CountedPerValueAndExact()
    {
        var reference = Enumerable.Range(0, 3_000).Select(i => F(18 + i % 60)).ToArray();
        var current = Enumerable.Range(0, 800).Select(i => F(20 + i % 50)).Append("95").ToArray(); // 95: a new value, and over the maximum
        var column = Column(ColumnType.Integer, reference);
        var counts = Count(column, current);
        var drift = DriftCalculator.Drift(column, counts, new());

        Assert.True(column.Reference.ByValue);
        Assert.Equal(DriftMethod.Wasserstein, drift.Method);
        Assert.Equal(DriftStatistics.NormedWasserstein([.. reference.Select(double.Parse)], [.. current.Select(double.Parse)]), drift.Value!.Value, 12);
        Assert.Equal((1L, 1L), (counts.Above, drift.Unseen));
    }

    [Fact]
    public void Drift_SmallReferenceWithARawSample_ExactKs()
    {
        var reference = LogNormal(600, 1, 7);
        var current = LogNormal(400, 1.3, 8);
        var column = Column(ColumnType.Decimal, reference.Select(F));
        var drift = DriftCalculator.Drift(column, Count(column, current.Select(F)), new(), current);

        Assert.Equal(DriftMethod.KolmogorovSmirnov, drift.Method); // Evidently's choice for references up to 1,000 rows
        Assert.Equal(DriftStatistics.KolmogorovSmirnov(reference, current).PValue!.Value, drift.Value!.Value, 12);
    }

    [Fact]
    public void Drift_EmptyOrConstantSides_ClearStatesInsteadOfErrors()
    {
        var allMissing = Column(ColumnType.Categorical, Enumerable.Repeat<string?>(null, 50));
        Assert.Equal(DriftStatus.NotTestable, DriftCalculator.Drift(allMissing, Count(allMissing, ["a", "b"]), new()).Status);

        var constant = Column(ColumnType.Categorical, Enumerable.Repeat<string?>("EUR", 50));
        Assert.Equal(DriftStatus.NotTestable, DriftCalculator.Drift(constant, Count(constant, ["EUR", "EUR"]), new()).Status);
        var moved = DriftCalculator.Drift(constant, Count(constant, ["EUR", "USD", "USD"]), new());
        Assert.Equal((DriftStatus.Tested, DriftMethod.ProportionZ, true), (moved.Status, moved.Method, moved.Drifted));

        var numbers = Column(ColumnType.Decimal, Enumerable.Range(0, 200).Select(i => F(i * 1.5)));
        var nothing = DriftCalculator.Drift(numbers, Count(numbers, [null, "?", null]), new());
        Assert.Equal((DriftStatus.NoData, 3L, (double?)null), (nothing.Status, nothing.Missing, nothing.Value));
    }

    [Fact]
    public void Quality_MissingRiseUnseenAndOutOfRange_Reported()
    {
        var column = Column(ColumnType.Categorical, [.. Enumerable.Repeat("DE", 900), .. Enumerable.Repeat<string?>(null, 100)]);
        var quality = DriftCalculator.Quality(column, Count(column, [.. Enumerable.Repeat("DE", 150), .. Enumerable.Repeat<string?>(null, 40), .. Enumerable.Repeat("PT", 10)]));

        Assert.Equal(0.1, quality.ReferenceMissingShare, 12);
        Assert.Equal(0.2, quality.MissingShare!.Value, 12); // 40 of 200: ten points over the reference, far past three standard errors
        Assert.True(quality.MissingRise);
        Assert.Equal([new ValueCount("PT", 10)], quality.UnseenValues);
    }
}

using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

/// <summary>
/// Expected values were computed with Debian's python3-scipy 1.10.1 on the same inputs:
/// Evidently's shares (counts / total, an empty bin 1e-4) for PSI and JS, then
/// <c>np.sum((r - c) * np.log(r / c))</c>, <c>scipy.spatial.distance.jensenshannon(r, c)</c>,
/// <c>scipy.stats.chi2_contingency</c>, <c>scipy.stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)</c>,
/// <c>2 * norm.sf(|z|)</c> and <c>scipy.special.gammaincc</c> / <c>erfc</c>.
/// </summary>
public sealed class DriftStatisticsTests
{
    // Three categories seen in training and one new in production (reference count 0).
    private static readonly long[] Reference = [700, 200, 100, 0];
    private static readonly long[] Current = [500, 300, 150, 50];

    [Fact]
    public void Psi_ShiftWithAnUnseenCategory_MatchesTheDefinitionWithEmptyBinSmoothing()
    {
        Assert.Equal(0.43822315765173453, DriftStatistics.Psi(Reference, Current), 12);
        Assert.Equal(0, DriftStatistics.Psi(Reference, Reference), 12);
    }

    [Fact]
    public void Psi_TwoBinsByHand_QuarterOfLnThree()
    {
        // Shares 0.5 / 0.5 against 0.25 / 0.75: (0.5 − 0.25) ln(0.5 / 0.25) + (0.5 − 0.75) ln(0.5 / 0.75)
        // = 0.25 ln 2 + 0.25 ln 1.5 = 0.25 ln 3 = 0.274653; the same with the sides swapped.
        Assert.Equal(Math.Log(3) / 4, DriftStatistics.Psi([50, 50], [25, 75]), 12);
        Assert.Equal(Math.Log(3) / 4, DriftStatistics.Psi([250, 750], [2, 2]), 12);
    }

    [Fact]
    public void JensenShannon_ShiftWithAnUnseenCategory_MatchesScipy()
    {
        Assert.Equal(0.18144890107687603, DriftStatistics.JensenShannon(Reference, Current), 12);
        Assert.Equal(0, DriftStatistics.JensenShannon([5, 5], [50, 50]), 12); // the same shares at any size
    }

    [Fact]
    public void Hellinger_ShiftWithAnUnseenCategory_MatchesTheDefinition()
    {
        Assert.Equal(0.20240691755115897, DriftStatistics.Hellinger(Reference, Current), 12);
        Assert.Equal(1, DriftStatistics.Hellinger([10, 0], [0, 10]), 12); // disjoint supports: the maximum
    }

    [Fact]
    public void ChiSquare_TwoByFour_MatchesScipyContingency()
    {
        var result = DriftStatistics.ChiSquare(Reference, Current);

        Assert.Equal(113.33333333333334, result.Statistic, 9);
        Assert.Equal(3, result.DegreesOfFreedom);
        Assert.Equal(2.103201037835695e-24, result.PValue!.Value, new RelativeComparer(1e-9));
    }

    [Fact]
    public void ChiSquare_TwoByTwo_YatesCorrectedAsScipy()
    {
        var result = DriftStatistics.ChiSquare([30, 70], [45, 55]);

        Assert.Equal(4.181333333333333, result.Statistic, 12);
        Assert.Equal(0.04087153408900628, result.PValue!.Value, 12);
        Assert.Equal(1, result.DegreesOfFreedom);
    }

    [Fact]
    public void ChiSquare_SingleCategoryOrEmptySide_NotTestableIsNoDrift()
    {
        Assert.Equal(new TestResult(0, 1, 0), DriftStatistics.ChiSquare([100, 0], [80, 0]));
        Assert.Equal(1, DriftStatistics.ChiSquare([10, 20], [0, 0]).PValue);
    }

    [Fact]
    public void ProportionZ_FraudShareMoved_MatchesThePooledTwoSidedTest()
    {
        var result = DriftStatistics.ProportionZ(50, 1000, 64, 800);

        Assert.Equal(-2.5966970822622732, result.Statistic, 12);
        Assert.Equal(0.009412489117049802, result.PValue!.Value, 12);
        Assert.Equal(new TestResult(0, 1), DriftStatistics.ProportionZ(0, 100, 0, 100)); // constant on both sides
    }

    [Fact]
    public void NormedWasserstein_TiesAndUnequalSizes_MatchesScipyOverTheReferenceStd()
    {
        double[] a = [1, 2, 2, 3, 10];
        double[] b = [2, 4, 4, 5];

        Assert.Equal(0.6591247899463382, DriftStatistics.NormedWasserstein(a, b), 12);
        Assert.Equal(0, DriftStatistics.NormedWasserstein(a, [.. a.Reverse()]), 12);
        Assert.Equal(2 / 0.001, DriftStatistics.NormedWasserstein([5, 5, 5], [7]), 6); // constant reference: std floor 0.001
    }

    [Theory]
    [InlineData(2.5, 3.7, 0.1925504330793957)]
    [InlineData(0.5, 0.2, 0.5270892568655381)]
    [InlineData(40, 30, 0.9537469623541579)]
    public void UpperRegularizedGamma_SeriesAndContinuedFraction_MatchScipyGammaincc(double a, double x, double expected) =>
        Assert.Equal(expected, SpecialFunctions.UpperRegularizedGamma(a, x), 12);

    [Fact]
    public void Erfc_KnownValue_MatchesScipy() => Assert.Equal(0.06599205505934758, SpecialFunctions.Erfc(1.3), 12);

    [Fact]
    public void Counts_DifferentNumberOfBins_ClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([1, 2], [1, 2, 3]));
        Assert.Contains("2 bins", error.Message);
    }

    private sealed class RelativeComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(Math.Abs(x), Math.Abs(y));

        public int GetHashCode(double obj) => 0;
    }
}

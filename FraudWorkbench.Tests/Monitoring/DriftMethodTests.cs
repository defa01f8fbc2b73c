using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

public sealed class DriftMethodTests
{
    [Theory]
    [InlineData(1_000, true, 6, DriftMethod.KolmogorovSmirnov)]
    [InlineData(1_000, true, 5, DriftMethod.ChiSquare)] // numeric with ≤ 5 values is categorical; 5 > 2 values
    [InlineData(1_000, false, 3, DriftMethod.ChiSquare)]
    [InlineData(1_000, false, 2, DriftMethod.ProportionZ)]
    [InlineData(1_001, true, 6, DriftMethod.Wasserstein)]
    [InlineData(1_001, true, 4, DriftMethod.JensenShannon)]
    [InlineData(1_001, false, 40, DriftMethod.JensenShannon)]
    public void Choose_EvidentlysRegistry_PicksTheSameTest(long referenceRows, bool numeric, long distinct, string expected) =>
        Assert.Equal(expected, DriftMethod.Choose(referenceRows, numeric, distinct));

    [Fact]
    public void IsDrift_AtTheThreshold_KsIncludesItChiSquareNotDistancesDo()
    {
        Assert.True(DriftMethod.IsDrift(DriftMethod.KolmogorovSmirnov, 0.05, 0.05));
        Assert.False(DriftMethod.IsDrift(DriftMethod.ChiSquare, 0.05, 0.05));
        Assert.False(DriftMethod.IsDrift(DriftMethod.ProportionZ, 0.05, 0.05));
        Assert.True(DriftMethod.IsDrift(DriftMethod.JensenShannon, 0.1, 0.1));
        Assert.False(DriftMethod.IsDrift(DriftMethod.Psi, 0.0999, 0.1));
        Assert.Equal(0.05, DriftMethod.DefaultThreshold(DriftMethod.ChiSquare));
        Assert.Equal(0.1, DriftMethod.DefaultThreshold(DriftMethod.Hellinger));
    }

    [Fact]
    public void IsDatasetDrift_HalfTheColumns_DriftAsEvidently()
    {
        Assert.True(DriftMethod.IsDatasetDrift(5, 10));
        Assert.False(DriftMethod.IsDatasetDrift(4, 10));
        Assert.False(DriftMethod.IsDatasetDrift(0, 0)); // nothing testable is not drift
    }
}

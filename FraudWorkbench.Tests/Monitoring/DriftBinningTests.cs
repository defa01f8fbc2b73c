using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

public sealed class DriftBinningTests
{
    // numpy.random.default_rng(7): round(lognormal(3, 1, 200), 2) and round(lognormal(3.4, 1, 150), 2), amounts that moved up.
    private static readonly double[] Reference = [20.11, 27.08, 15.27, 8.24, 12.75, 7.45, 21.33, 76.72, 12.28, 10.8, 32.78, 28.7, 22.32, 7.92, 19.51, 40.26, 5.24, 12.71, 3.0, 5.53, 3.18, 15.88, 5.66, 26.34, 23.49, 16.66, 1.62, 11.72, 19.13, 22.5, 4.35, 12.46, 7.55, 8.95, 58.03, 8.96, 19.44, 48.64, 11.21, 17.96, 22.43, 21.41, 5.9, 21.67, 78.17, 4.28, 47.44, 22.63, 10.58, 148.47, 43.05, 6.05, 21.64, 35.75, 16.63, 39.76, 18.79, 39.14, 84.65, 10.22, 24.61, 12.64, 22.81, 6.13, 11.25, 16.51, 49.34, 63.13, 5.35, 9.07, 38.36, 2.74, 12.64, 18.22, 70.6, 40.02, 14.48, 13.89, 15.64, 92.16, 13.09, 14.83, 28.58, 17.8, 16.49, 6.59, 19.86, 12.89, 64.47, 38.59, 19.61, 39.19, 14.3, 57.52, 19.98, 36.0, 5.52, 28.41, 3.71, 2.62, 14.81, 8.17, 23.67, 189.57, 8.74, 10.76, 24.67, 32.88, 16.84, 16.35, 40.55, 33.78, 7.14, 18.56, 20.81, 7.0, 26.05, 8.52, 53.09, 24.36, 21.96, 11.12, 17.84, 2.72, 6.48, 28.87, 2.39, 46.83, 3.5, 42.81, 8.62, 43.77, 22.9, 4.32, 70.05, 84.92, 18.81, 15.27, 17.12, 7.57, 60.26, 11.67, 19.08, 9.09, 10.74, 5.6, 70.6, 17.22, 52.77, 20.35, 10.03, 14.49, 11.47, 20.25, 13.8, 14.88, 5.06, 8.96, 105.01, 10.27, 7.0, 28.14, 82.05, 4.69, 16.31, 10.68, 3.45, 41.88, 19.62, 21.57, 9.47, 31.65, 11.71, 17.41, 6.63, 5.95, 76.37, 12.1, 26.89, 19.42, 12.92, 12.09, 37.72, 14.85, 17.26, 20.54, 65.14, 39.67, 29.45, 11.43, 5.04, 51.91, 52.8, 17.45, 34.53, 43.88, 46.12, 50.47, 12.74, 91.38];
    private static readonly double[] Current = [8.61, 70.93, 49.1, 71.78, 196.18, 132.22, 9.53, 5.54, 67.82, 10.86, 29.59, 69.39, 5.79, 3.63, 38.83, 31.32, 23.43, 31.14, 12.67, 6.6, 25.36, 11.34, 5.79, 49.68, 28.18, 44.99, 11.14, 15.52, 11.03, 12.35, 36.43, 13.69, 42.78, 42.09, 227.05, 7.44, 72.81, 27.4, 29.55, 7.03, 18.91, 63.0, 27.59, 32.49, 22.4, 95.07, 29.33, 3.32, 15.0, 4.18, 1.16, 17.63, 113.7, 31.41, 9.28, 11.7, 92.82, 35.08, 31.44, 28.4, 31.14, 67.05, 52.07, 37.18, 10.56, 49.95, 15.12, 89.46, 8.41, 26.11, 29.74, 7.97, 167.67, 129.08, 18.85, 64.83, 43.76, 2.2, 38.49, 28.18, 32.56, 10.21, 22.89, 25.07, 98.31, 41.86, 29.8, 138.24, 17.2, 20.3, 4.87, 143.9, 78.6, 74.95, 58.49, 33.45, 37.17, 23.29, 24.44, 31.64, 135.89, 52.23, 28.26, 16.79, 15.88, 148.82, 49.73, 32.06, 21.2, 9.88, 28.03, 71.78, 20.24, 23.87, 24.02, 33.43, 6.09, 23.68, 12.75, 72.57, 13.87, 53.36, 137.61, 21.9, 16.42, 36.29, 29.9, 11.09, 47.51, 224.87, 23.15, 24.46, 10.54, 41.23, 8.61, 9.91, 107.73, 12.12, 88.35, 137.6, 38.84, 52.11, 211.08, 24.61, 16.56, 7.74, 31.24, 131.52, 78.23, 11.68];

    [Fact]
    public void Numeric_ManyDistinctValues_SturgesBinsOverBothAsNumpy_AndTheDistancesOnThem()
    {
        // np.histogram_bin_edges(concat, "sturges") gives 10 bins; np.histogram on each side; then Evidently's shares.
        var (r, c) = DriftBinning.Numeric(Reference, Current);

        Assert.Equal([135, 36, 15, 10, 2, 0, 1, 0, 1, 0], r);
        Assert.Equal([59, 47, 14, 11, 5, 4, 5, 1, 1, 3], c);
        Assert.Equal(0.6027093173124941, DriftStatistics.Psi(r, c), 12);
        Assert.Equal(0.23754933952999063, DriftStatistics.JensenShannon(r, c), 12);
    }

    [Fact]
    public void Numeric_FewDistinctValuesAndNonFinite_ABinPerValueWithoutNaN()
    {
        var (r, c) = DriftBinning.Numeric([1, 1, 2, double.NaN, 3], [2, 2, 4, double.PositiveInfinity]);

        Assert.Equal([2, 1, 1, 0], r); // values 1, 2, 3, 4
        Assert.Equal([0, 2, 0, 1], c);
    }

    [Fact]
    public void Numeric_AllMissing_NoBinsNotAnError()
    {
        var (r, c) = DriftBinning.Numeric([double.NaN], [double.NaN, double.NaN]);

        Assert.Empty(r);
        Assert.Empty(c);
    }

    [Fact]
    public void Histogram_ValuesOnEdges_LastBinClosedOnTheRightAsNumpy()
    {
        Assert.Equal([1, 1, 2], DriftBinning.Histogram([0, 1, 2, 3, 4], [0, 1, 2, 3]));
    }

    [Fact]
    public void Categorical_UnseenValue_ItsOwnBinWithReferenceZero()
    {
        var (r, c) = DriftBinning.Categorical(["card", "card", "wallet"], ["card", "crypto", "wallet", "wallet"]);

        Assert.Equal([2, 0, 1], r); // card, crypto, wallet
        Assert.Equal([1, 1, 2], c);
    }
}

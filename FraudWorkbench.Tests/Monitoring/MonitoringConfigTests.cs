using FraudWorkbench.Core.Monitoring;

namespace FraudWorkbench.Tests.Monitoring;

public sealed class MonitoringConfigTests
{
    /// <summary>A model's monitored columns: true for numeric ones.</summary>
    private static readonly Dictionary<string, bool> Columns = new()
    {
        ["amount"] = true,
        ["merchant_category"] = false,
        [MonitoredColumns.Score] = true,
        [MonitoredColumns.Decision] = false,
    };

    private static MonitoringConfig With(string column, string? method, double? threshold, double share = 0.5) =>
        new(share, new Dictionary<string, ColumnDriftSettings> { [column] = new(method, threshold) });

    [Fact]
    public void Validate_Default_NoProblems() => Assert.Empty(MonitoringConfig.Default.Validate(Columns));

    [Fact]
    public void Validate_EveryMethodOnANumericColumnAndTheCountTestsOnACategory_NoProblems()
    {
        foreach (var method in DriftMethod.All) Assert.Empty(With("amount", method, null).Validate(Columns));
        foreach (var method in new[] { DriftMethod.ChiSquare, DriftMethod.ProportionZ, DriftMethod.JensenShannon, DriftMethod.Psi, DriftMethod.Hellinger })
        {
            Assert.Empty(With("merchant_category", method, 0.2).Validate(Columns));
        }
    }

    [Fact]
    public void Validate_UnknownColumn_NamesTheColumnField()
    {
        var problem = Assert.Single(With("card_colour", DriftMethod.Psi, null).Validate(Columns));

        Assert.Equal("columns.card_colour", problem.Field);
        Assert.Contains("'card_colour' is not a monitored column", problem.Message);
        Assert.Contains("amount", problem.Message); // the known columns are listed
    }

    [Fact]
    public void Validate_UnknownMethod_NamesTheMethodField()
    {
        var problem = Assert.Single(With("amount", "anderson", null).Validate(Columns));

        Assert.Equal("columns.amount.method", problem.Field);
        Assert.Contains("Unknown test 'anderson'", problem.Message);
    }

    [Theory]
    [InlineData(DriftMethod.KolmogorovSmirnov)]
    [InlineData(DriftMethod.Wasserstein)]
    public void Validate_NumericTestOnACategoricalColumn_NamesTheMethodField(string method)
    {
        var problem = Assert.Single(With("merchant_category", method, null).Validate(Columns));

        Assert.Equal("columns.merchant_category.method", problem.Field);
        Assert.Contains("is not numeric", problem.Message);
    }

    [Theory]
    [InlineData(DriftMethod.KolmogorovSmirnov, 0.0)]
    [InlineData(DriftMethod.KolmogorovSmirnov, 1.0)] // every column would drift
    [InlineData(DriftMethod.KolmogorovSmirnov, -0.05)]
    [InlineData(DriftMethod.ChiSquare, 1.01)]
    [InlineData(DriftMethod.JensenShannon, 1.5)]
    [InlineData(DriftMethod.Hellinger, double.NaN)]
    [InlineData(null, 2.0)] // automatic may resolve to a p-value test, so the bound is 1
    [InlineData(DriftMethod.Wasserstein, 0.0)]
    [InlineData(DriftMethod.Psi, -1.0)]
    public void Validate_ThresholdOutOfRange_NamesTheThresholdField(string? method, double threshold)
    {
        var problem = Assert.Single(With("amount", method, threshold).Validate(Columns));

        Assert.Equal("columns.amount.threshold", problem.Field);
        Assert.Contains("threshold is above 0", problem.Message);
    }

    [Theory]
    [InlineData(DriftMethod.KolmogorovSmirnov, 0.999)]
    [InlineData(DriftMethod.JensenShannon, 0.0001)]
    [InlineData(DriftMethod.Wasserstein, 2.5)] // a normed distance in standard deviations
    [InlineData(DriftMethod.Psi, 1.2)]
    public void Validate_ThresholdAtOrInsideItsRange_NoProblems(string method, double threshold) =>
        Assert.Empty(With("amount", method, threshold).Validate(Columns));

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void Validate_DriftShareOutOfRange_NamesTheDriftShareField(double share)
    {
        var problem = Assert.Single(new MonitoringConfig(share).Validate(Columns));

        Assert.Equal("driftShare", problem.Field);
        Assert.Contains("above 0 and at most 1", problem.Message);
    }

    [Fact]
    public void Validate_DriftShareOne_NoProblems() => Assert.Empty(new MonitoringConfig(1.0).Validate(Columns));

    [Fact]
    public void Validate_SeveralProblems_EachNamesItsOwnField()
    {
        var config = new MonitoringConfig(1.5, new Dictionary<string, ColumnDriftSettings>
        {
            ["merchant_category"] = new(DriftMethod.KolmogorovSmirnov, null),
            ["amount"] = new(DriftMethod.ChiSquare, 3),
            [MonitoredColumns.Score] = new(DriftMethod.Psi, 0.25),
        });

        var fields = config.Validate(Columns).Select(p => p.Field).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(["columns.amount.threshold", "columns.merchant_category.method", "driftShare"], fields);
    }
}

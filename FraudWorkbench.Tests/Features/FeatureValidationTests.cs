using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Tests.Features;

public sealed class FeatureValidationTests
{
    private static readonly DatasetSchema Schema = new(',', [new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature), new DatasetColumn("is_fraud", ColumnType.Boolean, ColumnRole.Label)], "1");

    [Theory]
    [InlineData(double.NaN, 0.99)]
    [InlineData(0.01, double.NaN)]
    [InlineData(double.NegativeInfinity, 0.99)]
    [InlineData(0.01, 1.5)]
    [InlineData(0.9, 0.1)]
    public void Validate_ClipNotTwoOrderedLevels_NamesClip(double lower, double upper)
    {
        var definition = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, "amount", Clip: [lower, upper])]);

        var refused = Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(definition, Schema));

        Assert.Equal("features[0].clip", Assert.Single(refused.Issues).Field);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Validate_NonFiniteImputeValue_NamesImputeValue(double value)
    {
        var definition = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, "amount", Impute: "constant", ImputeValue: value)]);

        var refused = Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(definition, Schema));

        Assert.Equal("features[0].imputeValue", Assert.Single(refused.Issues).Field);
    }

    [Fact]
    public void Validate_FiniteImputeValueAndOrderedClip_Accepted()
    {
        FeatureValidation.Validate(new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, "amount", Impute: "constant", ImputeValue: -1, Clip: [0, 1])]), Schema);
    }

    [Fact]
    public void Validate_OversizeLists_RefusedOnceNotPerItem()
    {
        var features = new FeatureSetDefinition([.. Enumerable.Repeat(new FeatureSpec(FeatureKind.Numeric, "nope"), FeatureValidation.MaxFeatures + 1)]);
        var windows = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, "amount"), new FeatureSpec(FeatureKind.Velocity, Entity: "amount", Windows: [.. Enumerable.Repeat("1h", 100_000)])]);

        Assert.Equal("features", Assert.Single(Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(features, Schema)).Issues).Field);
        Assert.Single(Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(windows, Schema)).Issues, i => i.Field == "features[1].windows");
    }
}

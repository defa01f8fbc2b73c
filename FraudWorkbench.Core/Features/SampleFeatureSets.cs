namespace FraudWorkbench.Core.Features;

/// <summary>
/// Feature sets for the shipped sample data (data-samples/): the fraud recipes and the same raw
/// columns without them. The benchmarks measure with them and the tests train with them.
/// </summary>
public static class SampleFeatureSets
{
    /// <summary>About fifteen inputs: the recipes plus a few raw columns.</summary>
    public static readonly FeatureSetDefinition Recipes = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.Numeric, Column: "account_age_days"),
        new FeatureSpec(FeatureKind.DateParts, Column: "event_time", Parts: ["hour", "night"]),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "merchant_category"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "payment_method"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "email_domain"),
        new FeatureSpec(FeatureKind.OneHot, Column: "shipping_address_new", TopK: 1),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h", "24h"]),
    ]);

    /// <summary>The same raw columns without any fraud recipe (no mismatch, ratio or velocity).</summary>
    public static readonly FeatureSetDefinition RawColumns = new(
    [
        new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
        new FeatureSpec(FeatureKind.Numeric, Column: "account_age_days"),
        new FeatureSpec(FeatureKind.DateParts, Column: "event_time", Parts: ["hour", "night"]),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "merchant_category"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "payment_method"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "email_domain"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "ip_country"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "home_country"),
        new FeatureSpec(FeatureKind.OneHot, Column: "shipping_address_new", TopK: 1),
    ]);
}

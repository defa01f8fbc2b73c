using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Tests.Fairness;

public sealed class ProductionFairnessTests
{
    private const double Threshold = 0.5;

    private static double? M(GroupingFairness grouping, string group, string metric) =>
        (group == "overall" ? grouping.Overall : grouping.Groups.Single(g => g.Group == group)).Metrics[metric].Value;

    private static double? D(GroupingFairness grouping, string name, string kind, string? aggregation = null, string method = DisparityName.BetweenGroups) =>
        grouping.Disparities.Single(d => d.Name == name && d.Kind == kind && d.Method == method && d.Aggregation == aggregation).Value.Value;

    [Theory]
    [InlineData(true, 0.3, 0.5, 1.0)]
    [InlineData(false, 0.9, 0.5, 0.0)]
    [InlineData(null, 0.2, 0.0, 0.2)]            // nothing expected in yet: CBPE's p
    [InlineData(null, 0.2, 0.5, 0.1 / 0.9)]      // 0.2 · 0.5 / (1 − 0.2 · 0.5)
    [InlineData(null, 0.6, 0.75, 0.15 / 0.55)]   // 0.6 · 0.25 / (1 − 0.45)
    [InlineData(null, 0.9, 1.0, 0.0)]            // the label window has passed: unlabelled counts as legitimate
    public void ExpectedFraud_LabelOrMaturity_HandWorked(bool? label, double p, double maturity, double expected) =>
        Assert.Equal(expected, ProductionFairness.ExpectedFraud(label, p, maturity), 12);

    /// <summary>
    /// Two groups at threshold 0.5, expected fraud q per row (a label where in, else p with nothing expected in yet):
    /// A: flagged q 0.9 (unlabelled, p 0.9) and 1 (labelled fraud, p 0.6); not flagged q 0.2 (unlabelled p 0.2) and 0 (labelled legitimate, p 0.1)
    ///    → TP 1.9, FP 0.1, FN 0.2, TN 1.8: TPR 1.9/2.1, FPR 0.1/1.9, precision 0.95, FNR 0.2/2.1, fraud rate 2.1/4.
    /// B: all unlabelled, p 0.7 (flagged), 0.3, 0.3, 0.1 → TP 0.7, FP 0.3, FN 0.7, TN 2.3: TPR 0.5, FPR 0.3/2.6, precision 0.7, fraud rate 1.4/4.
    /// </summary>
    [Fact]
    public void Evaluate_TinyExample_EstimatedRatesAndDisparitiesAsWorkedByHand()
    {
        (string Group, double P, bool? Label)[] rows =
        [
            ("A", 0.9, null), ("A", 0.6, true), ("A", 0.2, null), ("A", 0.1, false),
            ("B", 0.7, null), ("B", 0.3, null), ("B", 0.3, null), ("B", 0.1, null),
        ];
        var grouping = FairnessGroups.FromValues("segment", [.. rows.Select(r => r.Group)]);
        var expected = rows.Select(r => ProductionFairness.ExpectedFraud(r.Label, r.P, 0)).ToArray();

        var result = ProductionFairness.Evaluate(grouping, [.. rows.Select(r => r.Label == true)], [.. rows.Select(r => r.P)], expected, Threshold,
            new FairnessSettings(MinGroupSize: 1, Resamples: 0));

        var e = result.Estimated;
        Assert.Equal(1.9 / 2.1, M(e, "A", FairnessMetric.TruePositiveRate)!.Value, 12);
        Assert.Equal(0.1 / 1.9, M(e, "A", FairnessMetric.FalsePositiveRate)!.Value, 12);
        Assert.Equal(0.95, M(e, "A", FairnessMetric.Precision)!.Value, 12);
        Assert.Equal(0.2 / 2.1, M(e, "A", FairnessMetric.FalseNegativeRate)!.Value, 12);
        Assert.Equal(2.1 / 4, M(e, "A", FairnessMetric.FraudRate)!.Value, 12);
        Assert.Equal(0.5, M(e, "B", FairnessMetric.TruePositiveRate)!.Value, 12);
        Assert.Equal(0.3 / 2.6, M(e, "B", FairnessMetric.FalsePositiveRate)!.Value, 12);
        Assert.Equal(0.7, M(e, "B", FairnessMetric.Precision)!.Value, 12);
        Assert.Equal(1.4 / 4, M(e, "B", FairnessMetric.FraudRate)!.Value, 12);
        // Overall: TP 2.6, FN 0.9, FP 0.4 of 8 rows → TPR 2.6/3.5, FPR 0.4/4.5.
        Assert.Equal(2.6 / 3.5, M(e, "overall", FairnessMetric.TruePositiveRate)!.Value, 12);
        Assert.Equal(0.4 / 4.5, M(e, "overall", FairnessMetric.FalsePositiveRate)!.Value, 12);
        Assert.Equal([2L, 1L], e.Groups.Select(g => g.Fraud)); // expected counts, rounded: 2.1 and 1.4
        Assert.Null(M(e, "A", FairnessMetric.RocAuc)); // curves are not estimated

        // Selection rate needs no label: the same as realized (A 2/4, B 1/4), and so is demographic parity.
        Assert.Equal(M(result.Realized, "A", FairnessMetric.SelectionRate), M(e, "A", FairnessMetric.SelectionRate));
        Assert.Equal(0.25, D(e, DisparityName.DemographicParity, DisparityName.Difference)!.Value, 12);
        Assert.Equal(0.5, D(e, DisparityName.DemographicParity, DisparityName.Ratio)!.Value, 12);

        // Equal opportunity: 1.9/2.1 − 0.5, and 0.5 / (1.9/2.1); equalized odds takes the worse of TPR and FPR (FPR gap 0.3/2.6 − 0.1/1.9).
        var tprGap = 1.9 / 2.1 - 0.5;
        var fprGap = 0.3 / 2.6 - 0.1 / 1.9;
        Assert.Equal(tprGap, D(e, DisparityName.EqualOpportunity, DisparityName.Difference)!.Value, 12);
        Assert.Equal(0.5 / (1.9 / 2.1), D(e, DisparityName.EqualOpportunity, DisparityName.Ratio)!.Value, 12);
        Assert.Equal(tprGap, D(e, DisparityName.EqualizedOdds, DisparityName.Difference, DisparityName.WorstCase)!.Value, 12);
        Assert.Equal((tprGap + fprGap) / 2, D(e, DisparityName.EqualizedOdds, DisparityName.Difference, DisparityName.Mean)!.Value, 12);
        Assert.Equal(Math.Min(0.5 / (1.9 / 2.1), (0.1 / 1.9) / (0.3 / 2.6)), D(e, DisparityName.EqualizedOdds, DisparityName.Ratio, DisparityName.WorstCase)!.Value, 12);
        // To overall: the largest |group − overall| of TPR: |0.5 − 2.6/3.5|.
        Assert.Equal(Math.Abs(0.5 - 2.6 / 3.5), D(e, DisparityName.EqualOpportunity, DisparityName.Difference, method: DisparityName.ToOverall)!.Value, 12);
        Assert.Equal(result.Realized.Disparities.Select(d => (d.Name, d.Kind, d.Method, d.Aggregation)), e.Disparities.Select(d => (d.Name, d.Kind, d.Method, d.Aggregation)));
    }

    [Fact]
    public void Evaluate_SameRows_RealizedIsTheHoldoutCalculatorsReport()
    {
        var random = new Random(5);
        var groups = Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? "F" : i % 7 == 0 ? FairnessGroups.Missing : "M").ToArray();
        var scores = groups.Select(_ => random.NextDouble()).ToArray();
        var labels = scores.Select(p => random.NextDouble() < p * 0.5).ToArray();
        var grouping = FairnessGroups.FromValues("gender", groups);
        var settings = new FairnessSettings(MinGroupSize: 30, Resamples: 40);

        var result = ProductionFairness.Evaluate(grouping, labels, scores, scores.Select(p => p).ToArray(), Threshold, settings);

        var direct = FairnessCalculator.Evaluate(grouping, labels, scores, Threshold, settings);
        Assert.Equal(JsonSerializer.Serialize(direct, DatasetSchema.Json), JsonSerializer.Serialize(result.Realized, DatasetSchema.Json));
        // Every row labelled (q = label): the estimate is the realized confusion.
        var labelled = ProductionFairness.Evaluate(grouping, labels, scores, labels.Select(l => l ? 1.0 : 0.0).ToArray(), Threshold, settings);
        foreach (var metric in new[] { FairnessMetric.TruePositiveRate, FairnessMetric.FalsePositiveRate, FairnessMetric.Precision, FairnessMetric.FraudRate })
        {
            foreach (var group in grouping.Labels.Append("overall"))
                Assert.Equal(M(labelled.Realized, group, metric)!.Value, M(labelled.Estimated, group, metric)!.Value, 12);
        }

        // Intervals from the within-group bootstrap: around the value, reproducible.
        var tpr = labelled.Estimated.Groups[0].Metrics[FairnessMetric.TruePositiveRate];
        Assert.True(tpr.Lower <= tpr.Value && tpr.Value <= tpr.Upper && tpr.Upper > tpr.Lower, $"{tpr}");
        Assert.Equal(JsonSerializer.Serialize(labelled.Estimated, DatasetSchema.Json),
            JsonSerializer.Serialize(ProductionFairness.Evaluate(grouping, labels, scores, labels.Select(l => l ? 1.0 : 0.0).ToArray(), Threshold, settings).Estimated, DatasetSchema.Json));
    }

    [Fact]
    public void Groupings_ThreeProtectedColumns_TheHoldoutReportsGroupingsInItsOrder()
    {
        DatasetColumn[] columns =
        [
            new("amount", ColumnType.Decimal, ColumnRole.Feature),
            new("gender", ColumnType.Categorical, ColumnRole.Protected),
            new("age", ColumnType.Integer, ColumnRole.Protected, AgeBands: SchemaInference.DefaultAgeBands),
            new("nationality", ColumnType.Categorical, ColumnRole.Protected),
        ];
        var schema = new DatasetSchema(',', columns);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 200).Select(i => new string?[]
        {
            "1", i % 2 == 0 ? "F" : "M", i % 9 == 0 ? null : random.Next(16, 80).ToString(System.Globalization.CultureInfo.InvariantCulture), i % 3 == 0 ? "PT" : "ES",
        }).ToList();
        var labels = rows.Select((_, i) => i % 5 == 0).ToArray();
        var scores = rows.Select(_ => random.NextDouble()).ToArray();

        var groupings = FairnessAnalysis.Groupings(schema, rows);

        var holdout = FairnessAnalysis.Evaluate(schema, rows, labels, scores, Threshold, new FairnessSettings(Resamples: 0)).Groupings;
        Assert.Equal(holdout.Select(g => g.Name), groupings.Select(g => g.Name));
        Assert.Equal(["gender", "age", "nationality", "gender × age", "gender × nationality", "age × nationality", "gender × age × nationality"], groupings.Select(g => g.Name));
        for (var i = 0; i < groupings.Count; i++)
            Assert.Equal(holdout[i].Groups.Select(g => (g.Group, g.Count)), groupings[i].Labels.Select((l, k) => (l, (long)groupings[i].Of.Count(o => o == k))));
        Assert.Contains(FairnessGroups.Missing, groupings[1].Labels); // an age not sent is its own group
    }
}

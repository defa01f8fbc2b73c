using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Core.Registry;
using static FraudWorkbench.Core.Fairness.DisparityName;

namespace FraudWorkbench.Tests.Fairness;

/// <summary>
/// A census-shaped table (sex with "?" for missing, age in years) scored by a model with a planted bias: legitimate
/// customers under 25 get scores 0.2 higher, whatever their sex, and fraud is as common in every group. The report and
/// the gate must find the age disparity with the right sign and leave sex alone.
/// </summary>
public sealed class FairnessScenarioTests
{
    private static readonly DatasetSchema Schema = new(',',
    [
        new DatasetColumn("sex", ColumnType.Categorical, ColumnRole.Protected),
        new DatasetColumn("age", ColumnType.Integer, ColumnRole.Protected, AgeBands: SchemaInference.DefaultAgeBands),
        new DatasetColumn("hours_per_week", ColumnType.Integer, ColumnRole.Feature),
    ]);

    private static (List<string?[]> Rows, bool[] Labels, double[] Scores) Census(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<string?[]>(count);
        var labels = new bool[count];
        var scores = new double[count];
        for (var i = 0; i < count; i++)
        {
            var sex = random.NextDouble() switch { < 0.02 => "?", < 0.51 => "Female", _ => "Male" };
            var age = 18 + random.Next(60);
            labels[i] = random.NextDouble() < 0.05;
            // Legitimate scores are uniform on [0, 0.6] and fraud on [0.4, 1]; the planted bias moves young legitimate customers to [0.2, 0.8].
            scores[i] = labels[i] ? 0.4 + (0.6 * random.NextDouble()) : (age < 25 ? 0.2 : 0) + (0.6 * random.NextDouble());
            rows.Add([sex, age.ToString(System.Globalization.CultureInfo.InvariantCulture), random.Next(20, 60).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        return (rows, labels, scores);
    }

    [Fact]
    public void Evaluate_PlantedAgeBias_FoundWithTheRightSign_SexNotFlagged_GateFailsOnAgeOnly()
    {
        var (rows, labels, scores) = Census(8_000, 18);
        var settings = new FairnessSettings();

        var (groupings, _) = FairnessAnalysis.Evaluate(Schema, rows, labels, scores, 0.5, settings);

        var byAge = groupings.Single(g => g.Name == "age");
        var byS = groupings.Single(g => g.Name == "sex");
        Assert.Equal(["18–24", "25–34", "35–44", "45–54", "55–64", "65+"], byAge.Groups.Select(g => g.Group));
        Assert.Equal(["Female", "Male", FairnessGroups.Missing], byS.Groups.Select(g => g.Group));
        Assert.Null(byS.Groups[2].TooSmall); // about 160 rows with "?" for sex: a group of its own, large enough to judge

        // Flagged shares: young legitimate customers 0.5 (scores on [0.2, 0.8] above 0.5), the others 1/6; fraud 5/6 everywhere.
        var young = byAge.Groups[0].Metrics[FairnessMetric.SelectionRate];
        var older = byAge.Groups[2].Metrics[FairnessMetric.SelectionRate];
        Assert.InRange(young.Value!.Value, (0.95 * 0.5) + (0.05 * 5 / 6.0) - 0.04, (0.95 * 0.5) + (0.05 * 5 / 6.0) + 0.04);
        Assert.InRange(older.Value!.Value, (0.95 / 6) + (0.05 * 5 / 6.0) - 0.04, (0.95 / 6) + (0.05 * 5 / 6.0) + 0.04);
        var ageRatio = Find(byAge, DemographicParity, Ratio);
        Assert.Equal("18–24", ageRatio.Highest); // the right sign: the young are flagged more, not less
        Assert.True(ageRatio.Value.Upper < 0.8, $"age DP ratio {ageRatio.Value}");
        Assert.True(byAge.FourFifths);
        var ageFpr = Find(byAge, EqualizedOdds, Difference, WorstCase);
        Assert.InRange(ageFpr.Value.Value!.Value, 0.5 - (1 / 6.0) - 0.06, 0.5 - (1 / 6.0) + 0.08);

        // Sex carries no bias, but its small "?" group makes the point ratio noisy: its interval reaching past 0.8 is what keeps it from being judged unfair.
        var sexRatio = Find(byS, DemographicParity, Ratio);
        Assert.True(sexRatio.Value.Upper > 0.8, $"sex DP ratio {sexRatio.Value}");
        var (female, male) = (byS.Groups[0].Metrics[FairnessMetric.SelectionRate], byS.Groups[1].Metrics[FairnessMetric.SelectionRate]);
        Assert.True(female.Lower < male.Upper && male.Lower < female.Upper, $"female {female}, male {male}");

        var checks = FairnessGate.Judge(new FairnessGateSettings(FairnessGateSettings.Suggested), groupings, null, null, ["sex", "age"], settings);
        Assert.Equal(["sex pass", "age fail", "sex pass", "age fail"], checks.Select(c => $"{c.Subject} {(c.Passed ? "pass" : "fail")}"));
        Assert.Equal(GateStatus.Failed, GateStatus.Of(checks));
    }

    [Fact]
    public void Evaluate_SameCensusWithoutTheBias_NoGroupFlaggedAndTheGatePasses()
    {
        var (rows, labels, scores) = Census(8_000, 19);
        for (var i = 0; i < rows.Count; i++)
        {
            if (!labels[i] && int.Parse(rows[i][1]!, System.Globalization.CultureInfo.InvariantCulture) < 25) scores[i] -= 0.2;
        }

        var (groupings, _) = FairnessAnalysis.Evaluate(Schema, rows, labels, scores, 0.5, new FairnessSettings());

        Assert.False(groupings.Single(g => g.Name == "age").FourFifths);
        var checks = FairnessGate.Judge(new FairnessGateSettings(FairnessGateSettings.Suggested), groupings, null, null, ["sex", "age"], new FairnessSettings());
        Assert.Equal(GateStatus.Passed, GateStatus.Of(checks));
    }

    private static Disparity Find(GroupingFairness grouping, string name, string kind, string? aggregation = null) =>
        grouping.Disparities.Single(d => d.Name == name && d.Kind == kind && d.Method == BetweenGroups && d.Aggregation == aggregation);
}

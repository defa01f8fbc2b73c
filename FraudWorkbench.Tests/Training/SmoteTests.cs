using FraudWorkbench.Core.Training;

namespace FraudWorkbench.Tests.Training;

public sealed class SmoteTests
{
    private static (double[] Numeric, bool[] Minority) Data(int minority, int majority, int seed)
    {
        var random = new Random(seed);
        var numeric = new List<double>();
        var labels = new List<bool>();
        for (var i = 0; i < minority; i++) { numeric.AddRange([5 + random.NextDouble(), 5 + random.NextDouble()]); labels.Add(true); }
        for (var i = 0; i < majority; i++) { numeric.AddRange([random.NextDouble(), random.NextDouble()]); labels.Add(false); }
        return ([.. numeric], [.. labels]);
    }

    [Fact]
    public void Generate_EverySampleLiesOnASegmentToOneOfItsKNearestMinorityNeighbours()
    {
        var (numeric, minority) = Data(minority: 30, majority: 300, seed: 1);

        var result = Smote.Generate(numeric, 2, [], 0, minority, new SmoteOptions(K: 5, TargetRatio: 0.5));

        Assert.Equal(120, result.Count); // 0.5 × 300 − 30
        for (var s = 0; s < result.Count; s++)
        {
            int i = result.Parents[s], j = result.Neighbours[s];
            Assert.True(minority[i] && minority[j] && i != j);
            Assert.InRange(result.Gaps[s], 0, 1);
            for (var d = 0; d < 2; d++)
            {
                var expected = numeric[i * 2 + d] + result.Gaps[s] * (numeric[j * 2 + d] - numeric[i * 2 + d]);
                Assert.Equal(expected, result.Numeric[s * 2 + d], 12);
            }

            // j is among i's five nearest minority rows, computed here independently.
            var nearest = Enumerable.Range(0, minority.Length).Where(m => minority[m] && m != i)
                .OrderBy(m => Math.Pow(numeric[m * 2] - numeric[i * 2], 2) + Math.Pow(numeric[m * 2 + 1] - numeric[i * 2 + 1], 2)).Take(5);
            Assert.Contains(j, nearest);
        }
    }

    [Fact]
    public void Generate_SameSeedSameSamples_NothingWhenAlreadyBalanced()
    {
        var (numeric, minority) = Data(20, 100, 2);

        var a = Smote.Generate(numeric, 2, [], 0, minority, new SmoteOptions(TargetRatio: 1, Seed: 9));
        var b = Smote.Generate(numeric, 2, [], 0, minority, new SmoteOptions(TargetRatio: 1, Seed: 9));
        var none = Smote.Generate(numeric, 2, [], 0, minority, new SmoteOptions(TargetRatio: 0.1));

        Assert.Equal(a.Numeric, b.Numeric);
        Assert.Equal(80, a.Count);
        Assert.Equal(0, none.Count);
    }

    [Fact]
    public void Generate_SmoteNc_CategoryIsTheMostFrequentAmongTheNeighbours()
    {
        // Six minority rows on a line; categories: the three nearest to row 0 say 7, 7, 3.
        double[] numeric = [0, 0, 1, 0, 2, 0, 3, 0, 10, 0, 11, 0, 50, 50, 51, 51];
        int[] categorical = [1, 7, 7, 3, 9, 9, 0, 0];
        bool[] minority = [true, true, true, true, true, true, false, false];

        var result = Smote.Generate(numeric, 2, categorical, 1, minority, new SmoteOptions(K: 3, TargetRatio: 50, Seed: 4));

        for (var s = 0; s < result.Count; s++)
        {
            if (result.Parents[s] == 0) Assert.Equal(7, result.Categorical[s]);
        }

        Assert.Contains(result.Parents, p => p == 0);
    }

    [Fact]
    public void Rebalance_SmoteWithOneHotInputs_SyntheticRowsStayOneHot()
    {
        // Inputs: two numbers, then a one-hot group of three slots.
        var random = new Random(8);
        var features = new List<float>();
        var labels = new List<bool>();
        for (var i = 0; i < 400; i++)
        {
            var fraud = i < 40;
            var hot = fraud ? (i % 4 == 0 ? 2 : 1) : random.Next(3);
            features.AddRange([(float)random.NextDouble(), (float)random.NextDouble(), hot == 0 ? 1 : 0, hot == 1 ? 1 : 0, hot == 2 ? 1 : 0]);
            labels.Add(fraud);
        }

        var (data, synthetic) = TrainingJobHandler.Rebalance(new TrainingData([.. features], 5, [.. labels]), new ImbalanceSettings(ImbalanceStrategy.Smote, TargetRatio: 0.5), 1, [(2, 3)]);

        Assert.Equal(140, synthetic); // 0.5 × 360 − 40
        for (var r = 400; r < data.Rows; r++)
        {
            var group = data.Features.AsSpan(r * 5 + 2, 3).ToArray();
            Assert.Equal(1, group.Sum());
            Assert.All(group, v => Assert.True(v is 0 or 1));
            Assert.True(data.Labels[r]);
        }
    }

    [Fact]
    public void Generate_FewerMinorityRowsThanK_Refused()
    {
        var (numeric, minority) = Data(4, 100, 3);

        var error = Assert.Throws<ArgumentException>(() => Smote.Generate(numeric, 2, [], 0, minority, new SmoteOptions(K: 5)));

        Assert.Contains("needs more than 5 minority rows", error.Message);
    }
}

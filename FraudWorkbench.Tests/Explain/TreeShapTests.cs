using FraudWorkbench.Core.Explain;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Training;

namespace FraudWorkbench.Tests.Explain;

public static class TreeShapTestTrees
{
    /// <summary>A random tree whose covers add up (each node's cover is its children's), features drawn with repeats along paths.</summary>
    public static ShapTree Random(Random random, int features, int maxDepth, double weight = 1)
    {
        var left = new List<int>();
        var right = new List<int>();
        var feature = new List<int>();
        var threshold = new List<double>();
        var leafValue = new List<double>();
        var leafCover = new List<double>();
        var nodeCover = new List<double>();

        (int Index, double Cover) Build(int depth)
        {
            if (depth >= maxDepth || (depth > 1 && random.NextDouble() < 0.25))
            {
                leafValue.Add(random.NextDouble() * 4 - 2);
                var cover = random.Next(0, 4) == 0 ? 0 : random.Next(1, 50); // some leaves no training row reached
                leafCover.Add(cover);
                return (~(leafValue.Count - 1), cover);
            }

            var node = left.Count;
            left.Add(0); right.Add(0); nodeCover.Add(0);
            feature.Add(random.Next(features));
            threshold.Add(random.NextDouble());
            var (l, lc) = Build(depth + 1);
            var (r, rc) = Build(depth + 1);
            left[node] = l; right[node] = r; nodeCover[node] = lc + rc;
            return (node, lc + rc);
        }

        Build(0);
        return new ShapTree([.. left], [.. right], [.. feature], [.. threshold], [.. leafValue], [.. nodeCover], [.. leafCover], weight);
    }
}

public sealed class TreeShapTests
{
    private static ShapTree RandomTree(Random random, int features, int maxDepth, double weight = 1) => TreeShapTestTrees.Random(random, features, maxDepth, weight);

    /// <summary>Algorithm 1 of the paper: the tree's expected output with the coalition's features fixed to x, the others following the covers.</summary>
    private static double Expected(ShapTree tree, float[] x, bool[] known, int node = 0)
    {
        if (node < 0) return tree.LeafValue[~node];
        if (known[tree.Feature[node]]) return Expected(tree, x, known, x[tree.Feature[node]] <= tree.Threshold[node] ? tree.Left[node] : tree.Right[node]);
        double Cover(int child) => child < 0 ? tree.LeafCover[~child] : tree.NodeCover[child];
        var total = tree.NodeCover[node];
        var (l, r) = total > 0 ? (Cover(tree.Left[node]) / total, Cover(tree.Right[node]) / total) : (0.5, 0.5);
        return l * Expected(tree, x, known, tree.Left[node]) + r * Expected(tree, x, known, tree.Right[node]);
    }

    /// <summary>Shapley values by enumerating every coalition: Σ |S|!(M−|S|−1)!/M! · (v(S ∪ i) − v(S)).</summary>
    private static double[] BruteForce(ShapTree tree, float[] x, int m)
    {
        var phi = new double[m];
        double Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);
        for (var i = 0; i < m; i++)
        {
            for (var mask = 0; mask < 1 << m; mask++)
            {
                if ((mask & (1 << i)) != 0) continue;
                var known = Enumerable.Range(0, m).Select(j => (mask & (1 << j)) != 0).ToArray();
                var size = known.Count(k => k);
                var without = Expected(tree, x, known);
                known[i] = true;
                var with = Expected(tree, x, known);
                phi[i] += Factorial(size) * Factorial(m - size - 1) / Factorial(m) * (with - without) * tree.Weight;
            }
        }

        return phi;
    }

    [Theory]
    [InlineData(1, 3, 3)]
    [InlineData(2, 5, 6)]
    [InlineData(3, 8, 8)]
    [InlineData(4, 10, 10)]
    public void Explain_RandomTrees_EqualsBruteForceShapleyValues(int seed, int features, int depth)
    {
        var random = new Random(seed);
        for (var trial = 0; trial < 20; trial++)
        {
            var tree = RandomTree(random, features, depth, weight: 0.5 + random.NextDouble());
            var x = Enumerable.Range(0, features).Select(_ => (float)random.NextDouble()).ToArray();
            var phi = new double[features];

            TreeShap.Explain(tree, x, phi);

            var expected = BruteForce(tree, x, features);
            for (var j = 0; j < features; j++) Assert.Equal(expected[j], phi[j], 1e-9);
            // Local accuracy: the expected value plus the contributions is the tree's output.
            Assert.Equal(tree.Weight * tree.Predict(x), tree.Weight * tree.ExpectedValue() + phi.Sum(), 1e-9);
        }
    }

    [Fact]
    public void Explain_FeatureTheTreeNeverUses_GetsZero()
    {
        // Missingness: x1 never splits, so it contributes nothing however it is set.
        var tree = new ShapTree([1, -3, -4], [-1, -2, -5], [0, 2, 2], [0.5, 0.3, 0.7], [1, 2, 3, 4, 5], [10, 6, 0], [4, 3, 3, 0, 0]);
        var phi = new double[3];

        TreeShap.Explain(tree, [0.1f, 99f, 0.2f], phi);

        Assert.Equal(0, phi[1]);
    }

    [Fact]
    public void Explain_SymmetricFeatures_ShareEqually()
    {
        // f(x) = 1 when both x0 and x1 exceed 0.5, else 0; covers uniform: x0 and x1 play the same role.
        // By hand for x = (1, 1): v({}) = 1/4, v({0}) = v({1}) = 1/2, v({0,1}) = 1 → φ0 = φ1 = 3/8.
        var tree = new ShapTree(
            Left: [~0, ~1], Right: [1, ~2], Feature: [0, 1], Threshold: [0.5, 0.5],
            LeafValue: [0, 0, 1], NodeCover: [4, 2], LeafCover: [2, 1, 1]);
        var phi = new double[2];

        TreeShap.Explain(tree, [1f, 1f], phi);

        Assert.Equal(0.375, phi[0], 12);
        Assert.Equal(0.375, phi[1], 12);
        Assert.Equal(0.25, tree.ExpectedValue(), 12);
    }
}

public sealed class ModelExplainerTests(SampleMatrixFixture sample) : IClassFixture<SampleMatrixFixture>
{
    [Theory]
    [InlineData(TrainerKind.LightGbm)]
    [InlineData(TrainerKind.FastTree)]
    [InlineData(TrainerKind.FastForest)]
    [InlineData(TrainerKind.LogisticRegression)]
    public void Explain_EveryValidationRow_BasePlusContributionsIsTheModelsRawScore(string trainer)
    {
        var model = ModelTrainer.Train(sample.Train with { Weights = ModelTrainer.ClassWeights(sample.Train.Labels) }, new TrainerSettings(trainer, Trees: 30));
        var explainer = ModelExplainer.Create(model, ModelExplainer.Prepare(model, sample.Train.Features, sample.Train.Rows));
        var rows = Math.Min(2_000, sample.Validation.Rows);
        var scores = model.RawScores(sample.Validation.Features[..(rows * sample.Width)], rows);

        var worst = 0.0;
        for (var r = 0; r < rows; r++)
        {
            var e = explainer.Explain(sample.Validation.Features.AsSpan(r * sample.Width, sample.Width));
            worst = Math.Max(worst, Math.Abs(e.BaseValue + e.Contributions.Sum() - scores[r]));
            Assert.Equal(e.RawScore, e.BaseValue + e.Contributions.Sum(), 1e-9);
        }

        Assert.InRange(worst, 0, 1e-5);
        Assert.Equal(trainer != TrainerKind.LogisticRegression, explainer.IsTreeShap);
    }
}

public sealed class LeafTablesTests
{
    [Theory]
    [InlineData(11, 4, 4)]
    [InlineData(12, 6, 7)]
    [InlineData(13, 10, 9)]
    [InlineData(14, 16, 14)]
    public void Explain_RandomTrees_SameAsAlgorithm2(int seed, int features, int depth)
    {
        var random = new Random(seed);
        var untabled = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            var tree = TreeShapTestTrees.Random(random, features, depth, 0.5 + random.NextDouble());
            var tables = LeafTables.Build([tree]);
            if (tables is null) continue; // a single leaf
            untabled += tables.UntabledLeaves;
            for (var row = 0; row < 5; row++)
            {
                // Values on the thresholds (x ≤ t goes left in both), one float either side of them, and missing or
                // infinite values (NaN goes right everywhere, −∞ left).
                var x = Enumerable.Range(0, features).Select(j => random.Next(8) switch
                {
                    0 or 1 => (float)tree.Threshold[random.Next(tree.Threshold.Length)],
                    2 => MathF.BitIncrement((float)tree.Threshold[random.Next(tree.Threshold.Length)]),
                    3 => MathF.BitDecrement((float)tree.Threshold[random.Next(tree.Threshold.Length)]),
                    4 when row == 1 => float.NaN,
                    4 when row == 2 => float.NegativeInfinity,
                    _ => (float)random.NextDouble(),
                }).ToArray();
                var expected = new double[features];
                var actual = new double[features];

                TreeShap.Explain(tree, x, expected);
                tables.Explain(x, actual);

                for (var j = 0; j < features; j++) Assert.Equal(expected[j], actual[j], 1e-9);
            }
        }

        // Trees this shallow and narrow cannot have a path through more distinct features than the tables take.
        if (Math.Min(features, depth) <= LeafTables.MaxUniqueFeatures) Assert.Equal(0, untabled);
        else Assert.True(untabled > 0, "no leaf was deep enough to be computed per row");
    }

    [Fact]
    public void Explain_OneTableSetForManyTrees_SumOfEachTreesAlgorithm2()
    {
        // The patterns of all trees come down one array of slots: a slot mixed up between trees would show here.
        var random = new Random(21);
        var trees = Enumerable.Range(0, 30).Select(_ => TreeShapTestTrees.Random(random, 9, 1 + random.Next(12), 0.5 + random.NextDouble())).ToList();
        var tables = LeafTables.Build(trees)!;
        for (var row = 0; row < 20; row++)
        {
            var x = Enumerable.Range(0, 9).Select(j => random.Next(6) switch
            {
                0 => trees[random.Next(trees.Count)] is { Threshold.Length: > 0 } t ? (float)t.Threshold[random.Next(t.Threshold.Length)] : 0.5f,
                1 => float.NaN,
                _ => (float)random.NextDouble(),
            }).ToArray();
            var expected = new double[9];
            var actual = new double[9];

            foreach (var tree in trees) TreeShap.Explain(tree, x, expected);
            tables.Explain(x, actual);

            for (var j = 0; j < 9; j++) Assert.Equal(expected[j], actual[j], 1e-9);
        }
    }

    [Fact]
    public void Explain_PathWithMoreDistinctFeaturesThanTheLimit_ComputedPerRowAndExact()
    {
        // A chain of splits on one more distinct feature than the tables take: its deepest two leaves are computed per row.
        var n = LeafTables.MaxUniqueFeatures + 1;
        var left = Enumerable.Range(0, n).Select(i => i + 1 < n ? i + 1 : ~(2 * i)).ToArray();
        var right = Enumerable.Range(0, n).Select(i => ~(2 * i + 1)).ToArray();
        left[n - 1] = ~(2 * n - 2);
        right[n - 1] = ~(2 * n - 1);
        for (var i = 0; i < n - 1; i++) right[i] = ~i;
        var tree = new ShapTree(left, right, [.. Enumerable.Range(0, n)], [.. Enumerable.Repeat(0.5, n)],
            [.. Enumerable.Range(0, 2 * n).Select(i => (double)i)], [.. Enumerable.Range(0, n).Select(i => (double)(n + 1 - i))], [.. Enumerable.Repeat(1.0, 2 * n)]);
        var tables = LeafTables.Build([tree])!;
        var x = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 0.7f : 0.2f).ToArray();
        var expected = new double[n];
        var actual = new double[n];

        TreeShap.Explain(tree, x, expected);
        tables.Explain(x, actual);

        Assert.Equal(2, tables.UntabledLeaves);
        for (var j = 0; j < n; j++) Assert.Equal(expected[j], actual[j], 1e-12);
        Assert.Contains(actual, v => Math.Abs(v) > 0.01);
    }

    [Fact]
    public void Build_TablesOverTheMemoryLimit_FewerLeavesTabled_SameContributions()
    {
        var random = new Random(15);
        var trees = Enumerable.Range(0, 20).Select(_ => TreeShapTestTrees.Random(random, 12, 9)).ToList();
        var full = LeafTables.Build(trees)!;
        // A twentieth of the room: the deeper leaves are computed per row instead.
        var small = LeafTables.Build(trees, maxTableBytes: full.TableBytes / 20)!;
        var x = Enumerable.Range(0, 12).Select(_ => (float)random.NextDouble()).ToArray();
        var expected = new double[12];
        var actual = new double[12];

        full.Explain(x, expected);
        small.Explain(x, actual);

        Assert.True(small.TableBytes <= full.TableBytes / 20);
        Assert.True(small.UntabledLeaves > full.UntabledLeaves);
        for (var j = 0; j < 12; j++) Assert.Equal(expected[j], actual[j], 1e-12);
    }
}

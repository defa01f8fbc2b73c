using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace FraudWorkbench.Core.Explain;

/// <summary>What a model's explainer needs besides the model: training-row covers per tree node, or the training means of a linear model's inputs.</summary>
public sealed record ExplainerData(IReadOnlyList<double[]>? NodeCovers, IReadOnlyList<double[]>? LeafCovers, double[]? Means);

/// <summary>One row's explanation in raw-score (log-odds) space: <c>BaseValue + Σ Contributions = RawScore</c>.</summary>
public sealed record Explanation(double BaseValue, double[] Contributions, double RawScore);

/// <summary>
/// Explains a trained model's raw score: exact TreeSHAP over the tree ensembles (LightGBM, FastTree,
/// FastForest) with node covers counted from the training rows, and the exact linear contributions
/// w·(x − mean) for logistic regression (its normaliser and weights together are affine in the inputs).
/// </summary>
public sealed class ModelExplainer
{
    private readonly IReadOnlyList<ShapTree>? trees;
    private readonly LeafTables? tables;
    private readonly double bias;
    private readonly double[]? gradient;
    private readonly double[]? means;

    private ModelExplainer(int width, double baseValue, IReadOnlyList<ShapTree>? trees, double bias, double[]? gradient, double[]? means)
    {
        Width = width;
        BaseValue = baseValue;
        this.trees = trees;
        tables = trees is null ? null : LeafTables.Build(trees);
        this.bias = bias;
        this.gradient = gradient;
        this.means = means;
    }

    public int Width { get; }

    /// <summary>The expected raw score over the training rows.</summary>
    public double BaseValue { get; }

    public bool IsTreeShap => trees is not null;

    public IReadOnlyList<ShapTree>? Trees => trees;

    /// <summary>The leaf tables TreeSHAP reads (null for a linear model or trees without a split).</summary>
    public LeafTables? Tables => tables;

    public Explanation Explain(ReadOnlySpan<float> x)
    {
        var phi = new double[Width];
        double raw;
        if (trees is not null)
        {
            raw = bias;
            tables?.Explain(x, phi);
            for (var t = 0; t < trees.Count; t++) raw += trees[t].Weight * trees[t].Predict(x);
        }
        else
        {
            raw = BaseValue;
            for (var j = 0; j < Width; j++)
            {
                phi[j] = gradient![j] * (x[j] - means![j]);
                raw += phi[j];
            }
        }

        return new Explanation(BaseValue, phi, raw);
    }

    /// <summary>Counts the training rows at every node of every tree (or the inputs' means for a linear model): stored with the model.</summary>
    public static ExplainerData Prepare(TrainedModel model, float[] trainingRows, int rows)
    {
        var width = model.Width;
        if (TreesOf(model.Model) is { } ensemble)
        {
            var nodeCovers = new List<double[]>();
            var leafCovers = new List<double[]>();
            foreach (var tree in ensemble.Trees)
            {
                var nodes = new double[tree.NumberOfNodes];
                var leaves = new double[tree.NumberOfLeaves];
                for (var r = 0; r < rows; r++)
                {
                    var x = trainingRows.AsSpan(r * width, width);
                    if (tree.NumberOfNodes == 0) { leaves[0]++; continue; }
                    var node = 0;
                    while (true)
                    {
                        nodes[node]++;
                        var next = x[tree.NumericalSplitFeatureIndexes[node]] <= tree.NumericalSplitThresholds[node] ? tree.LeftChild[node] : tree.RightChild[node];
                        if (next < 0) { leaves[~next]++; break; }
                        node = next;
                    }
                }

                nodeCovers.Add(nodes);
                leafCovers.Add(leaves);
            }

            return new ExplainerData(nodeCovers, leafCovers, null);
        }

        var means = new double[width];
        for (var r = 0; r < rows; r++) for (var j = 0; j < width; j++) means[j] += trainingRows[r * width + j];
        for (var j = 0; j < width; j++) means[j] /= Math.Max(1, rows);
        return new ExplainerData(null, null, means);
    }

    /// <summary>Builds the explainer of <paramref name="model"/> with the data <see cref="Prepare"/> stored.</summary>
    public static ModelExplainer Create(TrainedModel model, ExplainerData data)
    {
        if (TreesOf(model.Model) is { } ensemble)
        {
            if (data.NodeCovers is null || data.LeafCovers is null || data.NodeCovers.Count != ensemble.Trees.Count)
                throw new InvalidOperationException("The stored covers do not belong to this tree ensemble.");
            var trees = new List<ShapTree>();
            for (var t = 0; t < ensemble.Trees.Count; t++)
            {
                var tree = ensemble.Trees[t];
                if (tree.CategoricalSplitFlags.Any(f => f))
                    throw new NotSupportedException("A tree with categorical splits cannot be explained exactly here; train with categorical splits off (the default).");
                trees.Add(new ShapTree([.. tree.LeftChild], [.. tree.RightChild], [.. tree.NumericalSplitFeatureIndexes],
                    [.. tree.NumericalSplitThresholds.Select(v => (double)v)], [.. tree.LeafValues], data.NodeCovers[t], data.LeafCovers[t], ensemble.TreeWeights[t]));
            }

            var expected = ensemble.Bias + trees.Sum(t => t.Weight * t.ExpectedValue());
            return new ModelExplainer(model.Width, expected, trees, ensemble.Bias, null, null);
        }

        // Linear: score = b + Σ wⱼ·sⱼ·(xⱼ − oⱼ) with the normaliser's scale s and offset o, so each input's
        // contribution against the training mean is wⱼ·sⱼ·(xⱼ − mⱼ), read off the parameters in double precision.
        var means = data.Means ?? throw new InvalidOperationException("The stored input means are missing.");
        var (weights, linearBias, scale, offset) = LinearOf(model.Model, model.Width);
        var gradient = new double[model.Width];
        var baseValue = linearBias;
        for (var j = 0; j < model.Width; j++)
        {
            gradient[j] = weights[j] * scale[j];
            baseValue += gradient[j] * (means[j] - offset[j]);
        }

        return new ModelExplainer(model.Width, baseValue, null, 0, gradient, means);
    }

    private static (double[] Weights, double Bias, double[] Scale, double[] Offset) LinearOf(ITransformer model, int width)
    {
        var transformers = model is IEnumerable<ITransformer> chain ? [.. chain] : new List<ITransformer> { model };
        var scale = Enumerable.Repeat(1.0, width).ToArray();
        var offset = new double[width];
        foreach (var normalizer in transformers.OfType<NormalizingTransformer>())
        {
            if (normalizer.GetNormalizerModelParameters(0) is not NormalizingTransformer.AffineNormalizerModelParameters<System.Collections.Immutable.ImmutableArray<float>> affine)
                throw new NotSupportedException("Only affine normalisers can be explained exactly.");
            for (var j = 0; j < width; j++)
            {
                var s = affine.Scale.Length == 1 ? affine.Scale[0] : affine.Scale[j];
                var o = affine.Offset.IsDefaultOrEmpty ? 0 : affine.Offset.Length == 1 ? affine.Offset[0] : affine.Offset[j];
                // Composes with what came before: s·((x − o_prev)·s_prev − o).
                offset[j] = offset[j] + o / scale[j];
                scale[j] *= s;
            }
        }

        var linear = transformers.OfType<ISingleFeaturePredictionTransformer<object>>().Select(t => TrainedModel.Unwrap(t.Model)).OfType<LinearModelParameters>().First();
        return ([.. linear.Weights.Select(w => (double)w)], linear.Bias, scale, offset);
    }

    private static TreeEnsembleView? TreesOf(ITransformer model)
    {
        var transformers = model is IEnumerable<ITransformer> chain ? chain.Reverse() : [model];
        foreach (var parameters in transformers.OfType<ISingleFeaturePredictionTransformer<object>>().Select(t => TrainedModel.Unwrap(t.Model)))
        {
            switch (parameters)
            {
                case TreeEnsembleModelParametersBasedOnRegressionTree r:
                    return new TreeEnsembleView([.. r.TrainedTreeEnsemble.Trees], r.TrainedTreeEnsemble.TreeWeights, r.TrainedTreeEnsemble.Bias);
                case TreeEnsembleModelParametersBasedOnQuantileRegressionTree q:
                    return new TreeEnsembleView([.. q.TrainedTreeEnsemble.Trees], q.TrainedTreeEnsemble.TreeWeights, q.TrainedTreeEnsemble.Bias);
                case LinearModelParameters:
                    return null;
            }
        }

        return null;
    }

    private sealed record TreeEnsembleView(IReadOnlyList<RegressionTreeBase> Trees, IReadOnlyList<double> TreeWeights, double Bias);
}

namespace FraudWorkbench.Core.Explain;

/// <summary>
/// A faster exact TreeSHAP for shallow trees (the idea of Fast TreeSHAP v2, Yang 2021): a leaf's share of
/// every contribution depends only on which of its path's features the row agrees with, so for each leaf
/// and each agreement pattern the contributions are computed once, when the model loads. Explaining a row
/// is then, per leaf, one pass over its path to find the pattern and one table lookup per feature: O(L·D)
/// per tree instead of O(L·D²), for 2^D·D numbers of memory per leaf, hence only for shallow trees.
/// </summary>
public sealed class LeafTables
{
    /// <summary>Trees with a leaf whose path has more distinct features than this use Algorithm 2 instead.</summary>
    public const int MaxUniqueFeatures = 8;

    private readonly int[] starts;
    private readonly int[] features;
    private readonly double[] lower;
    private readonly double[] upper;
    private readonly int[] tableStarts;
    private readonly double[] table;

    private sealed record Leaf(int[] Features, double[] Lower, double[] Upper, double[] Table);

    private LeafTables(Leaf[] leaves)
    {
        starts = new int[leaves.Length + 1];
        tableStarts = new int[leaves.Length];
        for (var l = 0; l < leaves.Length; l++)
        {
            starts[l + 1] = starts[l] + leaves[l].Features.Length;
            if (l + 1 < leaves.Length) tableStarts[l + 1] = tableStarts[l] + leaves[l].Table.Length;
        }

        features = [.. leaves.SelectMany(l => l.Features)];
        lower = [.. leaves.SelectMany(l => l.Lower)];
        upper = [.. leaves.SelectMany(l => l.Upper)];
        table = [.. leaves.SelectMany(l => l.Table)];
    }

    /// <summary>The tables for <paramref name="tree"/>, or null when a path is too deep for them.</summary>
    public static LeafTables? TryBuild(ShapTree tree)
    {
        if (tree.Left.Length == 0) return null;
        var leaves = new List<Leaf>();
        var path = new List<(int Feature, double Threshold, bool Left, double Share)>();
        return Walk(0) ? new LeafTables([.. leaves]) : null;

        bool Walk(int node)
        {
            var cover = tree.NodeCover[node];
            foreach (var (child, left) in new[] { (tree.Left[node], true), (tree.Right[node], false) })
            {
                var childCover = child < 0 ? tree.LeafCover[~child] : tree.NodeCover[child];
                path.Add((tree.Feature[node], tree.Threshold[node], left, cover > 0 ? childCover / cover : 0.5));
                var ok = child < 0 ? AddLeaf(tree.LeafValue[~child] * tree.Weight) : Walk(child);
                path.RemoveAt(path.Count - 1);
                if (!ok) return false;
            }

            return true;
        }

        bool AddLeaf(double value)
        {
            // One element per distinct feature: its cover shares multiply, its thresholds narrow one interval.
            var features = path.Select(p => p.Feature).Distinct().ToArray();
            if (features.Length > MaxUniqueFeatures) return false;
            var d = features.Length;
            var zero = new double[d];
            var lower = new double[d];
            var upper = new double[d];
            for (var k = 0; k < d; k++)
            {
                zero[k] = 1;
                lower[k] = double.NegativeInfinity;
                upper[k] = double.PositiveInfinity;
                foreach (var step in path.Where(p => p.Feature == features[k]))
                {
                    zero[k] *= step.Share;
                    if (step.Left) upper[k] = Math.Min(upper[k], step.Threshold);
                    else lower[k] = Math.Max(lower[k], step.Threshold);
                }
            }

            var table = new double[(1 << d) * d];
            var elements = new TreeShap.PathElement[d + 1];
            for (var mask = 0; mask < 1 << d; mask++)
            {
                // The path as Algorithm 2 builds it at this leaf, with these one-fractions; then its per-element sums.
                TreeShap.Extend(elements, 0, 0, 1, 1, -1);
                for (var k = 0; k < d; k++) TreeShap.Extend(elements, 0, k + 1, zero[k], (mask >> k) & 1, features[k]);
                for (var k = 0; k < d; k++)
                {
                    var element = elements[k + 1];
                    table[mask * d + k] = TreeShap.UnwoundPathSum(elements, 0, d, k + 1) * (element.One - element.Zero) * value;
                }
            }

            leaves.Add(new Leaf(features, lower, upper, table));
            return true;
        }
    }

    public void Explain(ReadOnlySpan<float> x, Span<double> phi)
    {
        // Flat arrays, walked in order: the per-leaf records above only exist while building.
        var features = this.features;
        var lower = this.lower;
        var upper = this.upper;
        var table = this.table;
        for (var l = 0; l < starts.Length - 1; l++)
        {
            var start = starts[l];
            var d = starts[l + 1] - start;
            var mask = 0;
            for (var k = 0; k < d; k++)
            {
                double v = x[features[start + k]];
                // NaN fails every "x ≤ threshold", so it follows the right branches only (as Predict does).
                var follows = double.IsNaN(v) ? double.IsPositiveInfinity(upper[start + k]) : v > lower[start + k] && v <= upper[start + k];
                if (follows) mask |= 1 << k;
            }

            var row = tableStarts[l] + mask * d;
            for (var k = 0; k < d; k++) phi[features[start + k]] += table[row + k];
        }
    }
}

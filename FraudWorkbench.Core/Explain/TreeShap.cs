namespace FraudWorkbench.Core.Explain;

/// <summary>
/// One regression tree in flat arrays. Internal node i splits on <see cref="Feature"/>[i]: x ≤ threshold goes
/// to <see cref="Left"/>[i], else <see cref="Right"/>[i]; a child index below zero is leaf ~index.
/// <see cref="NodeCover"/> and <see cref="LeafCover"/> count the training rows that reached each node.
/// </summary>
public sealed record ShapTree(int[] Left, int[] Right, int[] Feature, double[] Threshold, double[] LeafValue, double[] NodeCover, double[] LeafCover, double Weight = 1)
{
    public int Depth => field > 0 || Left.Length == 0 ? field : field = DepthOf(0);

    private int DepthOf(int node) =>
        1 + Math.Max(Left[node] < 0 ? 0 : DepthOf(Left[node]), Right[node] < 0 ? 0 : DepthOf(Right[node]));

    /// <summary>The tree's output for a row (before its weight).</summary>
    public double Predict(ReadOnlySpan<float> x)
    {
        if (Left.Length == 0) return LeafValue[0];
        var node = 0;
        while (true)
        {
            var next = x[Feature[node]] <= Threshold[node] ? Left[node] : Right[node];
            if (next < 0) return LeafValue[~next];
            node = next;
        }
    }

    /// <summary>The cover-weighted mean of the leaves: the tree's expected output over the training rows.</summary>
    public double ExpectedValue()
    {
        var total = LeafCover.Sum();
        return total <= 0 ? LeafValue.Average() : LeafValue.Select((v, i) => v * LeafCover[i]).Sum() / total;
    }
}

/// <summary>
/// Exact path-dependent TreeSHAP (Lundberg, Erion &amp; Lee 2018, arXiv 1802.03888, Algorithm 2): Shapley
/// values of the conditional expectation that follows the training covers at every split on a feature
/// outside the coalition, in O(L·D²) per tree. The contributions plus the expected value equal the tree's
/// output exactly (local accuracy).
/// </summary>
public static class TreeShap
{
    [ThreadStatic]
    private static PathElement[]? buffer;

    internal struct PathElement
    {
        public int Feature;
        public double Zero;   // share of the training rows that would follow this path if the feature were unknown
        public double One;    // 1 when x itself follows this path, else 0
        public double Weight; // the permutation weight of the subsets of this length
    }

    /// <summary>Adds the tree's (weighted) contributions for row <paramref name="x"/> to <paramref name="phi"/>.</summary>
    public static void Explain(ShapTree tree, ReadOnlySpan<float> x, Span<double> phi)
    {
        if (tree.Left.Length == 0) return; // a single leaf explains nothing
        var depth = tree.Depth + 2;
        var size = depth * (depth + 1) / 2;
        // One scratch buffer per thread: every level of the recursion writes its own stretch of it.
        var path = buffer is { } b && b.Length >= size ? b : buffer = new PathElement[Math.Max(size, 256)];
        Recurse(tree, x, phi, node: 0, isLeaf: false, path, offset: 0, uniqueDepth: 0, zero: 1, one: 1, feature: -1);
    }

    private static void Recurse(ShapTree tree, ReadOnlySpan<float> x, Span<double> phi, int node, bool isLeaf, PathElement[] path, int offset, int uniqueDepth, double zero, double one, int feature)
    {
        // A branch neither x follows nor any training row reached weighs nothing in any coalition (and
        // would divide by zero if unwound further down).
        if (zero == 0 && one == 0) return;

        // Each level works on its own copy of the path, right after its parent's.
        var parentOffset = offset;
        offset += uniqueDepth;
        if (uniqueDepth > 0) Array.Copy(path, parentOffset, path, offset, uniqueDepth);
        Extend(path, offset, uniqueDepth, zero, one, feature);

        if (isLeaf)
        {
            var value = tree.LeafValue[node] * tree.Weight;
            for (var i = 1; i <= uniqueDepth; i++)
            {
                var w = UnwoundPathSum(path, offset, uniqueDepth, i);
                var e = path[offset + i];
                phi[e.Feature] += w * (e.One - e.Zero) * value;
            }

            return;
        }

        var split = tree.Feature[node];
        var goLeft = x[split] <= tree.Threshold[node];
        var hot = goLeft ? tree.Left[node] : tree.Right[node];
        var cold = goLeft ? tree.Right[node] : tree.Left[node];
        var cover = tree.NodeCover[node];
        var hotCover = Cover(tree, hot);
        var coldCover = Cover(tree, cold);
        double incomingZero = 1, incomingOne = 1;

        // A feature met again on the path is undone first: its earlier fractions multiply into this split's.
        var previous = 1;
        for (; previous <= uniqueDepth; previous++) if (path[offset + previous].Feature == split) break;
        if (previous <= uniqueDepth)
        {
            incomingZero = path[offset + previous].Zero;
            incomingOne = path[offset + previous].One;
            Unwind(path, offset, uniqueDepth, previous);
            uniqueDepth--;
        }

        // Unreached nodes (no training row) split evenly, which keeps the background a proper distribution.
        var hotShare = cover > 0 ? hotCover / cover : 0.5;
        var coldShare = cover > 0 ? coldCover / cover : 0.5;
        Recurse(tree, x, phi, hot < 0 ? ~hot : hot, hot < 0, path, offset, uniqueDepth + 1, hotShare * incomingZero, incomingOne, split);
        Recurse(tree, x, phi, cold < 0 ? ~cold : cold, cold < 0, path, offset, uniqueDepth + 1, coldShare * incomingZero, 0, split);
    }

    private static double Cover(ShapTree tree, int child) => child < 0 ? tree.LeafCover[~child] : tree.NodeCover[child];

    internal static void Extend(PathElement[] path, int offset, int uniqueDepth, double zero, double one, int feature)
    {
        path[offset + uniqueDepth] = new PathElement { Feature = feature, Zero = zero, One = one, Weight = uniqueDepth == 0 ? 1 : 0 };
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            path[offset + i + 1].Weight += one * path[offset + i].Weight * (i + 1) / (uniqueDepth + 1);
            path[offset + i].Weight = zero * path[offset + i].Weight * (uniqueDepth - i) / (uniqueDepth + 1);
        }
    }

    private static void Unwind(PathElement[] path, int offset, int uniqueDepth, int index)
    {
        var one = path[offset + index].One;
        var zero = path[offset + index].Zero;
        var next = path[offset + uniqueDepth].Weight;
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            if (one != 0)
            {
                var t = path[offset + i].Weight;
                path[offset + i].Weight = next * (uniqueDepth + 1) / ((i + 1) * one);
                next = t - path[offset + i].Weight * zero * (uniqueDepth - i) / (uniqueDepth + 1);
            }
            else
            {
                path[offset + i].Weight = path[offset + i].Weight * (uniqueDepth + 1) / (zero * (uniqueDepth - i));
            }
        }

        for (var i = index; i < uniqueDepth; i++)
        {
            path[offset + i].Feature = path[offset + i + 1].Feature;
            path[offset + i].Zero = path[offset + i + 1].Zero;
            path[offset + i].One = path[offset + i + 1].One;
        }
    }

    /// <summary>The sum of the weights the path would have with element <paramref name="index"/> unwound, without unwinding it.</summary>
    internal static double UnwoundPathSum(PathElement[] path, int offset, int uniqueDepth, int index)
    {
        var one = path[offset + index].One;
        var zero = path[offset + index].Zero;
        var next = path[offset + uniqueDepth].Weight;
        var total = 0.0;
        for (var i = uniqueDepth - 1; i >= 0; i--)
        {
            if (one != 0)
            {
                var t = next * (uniqueDepth + 1) / ((i + 1) * one);
                total += t;
                next = path[offset + i].Weight - t * zero * (uniqueDepth - i) / (uniqueDepth + 1);
            }
            else if (zero != 0)
            {
                total += path[offset + i].Weight / zero / ((uniqueDepth - i) / (double)(uniqueDepth + 1));
            }
        }

        return total;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace FraudWorkbench.Core.Explain;

/// <summary>
/// A faster exact TreeSHAP (the idea of Fast TreeSHAP v2, Yang 2021): a leaf's share of every contribution
/// depends only on which of its path's distinct features the row agrees with. For a leaf with few distinct
/// features the contributions for each agreement pattern are computed once, when the model loads, and
/// explaining a row is one comparison per split to find every leaf's pattern and one table lookup per feature. A
/// leaf with more (2^D·D numbers would be too many) builds its path for the row's pattern and unwinds it
/// on the spot, O(D²) for that leaf alone, so one deep leaf no longer costs its whole tree the tables.
/// One instance holds every leaf of an ensemble: a row first finds every leaf's pattern (no branches, no
/// table reads), then reads the tables, so the reads do not wait on each other — the tables of a
/// 100-tree model are megabytes, and read one after another each would wait on memory.
/// </summary>
public sealed class LeafTables
{
    /// <summary>Leaves whose paths have more distinct features than this are computed for each row instead of tabled.</summary>
    public const int MaxUniqueFeatures = 10;

    /// <summary>
    /// The tables of one ensemble stay within this; when the leaves up to <see cref="MaxUniqueFeatures"/> would
    /// need more, the limit drops (a 100-tree, 31-leaf LightGBM model needs about 13 MB at 10).
    /// </summary>
    public const long MaxTableBytes = 64L << 20;

    [ThreadStatic]
    private static int[]? rowBuffer;

    [ThreadStatic]
    private static int[]? patternBuffer;

    private readonly int[] starts;
    private readonly int[] features;
    private readonly double[] lower;
    private readonly double[] upper;
    private readonly double[] zero;
    private readonly double[] values;
    private readonly int[] tableStarts; // -1: computed per row
    private readonly double[] table;
    private readonly int maxUnique;
    private readonly Split[] splits;
    private readonly int[] roots;
    private readonly int[] leafSlots;

    private sealed record Leaf(int[] Features, double[] Lower, double[] Upper, double[] Zero, double Value, double[]? Table);

    /// <summary>
    /// A split in the pattern pass, trees in pre-order. Slots hold the agreement pattern of the path to a node,
    /// bit k for the path's k-th distinct feature (in order of first appearance, the order of a leaf's table).
    /// </summary>
    /// <param name="Bit">The split feature's bit on this path (0 past the 31st distinct feature: only tabled leaves, at most 10, use the pattern).</param>
    /// <param name="New">The same bit when the feature first appears on the path here, else 0.</param>
    private readonly record struct Split(double Threshold, int Feature, int Bit, int New, int Slot, int Left, int Right);

    private LeafTables(Leaf[] leaves, Split[] splits, int[] roots, int[] leafSlots)
    {
        this.splits = splits;
        this.roots = roots;
        this.leafSlots = leafSlots;
        starts = new int[leaves.Length + 1];
        tableStarts = new int[leaves.Length];
        var next = 0;
        for (var l = 0; l < leaves.Length; l++)
        {
            starts[l + 1] = starts[l] + leaves[l].Features.Length;
            tableStarts[l] = leaves[l].Table is null ? -1 : next;
            next += leaves[l].Table?.Length ?? 0;
        }

        // Copied into one array of the final size: growing it would briefly hold several times the tables.
        table = new double[next];
        for (var l = 0; l < leaves.Length; l++) leaves[l].Table?.CopyTo(table, tableStarts[l]);

        features = [.. leaves.SelectMany(l => l.Features)];
        lower = [.. leaves.SelectMany(l => l.Lower)];
        upper = [.. leaves.SelectMany(l => l.Upper)];
        zero = [.. leaves.SelectMany(l => l.Zero)];
        values = [.. leaves.Select(l => l.Value)];
        maxUnique = leaves.Max(l => l.Features.Length);
    }

    public int Leaves => tableStarts.Length;

    /// <summary>How many leaves are computed per row rather than looked up.</summary>
    public int UntabledLeaves => tableStarts.Count(t => t < 0);

    public long TableBytes => table.Length * (long)sizeof(double);

    public double MeanDistinctFeatures => features.Length / (double)Leaves;

    /// <summary>The tables for every leaf of <paramref name="trees"/>; null when no tree has a split (single leaves explain nothing).</summary>
    public static LeafTables? Build(IEnumerable<ShapTree> trees, long maxTableBytes = MaxTableBytes)
    {
        var leaves = new List<Leaf>();
        var splits = new List<Split>();
        var roots = new List<int>();
        var leafSlots = new List<int>();
        var slots = 0;
        var path = new List<(int Feature, double Threshold, bool Left, double Share)>();
        foreach (var tree in trees.Where(t => t.Left.Length > 0))
        {
            roots.Add(slots++);
            Walk(tree, 0, roots[^1]);
        }

        return leaves.Count == 0 ? null : new LeafTables(WithTables(leaves, maxTableBytes), [.. splits], [.. roots], [.. leafSlots]);

        void Walk(ShapTree tree, int node, int slot)
        {
            var cover = tree.NodeCover[node];
            var distinct = path.Select(p => p.Feature).Distinct().ToList();
            var seen = distinct.IndexOf(tree.Feature[node]);
            var position = seen >= 0 ? seen : distinct.Count;
            var bit = position < 31 ? 1 << position : 0;
            var split = splits.Count;
            splits.Add(new Split(tree.Threshold[node], tree.Feature[node], bit, seen < 0 ? bit : 0, slot, 0, 0));
            var childSlots = new int[2];
            foreach (var (child, left, side) in new[] { (tree.Left[node], true, 0), (tree.Right[node], false, 1) })
            {
                var childCover = child < 0 ? tree.LeafCover[~child] : tree.NodeCover[child];
                path.Add((tree.Feature[node], tree.Threshold[node], left, cover > 0 ? childCover / cover : 0.5));
                childSlots[side] = slots++;
                if (child < 0)
                {
                    leafSlots.Add(childSlots[side]);
                    AddLeaf(tree.LeafValue[~child] * tree.Weight);
                }
                else Walk(tree, child, childSlots[side]);
                path.RemoveAt(path.Count - 1);
            }

            splits[split] = splits[split] with { Left = childSlots[0], Right = childSlots[1] };
        }

        void AddLeaf(double value)
        {
            // One element per distinct feature: its cover shares multiply, its thresholds narrow one interval.
            var features = path.Select(p => p.Feature).Distinct().ToArray();
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

            leaves.Add(new Leaf(features, lower, upper, zero, value, null));
        }
    }

    /// <summary>The leaves given tables: every leaf up to the most distinct features whose tables all fit <paramref name="maxTableBytes"/>.</summary>
    private static Leaf[] WithTables(List<Leaf> leaves, long maxTableBytes)
    {
        static long Bytes(int d) => (1L << d) * d * sizeof(double);
        var limit = MaxUniqueFeatures;
        while (limit > 0 && leaves.Where(l => l.Features.Length <= limit).Sum(l => Bytes(l.Features.Length)) > maxTableBytes) limit--;
        return [.. leaves.Select(leaf =>
        {
            var d = leaf.Features.Length;
            if (d > limit) return leaf;
            var table = new double[(1 << d) * d];
            var one = new bool[d];
            var q = new double[d + 1];
            for (var mask = 0; mask < 1 << d; mask++)
            {
                for (var k = 0; k < d; k++) one[k] = ((mask >> k) & 1) == 1;
                Contributions(leaf.Zero, one, leaf.Value, table.AsSpan(mask * d, d), q);
            }

            return leaf with { Table = table };
        })];
    }

    /// <summary>
    /// A leaf's contribution to each of its distinct features for one agreement pattern (<paramref name="one"/>:
    /// true where the row follows the path). With z the cover shares and o the agreements, the leaf's value
    /// for a coalition S is v·Π(S) o·Π(not S) z, so its Shapley value is
    /// φ_k = v·(o_k − z_k)·Σ_s w(s)·[t^s] Π_{j≠k} (z_j + o_j·t), with w(s) = s!(d−1−s)!/d!.
    /// The disagreeing features only scale that product (and share one value); the agreeing ones form the
    /// polynomial Q(t) = Π(z_j + t), from which each k's own factor is divided out exactly. O(D²) products,
    /// no divisions.
    /// </summary>
    private static void Contributions(ReadOnlySpan<double> zero, ReadOnlySpan<bool> one, double value, Span<double> output, Span<double> q)
    {
        var d = zero.Length;
        var m = 0;
        var scale = value; // v·Π of the disagreeing features' shares
        q[0] = 1;
        for (var k = 0; k < d; k++)
        {
            if (!one[k])
            {
                scale *= zero[k];
                continue;
            }

            q[m + 1] = 0;
            for (var i = m + 1; i > 0; i--) q[i] = zero[k] * q[i] + q[i - 1];
            q[0] *= zero[k];
            m++;
        }

        var w = d < Weights.Length ? Weights[d] : ShapleyWeights(d);
        // Disagreeing: o_k − z_k = −z_k cancels its own factor in the scale; all of them get −scale·W(Q).
        var disagreeing = 0.0;
        if (m < d)
            for (var s = 0; s <= m; s++) disagreeing -= w[s] * q[s];

        for (var k = 0; k < d; k++)
        {
            if (!one[k])
            {
                output[k] = scale * disagreeing;
                continue;
            }

            // Q(t) / (t + z_k), top coefficient down, weighted as it goes.
            var z = zero[k];
            var r = q[m];
            var sum = w[m - 1] * r;
            for (var i = m - 1; i > 0; i--)
            {
                r = q[i] - z * r;
                sum += w[i - 1] * r;
            }

            output[k] = scale * (1 - z) * sum;
        }
    }

    private static readonly double[][] Weights = [.. Enumerable.Range(0, 65).Select(ShapleyWeights)];

    /// <summary>w(s) = s!(d−1−s)!/d! for s &lt; d: the share of the orderings in which a feature joins a coalition of s.</summary>
    private static double[] ShapleyWeights(int d)
    {
        var w = new double[Math.Max(d, 1)];
        if (d == 0) return w;
        w[0] = 1.0 / d;
        for (var s = 0; s + 1 < d; s++) w[s + 1] = w[s] * (s + 1) / (d - 1 - s);
        return w;
    }

    /// <summary>Adds every leaf's contributions for row <paramref name="x"/> to <paramref name="phi"/>.</summary>
    public void Explain(ReadOnlySpan<float> x, Span<double> phi)
    {
        // NaN fails every "x ≤ threshold" and so follows right branches only, exactly as +∞ does; with it
        // replaced, following a leaf's interval (for the leaves computed per row) is two comparisons without a
        // branch. −∞ goes left everywhere, as the lowest finite double does, which unlike −∞ passes a path's
        // missing lower bound (−∞ < x).
        Span<double> v = x.Length <= 512 ? stackalloc double[x.Length] : new double[x.Length];
        for (var j = 0; j < x.Length; j++) v[j] = float.IsNaN(x[j]) ? double.PositiveInfinity : float.IsNegativeInfinity(x[j]) ? double.MinValue : x[j];
        var rows = rowBuffer is { } r && r.Length >= tableStarts.Length ? r : rowBuffer = new int[tableStarts.Length];

        FindRows(v, rows);

        // Pass 2: the table reads, already on their way, independent of each other.
        ref var feature = ref MemoryMarshal.GetArrayDataReference(features);
        ref var cells = ref MemoryMarshal.GetArrayDataReference(table);
        Span<bool> one = stackalloc bool[maxUnique];
        Span<double> contributions = stackalloc double[maxUnique];
        Span<double> q = stackalloc double[maxUnique + 1];
        for (var l = 0; l < tableStarts.Length; l++)
        {
            int from = starts[l], d = starts[l + 1] - from;
            if (tableStarts[l] is var tableStart and >= 0)
            {
                ref var cell = ref Unsafe.Add(ref cells, tableStart + rows[l] * d);
                for (var k = 0; k < d; k++) phi[Unsafe.Add(ref feature, from + k)] += Unsafe.Add(ref cell, k);
                continue;
            }

            // Too many distinct features to table: computed for this row's pattern.
            for (var k = 0; k < d; k++)
            {
                var value = v[features[from + k]];
                one[k] = value > lower[from + k] && value <= upper[from + k];
            }

            Contributions(zero.AsSpan(from, d), one[..d], values[l], contributions[..d], q);
            for (var k = 0; k < d; k++) phi[features[from + k]] += contributions[k];
        }
    }

    /// <summary>
    /// Pass 1: each tabled leaf's agreement pattern, hence the row of its table to read, asked of memory at once.
    /// The patterns come down the trees, one comparison per split rather than two per leaf and feature, with no
    /// branch: a child's pattern is its parent's with the split's bit added where its feature first appears, and
    /// cleared on the side the row does not take.
    /// </summary>
    private unsafe void FindRows(ReadOnlySpan<double> v, int[] rows)
    {
        var slots = roots.Length + 2 * splits.Length; // a slot per root and per child
        var pattern = patternBuffer is { } b && b.Length >= slots ? b : patternBuffer = new int[slots];
        ref var patterns = ref MemoryMarshal.GetArrayDataReference(pattern);
        foreach (var root in roots) Unsafe.Add(ref patterns, root) = 0;
        ref var split = ref MemoryMarshal.GetArrayDataReference(splits);
        for (var i = 0; i < splits.Length; i++)
        {
            ref readonly var s = ref Unsafe.Add(ref split, i);
            var p = Unsafe.Add(ref patterns, s.Slot) | s.New;
            var right = v[s.Feature] <= s.Threshold ? 0 : s.Bit;
            Unsafe.Add(ref patterns, s.Left) = p & ~right;
            Unsafe.Add(ref patterns, s.Right) = p & ~(s.Bit ^ right);
        }

        fixed (double* cells = table)
        {
            for (var l = 0; l < tableStarts.Length; l++)
            {
                if (tableStarts[l] < 0) continue;
                var mask = Unsafe.Add(ref patterns, leafSlots[l]);
                rows[l] = mask;
                if (!Sse.IsSupported) continue;
                // A row of up to ten numbers spans up to three cache lines: ask for each.
                var d = starts[l + 1] - starts[l];
                var row = cells + tableStarts[l] + mask * d;
                for (var k = 0; k < d; k += 8) Sse.Prefetch0(row + k);
                Sse.Prefetch0(row + (d - 1));
            }
        }
    }
}

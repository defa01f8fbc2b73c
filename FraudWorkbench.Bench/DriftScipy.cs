namespace FraudWorkbench.Bench;

/// <summary>
/// The scipy side of <c>bench drift</c>'s raw path, run by Debian's python3 (numpy and scipy from apt; no pandas needed):
/// reads the same two CSV files (untimed; Python's float() rounds correctly, so every value is the double .NET
/// parsed), then times only the statistics: <c>ks_2samp</c> per numeric column, and per categorical column a
/// <c>Counter</c> of each side (hashing, the fastest counting in plain Python) aligned into a 2 × k table +
/// <c>chi2_contingency</c>, missing values dropped as ours are. Prints the scipy version,
/// one JSON line per column, and the best time last.
/// </summary>
public static class DriftScipy
{
    public static string Script(string referencePath, string currentPath, IReadOnlyList<string> numeric, IReadOnlyList<string> categorical, int runs)
    {
        static string List(IEnumerable<string> names) => "[" + string.Join(", ", names.Select(PythonReference.Literal)) + "]";
        return $$"""
            import csv, json, time
            from collections import Counter
            import numpy as np, scipy
            from scipy.stats import ks_2samp, chi2_contingency
            numeric = {{List(numeric)}}
            categorical = {{List(categorical)}}

            def load(path):
                with open(path, newline="") as f:
                    rows = csv.reader(f)
                    header = next(rows)
                    nums = [header.index(c) for c in numeric]
                    cats = [header.index(c) for c in categorical]
                    num = [[] for _ in numeric]
                    cat = [[] for _ in categorical]
                    for row in rows:
                        for k, i in enumerate(nums):
                            if row[i] != "":
                                num[k].append(float(row[i]))  # correctly rounded, as .NET's double.Parse
                        for k, i in enumerate(cats):
                            if row[i] != "":
                                cat[k].append(row[i])
                return [np.array(v, dtype=np.float64) for v in num], cat

            ref_num, ref_cat = load({{PythonReference.Literal(referencePath)}})
            cur_num, cur_cat = load({{PythonReference.Literal(currentPath)}})
            print("scipy", scipy.__version__)

            def compute():
                out = []
                t0 = time.perf_counter()
                for k, c in enumerate(numeric):
                    r = ks_2samp(ref_num[k], cur_num[k])
                    out.append({"column": c, "test": "ks", "statistic": float(r.statistic), "pValue": float(r.pvalue)})
                t1 = time.perf_counter()
                for k, c in enumerate(categorical):
                    a, b = Counter(ref_cat[k]), Counter(cur_cat[k])
                    values = sorted(set(a) | set(b))
                    table = np.array([[a[v] for v in values], [b[v] for v in values]])
                    stat, p, dof, _ = chi2_contingency(table)
                    out.append({"column": c, "test": "chisquare", "statistic": float(stat), "pValue": float(p)})
                return out, t1 - t0, time.perf_counter() - t1

            best = None
            for _ in range({{runs}}):
                t0 = time.perf_counter()
                results, ks, chi = compute()
                t = time.perf_counter() - t0
                if best is None or t < best:
                    best, parts = t, (ks, chi)
            for r in results:
                print(json.dumps(r))
            print("parts %.3f %.3f" % parts)
            print(best)
            """;
    }

    /// <summary>The version line the script printed first.</summary>
    public static string Version(string echoed) =>
        echoed.Split('\n').FirstOrDefault(l => l.StartsWith("scipy ", StringComparison.Ordinal))?["scipy ".Length..].Trim() ?? "?";
}

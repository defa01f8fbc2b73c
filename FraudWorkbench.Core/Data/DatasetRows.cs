namespace FraudWorkbench.Core.Data;

/// <summary>A version's rows as cell text by schema column, for fitting and batch featurization.</summary>
public static class DatasetRows
{
    /// <summary>Every row of a stored dataset version (or those <paramref name="keep"/> keeps), its file's checksum verified on the way.</summary>
    public static async Task<List<string?[]>> ReadAsync(Artifacts.ArtifactStore artifacts, DatasetVersion version, CancellationToken cancellationToken, Func<string?[], bool>? keep = null)
    {
        await using var file = await artifacts.OpenReadAsync(version.Checksum, cancellationToken);
        return Read(file, version.Schema, keep);
    }

    /// <summary>
    /// Keeps about <paramref name="share"/> of the rows, the same ones on every read: whole entities when
    /// <paramref name="keyColumn"/> is given (every row of a kept key, so its history is complete), else rows by position.
    /// </summary>
    public static Func<string?[], bool> Sample(double share, int? keyColumn)
    {
        var threshold = (ulong)(Math.Clamp(share, 0, 1) * ulong.MaxValue);
        if (keyColumn is int key) return cells => Mix(Fnv(cells[key] ?? "")) <= threshold;
        long position = 0;
        return _ => Mix((ulong)position++) <= threshold;
    }

    // FNV-1a over the key's UTF-16 code units, then a finaliser so nearby keys spread over the whole range.
    private static ulong Fnv(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text) hash = (hash ^ c) * 1099511628211UL;
        return hash;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53UL;
        return x ^ (x >> 33);
    }

    /// <summary>Distinct values a column shares before it stops: past that it is mostly unique (ids, amounts, times).</summary>
    private const int MaxSharedPerColumn = 65_536;

    public static List<string?[]> Read(Stream stream, DatasetSchema schema, Func<string?[], bool>? keep = null)
    {
        using var reader = CsvFile.OpenReader(stream, schema.Delimiter);
        var rows = new List<string?[]>();
        if (!reader.MoveNext()) return rows;
        var width = schema.Columns.Count;
        var scratch = new char[256];
        // A repeated value (a category, a flag, a customer id) is one string per column, not one per row: categories
        // held per row were most of the memory of a large version (a string costs about 30 bytes before its text).
        var shared = new Dictionary<string, string>?[width];
        for (var i = 0; i < width; i++) shared[i] = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.MoveNext())
        {
            var row = reader.Current;
            if (CsvFile.IsBlank(row)) continue;
            var cells = new string?[width];
            for (var i = 0; i < width && i < row.ColCount; i++) cells[i] = Share(ref shared[i], CsvFile.Cell(row[i].Span, ref scratch, out _));
            if (keep is null || keep(cells)) rows.Add(cells);
        }

        return rows;
    }

    private static string Share(ref Dictionary<string, string>? pool, ReadOnlySpan<char> cell)
    {
        if (pool is null) return cell.ToString();
        if (pool.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(cell, out var known)) return known;
        var text = cell.ToString();
        if (pool.Count < MaxSharedPerColumn) pool.Add(text, text);
        else pool = null;
        return text;
    }
}

namespace FraudWorkbench.Core.Data;

/// <summary>A version's rows as cell text by schema column, for fitting and batch featurization.</summary>
public static class DatasetRows
{
    /// <summary>Every row of a stored dataset version, its file's checksum verified on the way.</summary>
    public static async Task<List<string?[]>> ReadAsync(Artifacts.ArtifactStore artifacts, DatasetVersion version, CancellationToken cancellationToken)
    {
        await using var file = await artifacts.OpenReadAsync(version.Checksum, cancellationToken);
        return Read(file, version.Schema);
    }

    public static List<string?[]> Read(Stream stream, DatasetSchema schema)
    {
        using var reader = CsvFile.OpenReader(stream, schema.Delimiter);
        var rows = new List<string?[]>();
        if (!reader.MoveNext()) return rows;
        var width = schema.Columns.Count;
        var scratch = new char[256];
        while (reader.MoveNext())
        {
            var row = reader.Current;
            if (CsvFile.IsBlank(row)) continue;
            var cells = new string?[width];
            for (var i = 0; i < width && i < row.ColCount; i++) cells[i] = CsvFile.Cell(row[i].Span, ref scratch, out _).ToString();
            rows.Add(cells);
        }

        return rows;
    }
}

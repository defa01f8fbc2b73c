using FraudWorkbench.Core.Artifacts;

namespace FraudWorkbench.Core.Data;

public sealed record PreviewPage(IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows, long TotalRows);

/// <summary>Pages through a version's stored file (checksum verified on open) for the row preview.</summary>
public sealed class DatasetPreview(ArtifactStore artifacts)
{
    public const int MaxPageSize = 500;

    public async Task<PreviewPage> ReadAsync(DatasetVersion version, long skip, int take, CancellationToken cancellationToken = default)
    {
        take = Math.Clamp(take, 1, MaxPageSize);
        skip = Math.Max(0, skip);
        await using var stream = await artifacts.OpenReadAsync(version.Checksum, cancellationToken);
        using var reader = CsvFile.OpenReader(stream, version.Schema.Delimiter);
        var columns = version.Schema.Columns.Select(c => c.Name).ToList();
        var rows = new List<string[]>(take);
        if (!reader.MoveNext()) return new PreviewPage(columns, rows, version.RowCount);
        long index = 0;
        var scratch = new char[256];
        while (rows.Count < take && reader.MoveNext())
        {
            var row = reader.Current;
            if (CsvFile.IsBlank(row) || index++ < skip) continue;
            var cells = new string[columns.Count];
            for (var i = 0; i < cells.Length && i < row.ColCount; i++) cells[i] = CsvFile.Cell(row[i].Span, ref scratch, out _).ToString();
            rows.Add(cells);
        }

        return new PreviewPage(columns, rows, version.RowCount);
    }
}

using System.Collections;
using System.Text;

namespace FraudWorkbench.Core.Data;

/// <summary>
/// Rows of text held as one UTF-8 buffer and the offsets of its cells: for rows kept a long time and read one at a
/// time. A string per cell costs an object (about 22 bytes on 64-bit) plus two bytes a character and a reference
/// in its row's array; here a cell costs its UTF-8 bytes, a 4-byte offset and a bit. Three versions' holdouts of a
/// million-row dataset kept as strings ran to hundreds of megabytes.
/// </summary>
public sealed class PackedRows
{
    private readonly byte[] text;
    private readonly int[] bounds; // cell c spans text[bounds[c]..bounds[c + 1]]
    private readonly BitArray missing;

    /// <param name="rows">Rows of any width up to the widest; a shorter row reads back with nulls after its last cell.</param>
    /// <exception cref="InvalidOperationException">The text exceeds 2 GB.</exception>
    public PackedRows(IReadOnlyList<string?[]> rows)
    {
        Count = rows.Count;
        Width = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        var cells = (long)Count * Width;
        var bytes = rows.Sum(r => r.Sum(cell => cell is null ? 0L : Encoding.UTF8.GetByteCount(cell)));
        if (bytes > Array.MaxLength || cells >= Array.MaxLength) throw new InvalidOperationException($"{bytes:N0} bytes of text in {cells:N0} cells are more than one buffer holds.");
        text = new byte[bytes];
        bounds = new int[cells + 1];
        missing = new BitArray((int)cells);
        var at = 0;
        for (var r = 0; r < Count; r++)
        {
            for (var c = 0; c < Width; c++)
            {
                var cell = r * Width + c;
                bounds[cell] = at;
                if (c < rows[r].Length && rows[r][c] is { } value) at += Encoding.UTF8.GetBytes(value, text.AsSpan(at));
                else missing[cell] = true;
            }
        }

        bounds[cells] = at;
    }

    public int Count { get; }

    public int Width { get; }

    /// <summary>Row <paramref name="index"/> as strings, null where the cell was missing.</summary>
    public string?[] Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var row = new string?[Width];
        for (var c = 0; c < Width; c++)
        {
            var cell = index * Width + c;
            row[c] = missing[cell] ? null : Encoding.UTF8.GetString(text, bounds[cell], bounds[cell + 1] - bounds[cell]);
        }

        return row;
    }
}

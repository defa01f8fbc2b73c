using System.Globalization;
using System.Text;
using nietras.SeparatedValues;

namespace FraudWorkbench.Core.Data;

/// <summary>
/// Opens uploaded delimited text with Sep: strict UTF-8 (with or without BOM), RFC 4180 quotes
/// (delimiters, quotes and newlines inside quoted fields), CRLF or LF. The header is read as row 0
/// so that odd headers (duplicates, blanks) are ours to report rather than the parser's.
/// </summary>
public static class CsvFile
{
    public static readonly char[] Delimiters = [',', ';', '\t', '|'];
    private static readonly string[] MissingTokens = ["", "NA", "N/A", "null", "NULL", "Null", "NaN", "nan", "?", "n/a", "na"];

    public static bool IsMissing(ReadOnlySpan<char> value)
    {
        // Called for every cell: most values are longer than any token and need no trimming.
        if (value.Length == 0) return true;
        if (value.Length > 4 && value[0] != ' ' && value[^1] != ' ') return false;
        var trimmed = value.Trim();
        if (trimmed.Length == 0) return true;
        if (trimmed.Length > 4) return false;
        foreach (var token in MissingTokens)
        {
            if (trimmed.SequenceEqual(token)) return true;
        }

        return false;
    }

    /// <summary>Checks the bytes at the start (binary, UTF-16/32) and finds the delimiter from the header line.</summary>
    public static char Inspect(string path)
    {
        using var stream = File.OpenRead(path);
        if (stream.Length == 0) throw new DatasetValidationException("The file is empty.");
        var head = new byte[(int)Math.Min(stream.Length, 64 * 1024)];
        stream.ReadExactly(head);
        if (head.Length >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)))
        {
            throw new DatasetValidationException("The file is UTF-16 encoded; save it as UTF-8 (with or without BOM).");
        }

        if (Array.IndexOf(head, (byte)0) >= 0)
        {
            throw new DatasetValidationException("The file looks binary (it contains NUL bytes); upload a delimited text file such as CSV.");
        }

        var text = Decode(head);
        var lineEnd = text.IndexOfAny(['\r', '\n']);
        var header = lineEnd < 0 ? text : text[..lineEnd];
        if (header.TrimStart('\uFEFF').Trim().Length == 0) throw new DatasetValidationException("The first line is empty; the file must start with a header row.", [new DataIssue(0, 1, null, null, "empty header line")]);
        return DetectDelimiter(header);
    }

    public static SepReader OpenReader(string path, char delimiter) => OpenReader(path, delimiter, out _);

    /// <param name="file">The underlying file, whose position tells how far reading has come.</param>
    public static SepReader OpenReader(string path, char delimiter, out FileStream file)
    {
        file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return OpenReader(file, delimiter);
    }

    public static SepReader OpenReader(Stream stream, char delimiter) =>
        Sep.New(delimiter).Reader(o => o with
        {
            HasHeader = false,
            Unescape = true,
            DisableColCountCheck = true,
            CultureInfo = CultureInfo.InvariantCulture,
        }).From(new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16));

    /// <summary>UTF-8 that throws on invalid bytes instead of inventing replacement characters.</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The delimiter that occurs most often outside quotes in the header line; comma when none does.</summary>
    public static char DetectDelimiter(string headerLine)
    {
        Span<int> counts = stackalloc int[Delimiters.Length];
        var quoted = false;
        foreach (var c in headerLine)
        {
            if (c == '"') quoted = !quoted;
            else if (!quoted)
            {
                var i = Array.IndexOf(Delimiters, c);
                if (i >= 0) counts[i]++;
            }
        }

        var best = 0;
        for (var i = 1; i < counts.Length; i++) if (counts[i] > counts[best]) best = i;
        return counts[best] == 0 ? ',' : Delimiters[best];
    }

    /// <summary>Names from the header row: BOM and surrounding spaces removed, blanks named column_N, duplicates refused.</summary>
    public static IReadOnlyList<string> HeaderNames(SepReader.Row header)
    {
        var names = new List<string>(header.ColCount);
        for (var i = 0; i < header.ColCount; i++)
        {
            var name = header[i].ToString().TrimStart('\uFEFF').Trim();
            names.Add(name.Length == 0 ? $"column_{i + 1}" : name);
        }

        var headerLine = header.LineNumberFrom;
        var duplicates = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new DatasetValidationException(
                $"The header names {string.Join(", ", duplicates.Select(d => $"'{d}'"))} more than one column; column names must be unique.",
                [.. duplicates.Take(10).Select(d => new DataIssue(0, headerLine, d, null, "duplicate column name"))]);
        }

        // A first row made of numbers or dates is data, not a header.
        var valueLike = names.Count(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || DateTime.TryParse(n, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        if (valueLike * 2 >= names.Count && valueLike > 0)
        {
            throw new DatasetValidationException(
                "The first row looks like data, not a header: the file must start with a row of column names.",
                [.. names.Where(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _)).Take(10).Select(n => new DataIssue(0, 1, null, n, "a value where a column name is expected"))]);
        }

        return names;
    }

    private static string Decode(byte[] head)
    {
        // The buffer may end inside a multi-byte character; only the part before the last line break is judged here.
        var lastBreak = Array.LastIndexOf(head, (byte)'\n');
        var span = lastBreak > 0 && head.Length == 64 * 1024 ? head.AsSpan(0, lastBreak) : head.AsSpan();
        try
        {
            var preamble = span.StartsWith(Encoding.UTF8.Preamble) ? 3 : 0;
            return StrictUtf8.GetString(span[preamble..]);
        }
        catch (DecoderFallbackException ex)
        {
            throw new DatasetValidationException(NotUtf8Message(ex), [new DataIssue(null, LineOf(head, ex.Index), null, null, $"invalid UTF-8 at byte {ex.Index}")]);
        }

        static long LineOf(byte[] bytes, int index) => 1 + bytes.AsSpan(0, Math.Clamp(index, 0, bytes.Length)).Count((byte)'\n');
    }

    public static string NotUtf8Message(DecoderFallbackException ex) =>
        "The file is not valid UTF-8 (for example Latin-1 or Windows-1252 text); save it as UTF-8." +
        (ex.BytesUnknown is { Length: > 0 } bytes ? $" First invalid bytes: {Convert.ToHexString(bytes)}." : "");
}

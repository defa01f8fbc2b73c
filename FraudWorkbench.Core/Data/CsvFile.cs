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
            // Cells are unquoted by Cell() below, which also catches quotes that RFC 4180 does not allow.
            Unescape = false,
            DisableColCountCheck = true,
            CultureInfo = CultureInfo.InvariantCulture,
        }).From(new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16));

    /// <summary>
    /// A cell's value: a quoted field loses its outer quotes and doubled inner quotes become one.
    /// <paramref name="malformed"/> is set for a quote RFC 4180 does not allow: inside an unquoted value,
    /// a quoted value that never closes, or text after the closing quote. Such a cell usually means rows
    /// were merged by an unbalanced quote, so it must be refused rather than guessed at.
    /// </summary>
    public static ReadOnlySpan<char> Cell(ReadOnlySpan<char> raw, ref char[] scratch, out bool malformed)
    {
        malformed = false;
        if (raw.Length == 0 || raw[0] != '"')
        {
            malformed = raw.Contains('"');
            return raw;
        }

        if (raw.Length < 2 || raw[^1] != '"')
        {
            malformed = true;
            return raw;
        }

        var inner = raw[1..^1];
        if (!inner.Contains('"')) return inner;
        if (scratch.Length < inner.Length) scratch = new char[Math.Max(inner.Length, scratch.Length * 2)];
        var length = 0;
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] == '"')
            {
                if (i + 1 >= inner.Length || inner[i + 1] != '"')
                {
                    malformed = true;
                    return raw;
                }

                i++;
            }

            scratch[length++] = inner[i];
        }

        return scratch.AsSpan(0, length);
    }

    /// <summary>A line with nothing on it (such as a trailing newline at the end of a file) is not a row.</summary>
    public static bool IsBlank(SepReader.Row row) => row.ColCount == 1 && row[0].Span.Trim().Length == 0;

    public const string MalformedQuoteMessage = "has a quote that CSV does not allow (a quote inside an unquoted value, or a quoted value that never closes)";

    /// <summary>Sep's own limit on one row; reached in practice only when a quote never closes.</summary>
    public static DatasetValidationException RowTooLong(long afterLine) => new(
        $"A row starting after line {afterLine} is longer than the parser allows (16 MB): most likely a quote opens there and never closes.",
        [new DataIssue(null, afterLine + 1, null, null, "unclosed quote or oversized row")]);

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
        var scratch = new char[64];
        for (var i = 0; i < header.ColCount; i++)
        {
            var name = Cell(header[i].Span.TrimStart('\uFEFF'), ref scratch, out var malformed).ToString().Trim();
            if (malformed) throw new DatasetValidationException($"Header column {i + 1} {MalformedQuoteMessage}.", [new DataIssue(0, header.LineNumberFrom, null, header[i].ToString(), MalformedQuoteMessage)]);
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

    /// <summary>Finds where a file stops being UTF-8 (the parser reads ahead, so its error cannot say) and names the line.</summary>
    public static DatasetValidationException NotUtf8(string path)
    {
        var decoder = StrictUtf8.GetDecoder();
        var buffer = new byte[1 << 16];
        long line = 1;
        long offset = 0;
        using var file = File.OpenRead(path);
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            try
            {
                decoder.GetCharCount(buffer.AsSpan(0, read), flush: false);
            }
            catch (DecoderFallbackException ex)
            {
                var at = Math.Clamp(ex.Index, 0, read);
                line += buffer.AsSpan(0, at).Count((byte)'\n');
                return new DatasetValidationException(NotUtf8Message(ex), [new DataIssue(null, line, null, null, $"invalid UTF-8 at byte {offset + at}")]);
            }

            line += buffer.AsSpan(0, read).Count((byte)'\n');
            offset += read;
        }

        return new DatasetValidationException("The file is not valid UTF-8; save it as UTF-8.");
    }

    public static string NotUtf8Message(DecoderFallbackException ex) =>
        "The file is not valid UTF-8 (for example Latin-1 or Windows-1252 text); save it as UTF-8." +
        (ex.BytesUnknown is { Length: > 0 } bytes ? $" First invalid bytes: {Convert.ToHexString(bytes)}." : "");
}

namespace FraudWorkbench.Core.Data;

/// <summary>
/// The one rule for free text a person gives (names, descriptions, notes, tags, reasons, file names) before
/// it is stored, applied by the services so the API and the pages refuse alike. PostgreSQL's text and jsonb
/// refuse U+0000 and the driver refuses half a surrogate pair: either would fail the write as a server error.
/// </summary>
public static class StoredText
{
    /// <summary>Why <paramref name="text"/> cannot be stored, or null when it can (null text can).</summary>
    /// <param name="multiline">Whether line breaks and tabs are allowed; other control characters never are.</param>
    public static string? Problem(string? text, int maxLength, bool multiline = false)
    {
        if (text is null) return null;
        if (text.Length > maxLength) return $"At most {maxLength:N0} characters (this is {text.Length:N0}).";
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return "Contains a NUL character (U+0000), which cannot be stored.";
            if (char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t')) return $"Contains the control character U+{(int)c:X4}.";
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c)) return "Contains half of a UTF-16 surrogate pair, which is not valid Unicode.";
        }

        return null;
    }
}

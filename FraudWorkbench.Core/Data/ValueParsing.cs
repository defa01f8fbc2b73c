using System.Globalization;

namespace FraudWorkbench.Core.Data;

/// <summary>How cell text becomes numbers, booleans and instants; shared by inference, validation and profiling.</summary>
public static class ValueParsing
{
    public const string Iso = "iso";
    public const string EpochSeconds = "epoch";
    public const string EpochMilliseconds = "epoch_ms";

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm:ssK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd",
    ];

    /// <summary>Formats tried when inferring a datetime column, ISO first; ambiguous day/month orders are told apart by the data.</summary>
    public static readonly IReadOnlyList<string> DateFormats =
    [
        Iso,
        "dd/MM/yyyy HH:mm:ss", "dd/MM/yyyy HH:mm", "dd/MM/yyyy",
        "MM/dd/yyyy HH:mm:ss", "MM/dd/yyyy HH:mm", "MM/dd/yyyy",
        "dd.MM.yyyy HH:mm:ss", "dd.MM.yyyy HH:mm", "dd.MM.yyyy",
        "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd",
    ];

    private static readonly (string True, string False)[] BooleanPairs = [("true", "false"), ("yes", "no"), ("y", "n"), ("1", "0"), ("t", "f")];

    public static bool TryInteger(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static bool TryDecimal(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Which of the boolean spellings (true/false, yes/no, y/n, 1/0, t/f) the value belongs to, as a bit mask.</summary>
    public static int BooleanPairsOf(ReadOnlySpan<char> s)
    {
        s = s.Trim();
        var mask = 0;
        for (var i = 0; i < BooleanPairs.Length; i++)
        {
            if (s.Equals(BooleanPairs[i].True, StringComparison.OrdinalIgnoreCase) || s.Equals(BooleanPairs[i].False, StringComparison.OrdinalIgnoreCase)) mask |= 1 << i;
        }

        return mask;
    }

    public static bool TryBoolean(ReadOnlySpan<char> s, out bool value)
    {
        s = s.Trim();
        foreach (var (t, f) in BooleanPairs)
        {
            if (s.Equals(t, StringComparison.OrdinalIgnoreCase)) { value = true; return true; }
            if (s.Equals(f, StringComparison.OrdinalIgnoreCase)) { value = false; return true; }
        }

        value = false;
        return false;
    }

    /// <summary>The common case <c>yyyy-MM-ddTHH:mm:ssZ</c> (also with a space, or without the Z), without the general parser's cost.</summary>
    private static bool TryIsoUtcSeconds(ReadOnlySpan<char> s, out DateTime utc)
    {
        utc = default;
        if (s.Length is not (19 or 20) || (s.Length == 20 && s[19] != 'Z') || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
            return false;
        if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
            || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || !Digits(s, 17, 2, out var second))
            return false;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), month) || hour > 23 || minute > 59 || second > 59 || year < 1)
            return false;
        utc = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        return true;

        static bool Digits(ReadOnlySpan<char> s, int start, int length, out int value)
        {
            value = 0;
            for (var i = start; i < start + length; i++)
            {
                var d = s[i] - '0';
                if ((uint)d > 9) return false;
                value = value * 10 + d;
            }

            return true;
        }
    }

    /// <summary>Parses an instant as UTC; values without an offset are taken as UTC.</summary>
    public static bool TryDateTime(ReadOnlySpan<char> s, string format, out DateTime utc)
    {
        s = s.Trim();
        const DateTimeStyles styles = DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal;
        switch (format)
        {
            case Iso:
                return TryIsoUtcSeconds(s, out utc) || DateTime.TryParseExact(s, IsoFormats, CultureInfo.InvariantCulture, styles, out utc);
            case EpochSeconds when long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 253_402_300_800:
                utc = DateTime.UnixEpoch.AddSeconds(seconds);
                return true;
            case EpochMilliseconds when long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms is >= 0 and < 253_402_300_800_000:
                utc = DateTime.UnixEpoch.AddMilliseconds(ms);
                return true;
            case EpochSeconds or EpochMilliseconds:
                utc = default;
                return false;
            default:
                return DateTime.TryParseExact(s, format, CultureInfo.InvariantCulture, styles, out utc);
        }
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace FraudWorkbench.Core.Alerts;

/// <summary>Durations written as Prometheus writes them: a number and a unit (<c>30s</c>, <c>5m</c>, <c>4h</c>, <c>1d</c>, <c>1w</c>), or several (<c>1h30m</c>).</summary>
public static partial class AlertDuration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 32) return false;
        var parts = Part().Matches(text.Trim());
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != text.Trim()) return false;
        foreach (Match p in parts)
        {
            if (!long.TryParse(p.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000) return false;
            value += p.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                _ => TimeSpan.FromDays(7 * n),
            };
        }

        return true;
    }

    public static TimeSpan Parse(string text) => TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a duration such as 30s, 5m, 4h, 1d or 1w.");

    /// <summary>The shortest text that parses back to <paramref name="value"/> ("1h30m", "0s").</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero) return "0s";
        var text = "";
        var rest = (long)value.TotalSeconds;
        foreach (var (unit, seconds) in new[] { ("w", 604800L), ("d", 86400L), ("h", 3600L), ("m", 60L), ("s", 1L) })
        {
            if (rest < seconds) continue;
            text += (rest / seconds).ToString(CultureInfo.InvariantCulture) + unit;
            rest %= seconds;
        }

        return text;
    }

    [GeneratedRegex(@"(\d+)([smhdw])", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}

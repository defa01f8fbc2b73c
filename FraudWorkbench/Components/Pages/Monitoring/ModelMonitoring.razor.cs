using System.Globalization;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Registry;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Components.Pages.Monitoring;

/// <summary>
/// The monitoring page's shell: the model, and one <see cref="MonitoringRange"/> from the URL query (so a view can be
/// linked) that every panel reads. The panels load and follow their own data.
/// </summary>
public partial class ModelMonitoring
{
    /// <summary>Most windows a page shows: an hour window over 30 days is 720; more would compute for seconds.</summary>
    public const int MaxWindows = 800;

    public static readonly IReadOnlyList<(string Key, string Label)> Ranges = [("24h", "Last 24 h"), ("7d", "Last 7 d"), ("30d", "Last 30 d"), ("custom", "Custom")];

    [Parameter]
    public string Name { get; set; } = "";

    [SupplyParameterFromQuery(Name = "range")]
    public string? RangeQuery { get; set; }

    [SupplyParameterFromQuery(Name = "window")]
    public string? WindowQuery { get; set; }

    [SupplyParameterFromQuery(Name = "from")]
    public string? From { get; set; }

    [SupplyParameterFromQuery(Name = "to")]
    public string? To { get; set; }

    private RegisteredModel? model;
    private bool notFound;
    private MonitoringRange? range;
    private string? rangeError;
    private string? customFrom;
    private string? customTo;
    private int tab;

    private string RangeKey => RangeQuery is "24h" or "7d" or "30d" or "custom" ? RangeQuery : "7d";

    private string WindowKey => WindowSize.All.Contains(WindowQuery ?? "") ? WindowQuery! : WindowSize.Day;

    private int WindowCount => range is null ? 0 : (int)((range.To - range.From) / WindowSize.Of(range.Window));

    protected override async Task OnParametersSetAsync()
    {
        if (model?.Name != Name)
        {
            model = await Registry.GetModelAsync(Name);
            notFound = model is null;
        }

        (customFrom, customTo) = (From, To);
        var (next, error) = Resolve(RangeKey, WindowKey, From, To, Time.GetUtcNow().UtcDateTime);
        rangeError = error;
        // Keep the same instance when nothing moved, so the panels do not reload on an unrelated re-render.
        if (next is not null && next != range) range = next;
        else if (next is null) range = null;
    }

    /// <summary>The range a query asks for, or why it cannot be shown (naming the field).</summary>
    public static (MonitoringRange? Range, string? Error) Resolve(string rangeKey, string window, string? from, string? to, DateTime now)
    {
        DateTime start, end;
        if (rangeKey == "custom")
        {
            if (!TryDate(from, out start)) return (null, "From: enter a UTC date as yyyy-MM-dd, for example 2026-12-01.");
            if (!TryDate(to, out var last)) return (null, "To: enter a UTC date as yyyy-MM-dd, for example 2026-12-07.");
            if (last < start) return (null, "To: the last day must not be before From.");
            end = last.AddDays(1);
        }
        else
        {
            end = now;
            start = now - rangeKey switch { "24h" => TimeSpan.FromHours(24), "30d" => TimeSpan.FromDays(30), _ => TimeSpan.FromDays(7) };
        }

        var covering = MonitoringRange.Covering(start, end, window);
        var windows = (covering.To - covering.From) / WindowSize.Of(window);
        return windows > MaxWindows
            ? (null, $"Window: {windows:0} {window} windows is too many to show at once (at most {MaxWindows}); choose a larger window or a shorter range.")
            : (covering, null);
    }

    private static bool TryDate(string? text, out DateTime date)
    {
        var ok = DateTime.TryParseExact(text?.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out date);
        date = DateTime.SpecifyKind(date, DateTimeKind.Utc);
        return ok;
    }

    private void Go(string rangeKey, string window, string? from, string? to)
    {
        if (rangeKey == "custom" && from is null)
        {
            // Start the custom range from what is shown, so the two fields are filled in for editing.
            from = range?.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            to = range?.To.AddTicks(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(new Dictionary<string, object?>
        {
            ["range"] = rangeKey,
            ["window"] = window,
            ["from"] = rangeKey == "custom" ? from : null,
            ["to"] = rangeKey == "custom" ? to : null,
        }));
    }

    private void ApplyCustom() => Go("custom", WindowKey, customFrom ?? "", customTo ?? "");
}

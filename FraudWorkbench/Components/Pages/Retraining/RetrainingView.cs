using FraudWorkbench.Core.Retraining;
using MudBlazor;

namespace FraudWorkbench.Components.Pages.Retraining;

/// <summary>How the retraining pages word and colour workflows and steps.</summary>
public static class RetrainingView
{
    public static Color StatusColor(string status) => status switch
    {
        RetrainingStatus.Running => Color.Info,
        RetrainingStatus.AwaitingApproval => Color.Warning,
        RetrainingStatus.Watching => Color.Primary,
        RetrainingStatus.Succeeded => Color.Success,
        RetrainingStatus.Failed => Color.Error,
        RetrainingStatus.RolledBack => Color.Error,
        RetrainingStatus.Rejected or RetrainingStatus.Cancelled => Color.Default,
        _ => Color.Default,
    };

    public static string StatusText(string status) => status switch
    {
        RetrainingStatus.AwaitingApproval => "awaiting approval",
        RetrainingStatus.RolledBack => "rolled back",
        _ => status,
    };

    public static Color StepColor(string status) => status switch
    {
        RetrainingStepStatus.Running => Color.Info,
        RetrainingStepStatus.Waiting => Color.Warning,
        RetrainingStepStatus.Succeeded => Color.Success,
        RetrainingStepStatus.Failed => Color.Error,
        _ => Color.Default,
    };

    public static string StepIcon(string status) => status switch
    {
        RetrainingStepStatus.Running => Icons.Material.Filled.Autorenew,
        RetrainingStepStatus.Waiting => Icons.Material.Filled.HourglassTop,
        RetrainingStepStatus.Succeeded => Icons.Material.Filled.Check,
        RetrainingStepStatus.Failed => Icons.Material.Filled.Close,
        RetrainingStepStatus.Skipped => Icons.Material.Filled.SkipNext,
        _ => Icons.Material.Filled.RadioButtonUnchecked,
    };

    /// <summary>"3 h 12 min", "2 d 4 h", "45 s".</summary>
    public static string Duration(TimeSpan span) => span.TotalSeconds < 0 ? "—"
        : span.TotalMinutes < 1 ? $"{span.TotalSeconds:0} s"
        : span.TotalHours < 1 ? $"{(int)span.TotalMinutes} min"
        : span.TotalDays < 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
        : $"{(int)span.TotalDays} d {span.Hours} h";

    public static string Hours(double hours) => hours == 1 ? "1 hour" : $"{hours:0.##} hours";

    public static string Time(DateTime? at) => at is { } t ? t.ToString("yyyy-MM-dd HH:mm") : "—";

    public static string Number(double? value, string format = "0.000") => value is { } v && double.IsFinite(v) ? v.ToString(format) : "—";

    public static string Percent(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.0%") : "—";

    public static string PageHref(string model) => $"models/{Uri.EscapeDataString(model)}/retraining";

    public static string WorkflowHref(string model, Guid workflowId) => $"{PageHref(model)}?workflow={workflowId}";

    public static string VersionHref(string model, int version, string? tab = null) =>
        $"models/{Uri.EscapeDataString(model)}/versions/{version}" + (tab is null ? "" : $"?tab={tab}");

    public static string AlertHref(Guid alertId) => $"alerts?id={alertId}";

    public static string TriggerText(RetrainingWorkflow w) => w.TriggerKind switch
    {
        RetrainingTrigger.Alert => "alert",
        RetrainingTrigger.Schedule => "schedule",
        _ => "manual",
    };

    /// <summary>How long it ran: to its end, or to now while it is active.</summary>
    public static TimeSpan Elapsed(RetrainingWorkflow w, DateTime now) => (w.FinishedAt ?? now) - w.CreatedAt;
}

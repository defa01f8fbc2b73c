using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Retraining;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace FraudWorkbench.Components.Pages.Retraining;

public partial class PolicyPanel
{
    [Inject]
    private RetrainingStore Store { get; set; } = default!;

    [Inject]
    private RetrainingService Service { get; set; } = default!;

    [Inject]
    private AlertRuleStore Rules { get; set; } = default!;

    [Inject]
    private CurrentUser CurrentUser { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    private ILogger<PolicyPanel> Log { get; set; } = default!;

    [Parameter, EditorRequired]
    public string Model { get; set; } = "";

    private StoredRetrainingPolicy? stored;
    private IReadOnlyList<AlertRule> rules = [];
    private IReadOnlyList<AlertRule> allRules = [];
    private bool canWrite;
    private bool editing;
    private bool busy;
    private string? failed;
    private string? loadedFor;
    private PolicyForm form = new();
    private List<(string Field, string Message)> errors = [];

    /// <summary>The editor's state: the policy's fields as the inputs bind them (the recipe run as text, checked on save).</summary>
    internal sealed class PolicyForm
    {
        public bool Enabled { get; set; }
        public HashSet<Guid> Rules { get; set; } = [];
        public int? ScheduleDays { get; set; }
        public double CooldownDays { get; set; }
        public int MaxPerWeek { get; set; }
        public int MinMatureDays { get; set; }
        public int TrainingWindowDays { get; set; }
        public int HoldoutDays { get; set; }
        public string DataMode { get; set; } = RetrainingDataMode.Append;
        public string? RecipeRun { get; set; }
        public double MinImprovement { get; set; }
        public string PromotionMode { get; set; } = Core.Retraining.PromotionMode.Manual;
        public string Approver { get; set; } = ApproverRole.Admin;
        public double ShadowHours { get; set; }
        public long? ShadowTransactions { get; set; }
        public double WatchHours { get; set; }

        public static PolicyForm From(RetrainingPolicy p) => new()
        {
            Enabled = p.Enabled, Rules = [.. p.Rules], ScheduleDays = p.ScheduleDays, CooldownDays = p.CooldownDays, MaxPerWeek = p.MaxPerWeek,
            MinMatureDays = p.MinMatureDays, TrainingWindowDays = p.TrainingWindowDays, HoldoutDays = p.HoldoutDays, DataMode = p.DataMode,
            RecipeRun = p.RecipeRunId?.ToString(), MinImprovement = p.MinImprovement, PromotionMode = p.PromotionMode, Approver = p.Approver,
            ShadowHours = p.ShadowHours, ShadowTransactions = p.ShadowTransactions, WatchHours = p.WatchHours,
        };

        /// <summary>The policy, or the field a value cannot even be read into.</summary>
        public (RetrainingPolicy? Policy, (string Field, string Message)? Issue) ToPolicy()
        {
            Guid? recipe = null;
            if (!string.IsNullOrWhiteSpace(RecipeRun))
            {
                if (!Guid.TryParse(RecipeRun.Trim(), out var run)) return (null, ("recipeRunId", "A training run's id (a GUID), or empty for the production version's run."));
                recipe = run;
            }

            return (new RetrainingPolicy(Enabled, [.. Rules], ScheduleDays, CooldownDays, MaxPerWeek, MinMatureDays, TrainingWindowDays, HoldoutDays, DataMode,
                recipe, MinImprovement, PromotionMode, Approver, ShadowHours, ShadowTransactions, WatchHours), null);
        }
    }

    protected override async Task OnInitializedAsync()
    {
        canWrite = await CurrentUser.IsAllowedAsync(Policies.Write);
        // Another tab's save shows here (unless this one is mid-edit; its save then replaces it, as the audit log records).
        On<RetrainingChanged>(e => string.Equals(e.ModelName, Model, StringComparison.OrdinalIgnoreCase) && !editing, _ => ReloadAsync());
        On<AlertRulesChanged>(_ => true, _ => ReloadAsync());
    }

    protected override async Task OnParametersSetAsync()
    {
        if (loadedFor == Model) return;
        loadedFor = Model;
        editing = false;
        await ReloadAsync();
    }

    protected override async Task LoadAsync()
    {
        try
        {
            stored = await Store.GetPolicyAsync(Model);
            allRules = await Rules.ListAsync();
            rules = [.. allRules.Where(r => r.Spec.Model is null or AlertLabels.AllModels || string.Equals(r.Spec.Model, Model, StringComparison.OrdinalIgnoreCase)
                || (stored?.Policy.Rules.Contains(r.Id) ?? false))];
            failed = stored is null ? $"There is no registered model '{Model}'." : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.LogWarning(ex, "Could not load the retraining policy of {Model}.", Model);
            failed = "The policy could not be loaded; see the server log.";
        }
    }

    private void StartEditing()
    {
        form = PolicyForm.From(stored!.Policy);
        errors = [];
        editing = true;
    }

    private void ToggleRule(Guid id, bool on)
    {
        if (on) form.Rules.Add(id);
        else form.Rules.Remove(id);
    }

    private bool HasError(string field) => errors.Any(e => e.Field == field);

    private string? ErrorOf(string field) => errors.FirstOrDefault(e => e.Field == field).Message;

    private static string RuleLabel(AlertRule rule) =>
        $"{rule.Name} ({rule.Spec.Metric.Kind}, {rule.Spec.Severity}{(rule.Spec.Model is null or AlertLabels.AllModels ? ", all models" : "")}{(rule.Enabled ? "" : ", disabled")})";

    private string TriggerText(RetrainingPolicy p)
    {
        var parts = new List<string>();
        var names = p.Rules.Select(id => allRules.FirstOrDefault(r => r.Id == id)?.Name ?? $"rule {Display.ShortId(id)} (deleted)").ToList();
        if (names.Count > 0) parts.Add($"alert rules {string.Join(", ", names.Select(n => $"'{n}'"))}");
        if (p.ScheduleDays is int days) parts.Add($"every {days} day{(days == 1 ? "" : "s")}");
        parts.Add("Retrain now");
        return (p.Enabled ? "" : "automatic triggers off · ") + string.Join(" · ", parts);
    }

    private async Task SaveAsync()
    {
        var (policy, issue) = form.ToPolicy();
        errors = issue is { } bad ? [bad] : [.. policy!.Validate()];
        if (errors.Count > 0) return;
        busy = true;
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            stored = await Service.SavePolicyAsync(Model, policy!, actor);
            editing = false;
            Snackbar.Add($"Saved the retraining policy of {stored.ModelName}.", Severity.Success);
        }
        catch (Exception ex) when (ex is RetrainingException or UnauthorizedAccessException)
        {
            errors = ex is RetrainingException { Issues.Count: > 0 } refused ? [.. refused.Issues] : [("policy", ex.Message)];
        }
        finally
        {
            busy = false;
        }
    }
}

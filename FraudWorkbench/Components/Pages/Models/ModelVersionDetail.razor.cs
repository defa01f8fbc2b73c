using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.WebUtilities;
using MudBlazor;

namespace FraudWorkbench.Components.Pages.Models;

public partial class ModelVersionDetail
{
    internal const string CannotExplain = "This version cannot explain its scores: it was trained before explanations were stored; retrain to get them.";

    /// <summary>The tabs in order, by the key the URL's <c>?tab=</c> names; Monitoring goes here when it comes.</summary>
    internal static readonly IReadOnlyList<(string Key, string Title)> Tabs =
    [
        ("overview", "Overview"), ("gate", "Gate"), ("metrics", "Metrics"), ("explanations", "Explanations"),
        ("fairness", "Fairness"), ("try-it", "Try it"), ("predictions", "Predictions"), ("history", "History"),
    ];

    [Inject]
    private RegistryStore Registry { get; set; } = default!;

    [Inject]
    private RegistryService Service { get; set; } = default!;

    [Inject]
    private CurrentUser CurrentUser { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Parameter]
    public string Name { get; set; } = "";

    [Parameter]
    public int Version { get; set; }

    private ModelVersion? version;
    private (string Name, int Version)? loadedFor;
    private bool notFound;
    private bool canWrite;
    private bool busy;
    private string? actionError;
    private string? promoteReason;
    /// <summary>The stage a click asked for that waits for its confirmation (production or archived); null when none.</summary>
    private string? confirming;
    private string? confirmText;
    private string tab = "overview";

    private int ActiveIndex => Math.Max(0, Tabs.Select(t => t.Key).ToList().IndexOf(tab));

    private string ModelHref => $"models/{Uri.EscapeDataString(Name)}";

    protected override async Task OnInitializedAsync()
    {
        canWrite = await CurrentUser.IsAllowedAsync(Policies.Write);
        ReloadOn<ModelGateChanged>(e => e.ModelVersionId == version?.Id);
        // Another version's promotion can archive this one.
        ReloadOn<ModelStageChanged>(e => version is not null && e.RegisteredModelId == version.RegisteredModelId);
    }

    protected override async Task OnParametersSetAsync()
    {
        var query = QueryHelpers.ParseQuery(Navigation.ToAbsoluteUri(Navigation.Uri).Query);
        var asked = query.TryGetValue("tab", out var values) ? values.ToString() : null;
        tab = Tabs.Any(t => t.Key == asked) ? asked! : "overview";
        if (loadedFor == (Name, Version)) return;
        // Another version: nothing of the previous one may stay on screen.
        loadedFor = (Name, Version);
        (version, notFound, busy, actionError, promoteReason, confirming, confirmText) = (null, false, false, null, null, null, null);
        await LoadAsync();
    }

    protected override async Task LoadAsync()
    {
        var (name, number) = (Name, Version);
        var loaded = await Registry.GetVersionAsync(name, number);
        if ((name, number) != (Name, Version)) return;
        notFound = loaded is null;
        version = loaded;
    }

    /// <summary>Keeps the chosen tab in the URL so it can be linked and survives a reload.</summary>
    private void SelectTab(int index)
    {
        tab = Tabs[Math.Clamp(index, 0, Tabs.Count - 1)].Key;
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameter("tab", tab == "overview" ? null : tab), replace: true);
    }

    /// <summary>Production switches live serving and archiving takes a version out of use: both say what they will do first.</summary>
    private async Task AskAsync(string stage)
    {
        actionError = null;
        if (version is null) return;
        if (stage == ModelStage.Production)
        {
            var current = await Registry.GetProductionAsync(version.ModelName);
            confirmText = $"Version {version.Version} will serve all live traffic for model {version.ModelName}, "
                + (current is null || current.Id == version.Id ? "which has no production version now." : $"replacing version {current.Version}.");
        }
        else
        {
            confirmText = version.Stage == ModelStage.Production
                ? $"Version {version.Version} serves the live traffic of model {version.ModelName}: archiving it leaves the model with no production version, so scoring requests fail until another version is promoted."
                : $"Version {version.Version} of model {version.ModelName} will be archived: it can no longer be chosen for serving until it is promoted again.";
        }

        confirming = stage;
    }

    private async Task PromoteAsync(string stage)
    {
        actionError = null;
        busy = true;
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            var current = await Registry.GetVersionAsync(version!.Id) ?? version;
            version = await Service.PromoteAsync(current, stage, string.IsNullOrWhiteSpace(promoteReason) ? null : promoteReason.Trim(), actor);
            promoteReason = null;
            Snackbar.Add($"Version {version.Version} is now {version.Stage}.", Severity.Success);
        }
        catch (Exception ex) when (ex is RegistryException or UnauthorizedAccessException)
        {
            actionError = ex.Message;
        }
        finally
        {
            busy = false;
            confirming = null;
        }
    }

    private async Task RevalidateAsync()
    {
        actionError = null;
        busy = true;
        try
        {
            var actor = await CurrentUser.RequireAsync(Policies.Write);
            version = await Service.RevalidateAsync(version!, actor);
        }
        catch (Exception ex) when (ex is RegistryException or UnauthorizedAccessException)
        {
            actionError = ex.Message;
        }
        finally
        {
            busy = false;
        }
    }
}

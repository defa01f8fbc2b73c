using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>"Would this rule have fired?" over the last <paramref name="Days"/> days (1–90, default 30) for <paramref name="Model"/> (the rule's own model when left out).</summary>
public sealed record BacktestRequest(AlertRuleSpec? Rule, string? Model = null, int? Days = null);

public sealed record DefaultRulesRequest(string? Model);

public sealed record AcknowledgeRequest(string? Comment);

/// <param name="StartsAt">Now when left out.</param>
public sealed record SilenceRequest(IReadOnlyList<AlertMatcher>? Matchers, DateTime? StartsAt, DateTime? EndsAt, string? Comment);

/// <summary>Alert rules, their backtest, alerts (ack) and silences.</summary>
public static class AlertsApi
{
    public const int MaxBacktestDays = 90;

    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/alerts").WithTags("Alerts");

        api.MapGet("/rules", ListRules).WithName("ListAlertRules").WithSummary("Every alert rule (enabled and disabled), by name.");
        api.MapPost("/rules", CreateRule).WithName("CreateAlertRule").RequireAuthorization(Policies.Write)
            .WithSummary("Creates an alert rule on one metric of one model (or of every production model); audited.")
            .WithDescription("""
                `metric.kind` is one of the catalogue (drift.share, drift.score, drift.psi, quality.*, traffic.*, performance.realized,
                performance.estimated, fairness.disparity, scoring.latency_p99, scoring.error_rate, jobs.failed, labels.freshness);
                `condition.kind` above / below (`threshold`, `inclusive`), outside_band (`k`, `direction`, `referenceWindows`) or
                relative_change (`threshold` as a fraction). Durations (`window`, `evaluationInterval`, `for`, `keepFiringFor`) are
                written like 30s, 5m, 1h30m, 1d. A 400 names each bad field by its JSON path (`condition.threshold`).
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        // A replay changes nothing: anyone who may read rules may run it, as in the rule editor (Reviewers included).
        api.MapPost("/rules/backtest", Backtest).WithName("BacktestAlertRule")
            .WithSummary("Replays a rule (saved or not) over the past days: the metric, its thresholds and when it would have fired. Changes nothing: read access is enough.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapPost("/rules/defaults", AddDefaults).WithName("AddDefaultAlertRules").RequireAuthorization(Policies.Write)
            .WithSummary("Adds the default rules a model does not have yet (dataset drift, estimated recall, p99 latency, no feedback); returns those added.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/rules/{id}", GetRule).WithName("GetAlertRule").WithSummary("One alert rule.").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/rules/{id}", UpdateRule).WithName("UpdateAlertRule").RequireAuthorization(Policies.Write)
            .WithSummary("Replaces a rule's definition (its revision goes up by one); disabling it resolves its open alerts. Audited with before and after.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/rules/{id}/enable", EnableRule).WithName("EnableAlertRule").RequireAuthorization(Policies.Write)
            .WithSummary("Enables a rule; audited.").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/rules/{id}/disable", DisableRule).WithName("DisableAlertRule").RequireAuthorization(Policies.Write)
            .WithSummary("Disables a rule and resolves its open alerts; audited.").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapDelete("/rules/{id}", DeleteRule).WithName("DeleteAlertRule").RequireAuthorization(Policies.Write)
            .WithSummary("Deletes a rule (its alert history stays) and resolves its open alerts; audited.").ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/", ListAlerts).WithName("ListAlerts")
            .WithSummary("Alerts, newest first: `state` (pending, firing, resolved), `model`, `severity`, `rule` (id), `since` (open at any time since), `take` (1–1000, default 200).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapGet("/counts", Counts).WithName("CountAlerts").WithSummary("The bell: firing alerts not silenced, the critical ones among them, and pending ones.");
        api.MapGet("/silences", ListSilences).WithName("ListSilences").WithSummary("Active and upcoming silences; with `includeExpired=true` the ended ones too.");
        api.MapPost("/silences", CreateSilence).WithName("CreateSilence").RequireAuthorization(Policies.Write)
            .WithSummary("Mutes the notifications of alerts whose labels match every matcher (=, !=, =~, !~ on alertname, model, severity or a rule label) from `startsAt` (now) to `endsAt`; audited.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapDelete("/silences/{id}", ExpireSilence).WithName("ExpireSilence").RequireAuthorization(Policies.Write)
            .WithSummary("Ends a silence now; it stays listed as history. Audited.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/{id}", GetAlert).WithName("GetAlert").WithSummary("One alert, with the silence muting it, if any.").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/{id}/ack", Acknowledge).WithName("AcknowledgeAlert").RequireAuthorization(Policies.Acknowledge)
            .WithSummary("Acknowledges an open alert with a comment (Reviewers may); audited. A resolved alert answers 409.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static async Task<Ok<IReadOnlyList<AlertRule>>> ListRules(AlertRuleStore rules, CancellationToken cancellationToken) =>
        TypedResults.Ok(await rules.ListAsync(cancellationToken));

    public static async Task<Results<Ok<AlertRule>, ProblemHttpResult>> GetRule(Guid id, AlertRuleStore rules, CancellationToken cancellationToken) =>
        await rules.GetAsync(id, cancellationToken) is { } rule ? TypedResults.Ok(rule) : RuleNotFound(id);

    public static async Task<Results<Created<AlertRule>, ProblemHttpResult>> CreateRule(AlertRuleSpec? request, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return MissingRule();
        try
        {
            var rule = await rules.CreateAsync(request, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Created($"/api/v1/alerts/rules/{rule.Id}", rule);
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<AlertRule>, ProblemHttpResult>> UpdateRule(
        Guid id, AlertRuleSpec? request, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return MissingRule();
        try
        {
            return TypedResults.Ok(await rules.UpdateAsync(id, request, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static Task<Results<Ok<AlertRule>, ProblemHttpResult>> EnableRule(Guid id, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SetEnabled(id, true, rules, user, cancellationToken);

    public static Task<Results<Ok<AlertRule>, ProblemHttpResult>> DisableRule(Guid id, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        SetEnabled(id, false, rules, user, cancellationToken);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteRule(Guid id, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            await rules.DeleteAsync(id, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.NoContent();
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<AlertBacktestResult>, ProblemHttpResult>> Backtest(BacktestRequest? request, AlertBacktest backtest, CancellationToken cancellationToken)
    {
        if (request?.Rule is not { } rule) return JobsApi.Problem(400, "The rule is missing.", "Send {\"rule\": {...}, \"model\": \"...\", \"days\": 30}.", "rule");
        var issues = rule.Validate().Select(i => ($"rule.{i.Field}", i.Message)).ToList();
        var model = request.Model ?? rule.Model;
        // A metric of the whole installation is replayed for * (job failures have no model; the error rate without one).
        if (rule.Metric is { } metric && AlertMetricKind.Find(metric.Kind) is { Global: true } && (model is null || !AlertMetricScope.TakesModel(metric.Kind))) model = AlertLabels.AllModels;
        if (model is null) issues.Add(("model", "Name the model to replay the rule on."));
        else if (!RegistryService.IsValidName(model) && model != AlertLabels.AllModels) issues.Add(("model", $"'{Shorten(model)}' is not a model name."));
        var days = request.Days ?? (int)AlertBacktest.DefaultSpan.TotalDays;
        if (days is < 1 or > MaxBacktestDays) issues.Add(("days", $"A backtest covers 1 to {MaxBacktestDays} days."));
        if (issues.Count > 0) return JobsApi.Invalid("Invalid request", issues);
        try
        {
            return TypedResults.Ok(await backtest.RunAsync(rule, model!, TimeSpan.FromDays(days), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<AlertRule>>, ProblemHttpResult>> AddDefaults(
        DefaultRulesRequest? request, AlertRuleStore rules, RegistryStore registry, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var model = request?.Model;
        if (model is null || !RegistryService.IsValidName(model))
            return JobsApi.Problem(400, "Invalid request", model is null ? "Name the model: {\"model\": \"...\"}." : $"'{Shorten(model)}' is not a model name.", "model");
        if (await registry.GetModelAsync(model, cancellationToken) is null) return RegistryApi.ModelNotFound(model);
        try
        {
            return TypedResults.Ok(await rules.AddDefaultsAsync(model, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<Alert>>, ProblemHttpResult>> ListAlerts(
        AlertStore alerts, CancellationToken cancellationToken, string? state = null, string? model = null, string? severity = null, Guid? rule = null, DateTime? since = null,
        int? take = null)
    {
        if (state is not null && !AlertState.Stored.Contains(state)) return JobsApi.Problem(400, "Invalid state", $"state must be one of {string.Join(", ", AlertState.Stored)}.", "state");
        if (severity is not null && !AlertSeverity.All.Contains(severity))
            return JobsApi.Problem(400, "Invalid severity", $"severity must be one of {string.Join(", ", AlertSeverity.All)}.", "severity");
        if (take is < 1 or > AlertStore.MaxTake) return JobsApi.Problem(400, "Invalid take", $"take must be between 1 and {AlertStore.MaxTake}.", "take");
        if (model is { Length: > 200 }) return JobsApi.Problem(400, "Invalid model", "model has at most 200 characters.", "model");
        var utc = since is { Kind: DateTimeKind.Local } local ? local.ToUniversalTime() : since is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : (DateTime?)null;
        return TypedResults.Ok(await alerts.ListAsync(new AlertFilter(state, model, severity, rule, utc, take ?? 200), cancellationToken));
    }

    public static async Task<Ok<AlertCounts>> Counts(AlertStore alerts, CancellationToken cancellationToken) => TypedResults.Ok(await alerts.CountsAsync(cancellationToken));

    public static async Task<Results<Ok<Alert>, ProblemHttpResult>> GetAlert(Guid id, AlertStore alerts, CancellationToken cancellationToken) =>
        await alerts.GetAsync(id, cancellationToken) is { } alert ? TypedResults.Ok(alert) : JobsApi.Problem(404, "Alert not found", $"No alert has the id {id}.", "id");

    public static async Task<Results<Ok<Alert>, ProblemHttpResult>> Acknowledge(
        Guid id, AcknowledgeRequest? request, AlertStore alerts, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await alerts.AcknowledgeAsync(id, request?.Comment ?? "", WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Ok<IReadOnlyList<Silence>>> ListSilences(AlertStore alerts, CancellationToken cancellationToken, bool includeExpired = false) =>
        TypedResults.Ok(await alerts.SilencesAsync(includeExpired, cancellationToken));

    public static async Task<Results<Created<Silence>, ProblemHttpResult>> CreateSilence(
        SilenceRequest? request, AlertStore alerts, TimeProvider time, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (request is null) return JobsApi.Problem(400, "The silence is missing.", "Send {\"matchers\": [...], \"endsAt\": \"...\", \"comment\": \"...\"}.", "matchers");
        if (request.EndsAt is null) return JobsApi.Problem(400, "Invalid request", "Say when the silence ends (endsAt, an ISO 8601 time).", "endsAt");
        try
        {
            var spec = new SilenceSpec(request.Matchers ?? [], request.StartsAt ?? time.GetUtcNow().UtcDateTime, request.EndsAt.Value, request.Comment ?? "");
            var silence = await alerts.CreateSilenceAsync(spec, WorkbenchClaims.Actor(user), cancellationToken);
            return TypedResults.Created($"/api/v1/alerts/silences/{silence.Id}", silence);
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    public static async Task<Results<Ok<Silence>, ProblemHttpResult>> ExpireSilence(Guid id, AlertStore alerts, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await alerts.ExpireSilenceAsync(id, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    /// <summary>
    /// An <see cref="AlertException"/> (rules, silences, channels) as ProblemDetails: a 400 lists every bad field; the others
    /// name theirs (a name in use), else the id in the path.
    /// </summary>
    internal static ProblemHttpResult Problem(AlertException ex) => ex.Status == 400 && ex.Issues.Count > 0
        ? JobsApi.Invalid("Invalid request", ex.Issues)
        : JobsApi.Problem(ex.Status, ex.Status switch { 404 => "Not found", 409 => "Conflict", 400 => "Invalid request", _ => "Not possible now" }, ex.Message,
            ex.Issues.FirstOrDefault().Field ?? "id");

    private static async Task<Results<Ok<AlertRule>, ProblemHttpResult>> SetEnabled(Guid id, bool enabled, AlertRuleStore rules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await rules.SetEnabledAsync(id, enabled, WorkbenchClaims.Actor(user), cancellationToken));
        }
        catch (AlertException ex)
        {
            return Problem(ex);
        }
    }

    private static ProblemHttpResult RuleNotFound(Guid id) => JobsApi.Problem(404, "Alert rule not found", $"No alert rule has the id {id}.", "id");

    private static ProblemHttpResult MissingRule() =>
        JobsApi.Problem(400, "The rule is missing.", "Send the rule as JSON: {\"name\": ..., \"metric\": {\"kind\": ...}, \"condition\": {\"kind\": ...}}.", "name");

    private static string Shorten(string text) => text.Length > 100 ? text[..100] + "…" : text;
}

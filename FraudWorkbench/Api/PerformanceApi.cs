using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>
/// Realized and estimated (CBPE) performance of a registered model per cohort, with its label maturity, for any range
/// on demand (the open cohort included), and the label-window settings that decide when a cohort is final.
/// </summary>
/// <remarks>
/// The Core records are the response as they are: camelCase properties, dates as "yyyy-MM-dd", the metrics as
/// dictionaries keyed by the training report's names, and no derived rate of a confusion matrix repeated.
/// </remarks>
public static class PerformanceApi
{
    /// <summary>How many days a range covers when <c>from</c> is not given (today included).</summary>
    public const int DefaultRangeDays = 30;

    private static readonly DateOnly Earliest = new(1970, 1, 1);
    private static readonly DateOnly Latest = new(2100, 1, 1);

    public static IEndpointRouteBuilder MapPerformanceApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/monitoring").WithTags("Monitoring").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/models/{name}/performance", GetPerformance).WithName("GetModelPerformance")
            .WithSummary("Per cohort (day, week or month of the predictions): realized and estimated (CBPE) performance, label maturity, alerts, and the same for the whole range.")
            .WithDescription($"""
                `cohorts[]` (and `range`, the whole range as one cohort) hold `realized` (on the labels so far; an unlabelled prediction counts as
                legitimate) and `estimated` (CBPE, from the version's calibrated probabilities, labels or not), each with a `confusion` matrix and
                `metrics` named as the training report names them: `rocAuc`, `averagePrecision`, `recall`, `precision`, `falsePositiveRate`,
                `flagRate`, `fraudRate`. A realized metric is a number (null where undefined, e.g. no fraud yet); an estimated one is
                an object with `value`, `lower` and `upper` (± 3 standard errors). `money` (fraud caught, missed, review cost, net loss) is null when the version has
                no amount column. `maturity` is the expected share of the cohort's eventual fraud labels already in, from the label-arrival curve
                (`arrival`); `mature` is true once the label window has passed for all of the cohort (its numbers are final), otherwise the cohort is
                provisional; `alertable` once maturity reaches the model's `alertMaturity`. `alerts` names the metrics outside the reference
                thresholds (`reference`: the validation value and mean ± 3σ of its chunks); estimated ones as `estimated:metric`. `estimateError`
                is |realized − estimated| per metric on mature cohorts. `calibration.drifted` warns that observed fraud on recent mature cohorts left
                the band of the expected count: CBPE assumes no concept drift. `config` is the model's label window and alert maturity.
                `from` and `to` are dates (yyyy-MM-dd, UTC days), default the {DefaultRangeDays} days up to today; they are widened to whole cohorts
                (weeks start on Monday; `cohort` is day, week (default) or month), and the last cohort may still be open. A range covers at most
                {PerformanceService.MaxRangeDays} days. A bad date, `from` after `to`, a longer range or an unknown cohort is a 400 naming the
                parameter; an unknown model is a 404.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/models/{name}/performance/config", GetConfig).WithName("GetPerformanceConfig")
            .WithSummary("The model's label window (days after which an unlabelled prediction counts as legitimate) and the label maturity a cohort needs before it may alert.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/models/{name}/performance/config", PutConfig).WithName("PutPerformanceConfig").RequireAuthorization(Policies.Write)
            .Accepts<PerformanceConfig>("application/json")
            .WithSummary("Replaces the model's performance settings (write scope, or an Admin / DataScientist user); audited.")
            .WithDescription("""
                Body: `{"labelWindowDays": 90, "alertMaturity": 0.8}` (a field left out takes that default). `labelWindowDays` is 1 to 365,
                `alertMaturity` a share from 0 to 1; a problem answers a 400 naming the field. What GET answers may be sent back as it is.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>Request examples for the OpenAPI document, by operation id.</summary>
    internal static readonly IReadOnlyDictionary<string, string> RequestExamples = new Dictionary<string, string>
    {
        ["PutPerformanceConfig"] = """{"labelWindowDays": 60, "alertMaturity": 0.8}""",
    };

    public static async Task<Results<Ok<PerformanceReport>, ProblemHttpResult>> GetPerformance(
        string name, PerformanceService performance, TimeProvider time, CancellationToken cancellationToken,
        [Description("First day of the range, yyyy-MM-dd (default: 29 days before `to`).")] string? from = null,
        [Description("Last day of the range, yyyy-MM-dd (default: today, UTC).")] string? to = null,
        [Description("Cohort size: day, week or month (default: week).")] string? cohort = null)
    {
        var (range, problem) = RangeOf(from, to, cohort, time);
        if (problem is not null) return problem;
        var (start, end, size) = range;
        try
        {
            return await performance.ReportAsync(name, start, end, size, cancellationToken) is { } report ? TypedResults.Ok(report) : ModelNotFound(name);
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName is "cohort" or "to")
        {
            // Checked above already; kept so that a rule the service adds later is a 400 and not a 500.
            return JobsApi.Problem(400, "Invalid range", ex.Message, ex.ParamName == "cohort" ? "cohort" : "from");
        }
    }

    public static async Task<Results<Ok<PerformanceConfig>, ProblemHttpResult>> GetConfig(string name, PerformanceService performance, CancellationToken cancellationToken) =>
        await performance.ConfigAsync(name, cancellationToken) is { } config ? TypedResults.Ok(config) : ModelNotFound(name);

    public static async Task<Results<Ok<PerformanceConfig>, ProblemHttpResult>> PutConfig(
        string name, PerformanceConfig request, PerformanceService performance, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var issues = await performance.SaveConfigAsync(name, request, WorkbenchClaims.Actor(user), cancellationToken);
        if (issues is null) return ModelNotFound(name);
        if (issues.Count > 0) return JobsApi.Invalid("Invalid performance settings", issues);
        return await GetConfig(name, performance, cancellationToken);
    }

    /// <summary>The days and cohort size a request asks for, or the problem naming the parameter that is wrong.</summary>
    internal static ((DateOnly From, DateOnly To, string Cohort) Range, ProblemHttpResult? Problem) RangeOf(string? from, string? to, string? cohort, TimeProvider time)
    {
        var size = string.IsNullOrWhiteSpace(cohort) ? CohortSize.Week : cohort.Trim().ToLowerInvariant();
        if (!CohortSize.IsValid(size))
            return (default, JobsApi.Problem(400, "Invalid cohort", $"cohort is one of {string.Join(", ", CohortSize.All)}; '{Shorten(cohort!)}' is not.", "cohort"));

        var end = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (!string.IsNullOrWhiteSpace(to))
        {
            var (value, problem) = Parse(to, "to");
            if (problem is not null) return (default, problem);
            end = value;
        }

        var start = end.AddDays(-(DefaultRangeDays - 1));
        if (!string.IsNullOrWhiteSpace(from))
        {
            var (value, problem) = Parse(from, "from");
            if (problem is not null) return (default, problem);
            start = value;
        }

        if (start > end)
            return (default, JobsApi.Problem(400, "Invalid range", string.Create(CultureInfo.InvariantCulture, $"from ({start:yyyy-MM-dd}) must not be after to ({end:yyyy-MM-dd})."), "from"));
        var days = end.DayNumber - start.DayNumber;
        if (days > PerformanceService.MaxRangeDays)
        {
            // Name what the caller sent: a 'to' alone with the default 'from' cannot be too long.
            return (default, JobsApi.Problem(400, "Range too long", string.Create(CultureInfo.InvariantCulture,
                $"From {start:yyyy-MM-dd} to {end:yyyy-MM-dd} is {days:N0} days; a range covers at most {PerformanceService.MaxRangeDays:N0}: ask for a shorter one."),
                string.IsNullOrWhiteSpace(from) ? "to" : "from"));
        }

        return ((start, end, size), null);
    }

    private static (DateOnly Value, ProblemHttpResult? Problem) Parse(string text, string field)
    {
        if (!DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return (default, JobsApi.Problem(400, "Invalid date", $"{field} must be a date as yyyy-MM-dd, such as 2026-03-01; '{Shorten(text)}' is not.", field));
        return date < Earliest || date > Latest
            ? (default, JobsApi.Problem(400, "Invalid date", $"{field} must be between 1970 and 2100.", field))
            : (date, null);
    }

    private static string Shorten(string text) => text.Length > 100 ? text[..100] + "…" : text;

    private static ProblemHttpResult ModelNotFound(string name) => JobsApi.Problem(404, "Model not found", $"There is no registered model '{name}'.", "name");
}

using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>A column a model's monitoring follows, with the test Evidently's automatic choice gives it against its reference.</summary>
/// <param name="AutomaticMethod">The test used when the configuration names none (a window with unseen categories may add values and change it).</param>
/// <param name="DefaultThreshold">The automatic test's default threshold.</param>
public sealed record MonitoredColumnInfo(string Name, string Kind, string Type, long ReferenceRows, string AutomaticMethod, double DefaultThreshold);

/// <summary>A model's drift configuration with the columns it can name.</summary>
/// <param name="Columns">Per column: the test (null = automatic) and its threshold (null = the test's default); columns not listed are automatic.</param>
/// <param name="Monitored">The model's monitored columns (its production version's, else its newest version's); read-only.</param>
public sealed record MonitoringConfigResponse(string Model, double DriftShare, IReadOnlyDictionary<string, ColumnDriftSettings> Columns, IReadOnlyList<MonitoredColumnInfo> Monitored);

/// <summary>The body of PUT …/config: what GET returns (its <c>model</c> and <c>monitored</c> are accepted so a GET can be sent back, and ignored).</summary>
public sealed record MonitoringConfigRequest(
    double DriftShare = DriftMethod.DefaultDriftShare, Dictionary<string, ColumnDriftSettings?>? Columns = null, string? Model = null, IReadOnlyList<MonitoredColumnInfo>? Monitored = null);

/// <summary>
/// Drift and data quality of a registered model's traffic for any range and window, the configuration that judges
/// it, and every production model's health: the numbers the monitoring pages show, computed on demand for windows
/// the recurring job has not stored (the hour still open included).
/// </summary>
public static class MonitoringApi
{
    /// <summary>Windows one request may ask for: a year of days, or about 12 weeks of hours.</summary>
    public const int MaxWindows = 2_000;

    /// <summary>How far back a range starts when <c>from</c> is not given.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(7);

    /// <summary>The longest column name or test name a configuration may hold (the sample's columns are far shorter).</summary>
    private const int MaxText = 256;

    private static readonly DateTime Earliest = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Latest = new(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private const string RangeRules = """
        `from` and `to` are ISO 8601 date-times (UTC unless an offset is given), default the last 7 days up to now; they are widened to
        whole windows, and the last window may be still open (computed now from the counts logged so far). `window` is hour, day or
        week (weeks start on Monday, UTC; default day). At most 2,000 windows per request. A bad date, `from` not before `to`, an unknown
        window or too many windows is a 400 naming the field; an unknown model is a 404.
        """;

    public static IEndpointRouteBuilder MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/monitoring").WithTags("Monitoring").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/models/{name}/drift", GetDrift).WithName("GetModelDrift")
            .WithSummary("Per window: every monitored column's drift test, score, threshold and verdict, the score and decision drift, and dataset drift.")
            .WithDescription($"""
                One entry per window (`windows[]`), for the model version that served most of it: `columns[]` holds the score (`:score`) and the decision
                (`:decision`) first, then the inputs, protected and other logged columns, each most drifted first, with `method` (ks, chisquare, z,
                wasserstein, jensenshannon, psi, hellinger), `value` (a p-value for ks/chisquare/z, else a distance), `threshold`, `drifted` and `status`
                (tested, no_data, not_testable, no_reference). `driftShare` is the share of tested inputs that drifted; `datasetDrift` is true when it
                reaches `driftShareThreshold` (Evidently's rule). `stored` is true for a closed window read from the drift history.
                {RangeRules}
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/models/{name}/quality", GetQuality).WithName("GetModelDataQuality")
            .WithSummary("Per window: missing shares against the reference, unseen categories (count and the top 20 values), numbers outside the reference range, refused transactions by field.")
            .WithDescription($"""
                `refused` counts the transactions the scoring contract refused with a 400 in the window, `refusedFields` the fields those refusals named;
                per column, `unseen`/`unseenValues` are category values the reference never had (scored all the same) and `below`/`above` numbers
                outside the reference's [min, max]. `problems` counts the columns with a problem, plus one when transactions were refused.
                {RangeRules}
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/models/{name}/columns/{column}/distribution", GetDistribution).WithName("GetColumnDistribution")
            .WithSummary("A column's reference and current counts per bin over a range: categories (unseen ones last, flagged) or the reference's quantile bins.")
            .WithDescription("""
                `from` and `to` as for drift (default the last 7 days up to now), not widened. `column` is a monitored column of the model
                (see GET …/config, `monitored`), `:score` or `:decision`; any other is a 404 naming `column`.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/models/{name}/config", GetConfig).WithName("GetMonitoringConfig")
            .WithSummary("The model's drift configuration (dataset drift share; per column test and threshold) and its monitored columns with their automatic test.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/models/{name}/config", PutConfig).WithName("PutMonitoringConfig").RequireAuthorization(Policies.Write)
            .Accepts<MonitoringConfigRequest>("application/json")
            .WithSummary("Replaces the model's drift configuration (write scope, or an Admin / DataScientist user); audited.")
            .WithDescription("""
                Body: `{"driftShare": 0.5, "columns": {"amount": {"method": "psi", "threshold": 0.2}, "merchant_category": {"method": null, "threshold": 0.15}}}`.
                A null method is the automatic choice, a null threshold the method's default (0.05 for the p-value tests ks, chisquare and z;
                0.1 for the distances). ks and wasserstein need a numeric column. Columns not listed are automatic. Problems answer a 400 naming each
                field (`driftShare`, `columns.{name}`, `columns.{name}.method`, `columns.{name}.threshold`). The body of a GET may be sent back as it is.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/health", GetHealth).WithName("GetMonitoringHealth")
            .WithSummary("Every model with a production version: predictions, drifted inputs, score drift and data-quality problems over the last 24 hours.");
        app.MapPerformanceApi();
        return app;
    }

    private static readonly Dictionary<string, string> RequestExamples = new()
    {
        ["PutMonitoringConfig"] = """{"driftShare": 0.5, "columns": {"amount": {"method": "psi", "threshold": 0.2}, "home_country": {"method": null, "threshold": 0.15}}}""",
    };

    /// <summary>Puts a request example on the monitoring operations that take a body.</summary>
    public static void AddMonitoringExamples(this Microsoft.AspNetCore.OpenApi.OpenApiOptions options) =>
        options.AddOperationTransformer((operation, _, _) =>
        {
            if (operation.OperationId is { } id && (RequestExamples.TryGetValue(id, out var example) || PerformanceApi.RequestExamples.TryGetValue(id, out example))
                && operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var media))
            {
                media.Example = System.Text.Json.Nodes.JsonNode.Parse(example);
            }

            return Task.CompletedTask;
        });

    public static async Task<Results<Ok<DriftReport>, ProblemHttpResult>> GetDrift(
        string name, MonitoringService monitoring, TimeProvider time, CancellationToken cancellationToken,
        [Description("Start of the range, ISO 8601 (default: 7 days before now).")] string? from = null,
        [Description("End of the range, ISO 8601 (default: now).")] string? to = null,
        [Description("Window size: hour, day or week (default: day).")] string? window = null)
    {
        var (range, problem) = RangeOf(from, to, window, time);
        if (problem is not null) return problem;
        return await monitoring.DriftAsync(name, range!, cancellationToken) is { } report ? TypedResults.Ok(report) : ModelNotFound(name);
    }

    public static async Task<Results<Ok<QualityReport>, ProblemHttpResult>> GetQuality(
        string name, MonitoringService monitoring, TimeProvider time, CancellationToken cancellationToken,
        [Description("Start of the range, ISO 8601 (default: 7 days before now).")] string? from = null,
        [Description("End of the range, ISO 8601 (default: now).")] string? to = null,
        [Description("Window size: hour, day or week (default: day).")] string? window = null)
    {
        var (range, problem) = RangeOf(from, to, window, time);
        if (problem is not null) return problem;
        return await monitoring.QualityAsync(name, range!, cancellationToken) is { } report ? TypedResults.Ok(report) : ModelNotFound(name);
    }

    public static async Task<Results<Ok<ColumnDistribution>, ProblemHttpResult>> GetDistribution(
        string name, string column, MonitoringService monitoring, RegistryStore registry, TimeProvider time, CancellationToken cancellationToken,
        [Description("Start of the range, ISO 8601 (default: 7 days before now).")] string? from = null,
        [Description("End of the range, ISO 8601 (default: now).")] string? to = null)
    {
        var (start, end, problem) = Dates(from, to, time);
        if (problem is not null) return problem;
        if (await monitoring.DistributionAsync(name, column, start, end, cancellationToken) is { } distribution) return TypedResults.Ok(distribution);
        if (await registry.GetModelAsync(name, cancellationToken) is null) return ModelNotFound(name);
        var known = (await monitoring.ReferenceAsync(name, cancellationToken))?.All.Select(c => c.Name).ToList() ?? [];
        return JobsApi.Problem(404, "Column not found", known.Count == 0
            ? $"Model '{name}' has no version with monitoring references, so it has no monitored columns."
            : $"'{column}' is not a monitored column of model '{name}'; known: {string.Join(", ", known)}.", "column");
    }

    public static async Task<Results<Ok<MonitoringConfigResponse>, ProblemHttpResult>> GetConfig(string name, MonitoringService monitoring, CancellationToken cancellationToken) =>
        await ConfigResponseAsync(name, monitoring, cancellationToken) is { } response ? TypedResults.Ok(response) : ModelNotFound(name);

    public static async Task<Results<Ok<MonitoringConfigResponse>, ProblemHttpResult>> PutConfig(
        string name, MonitoringConfigRequest request, MonitoringService monitoring, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        // The configuration's own messages quote the column and the test: one of a megabyte would come back whole.
        var oversize = new List<(string Field, string Message)>();
        foreach (var (column, settings) in request.Columns ?? [])
        {
            if (column.Length > MaxText) oversize.Add(("columns", $"A column name is at most {MaxText} characters; one has {column.Length}."));
            else if (settings?.Method is { Length: > MaxText } method)
                oversize.Add(($"columns.{column}.method", $"Unknown test ({method.Length} characters); use one of {string.Join(", ", DriftMethod.All)}, or leave it empty for the automatic choice."));
        }

        if (oversize.Count > 0) return JobsApi.Invalid("Invalid monitoring configuration", oversize);
        var config = new MonitoringConfig(request.DriftShare, request.Columns?.ToDictionary(kv => kv.Key, kv => kv.Value!));
        var issues = await monitoring.SaveConfigAsync(name, config, WorkbenchClaims.Actor(user), cancellationToken);
        if (issues is null) return ModelNotFound(name);
        if (issues.Count > 0) return JobsApi.Invalid("Invalid monitoring configuration", issues);
        return await GetConfig(name, monitoring, cancellationToken);
    }

    public static async Task<Ok<IReadOnlyList<ModelHealth>>> GetHealth(MonitoringService monitoring, CancellationToken cancellationToken) =>
        TypedResults.Ok(await monitoring.HealthAsync(cancellationToken));

    private static async Task<MonitoringConfigResponse?> ConfigResponseAsync(string name, MonitoringService monitoring, CancellationToken cancellationToken)
    {
        if (await monitoring.ConfigAsync(name, cancellationToken) is not { } config) return null;
        var reference = await monitoring.ReferenceAsync(name, cancellationToken);
        var columns = (reference?.All ?? []).Select(c =>
        {
            var r = c.Reference;
            var method = DriftCalculator.MethodFor(r, null, new ColumnDriftSettings());
            return new MonitoredColumnInfo(c.Name, c.Kind, c.Type, r.Rows, method, DriftMethod.DefaultThreshold(method));
        }).ToList();
        return new MonitoringConfigResponse(reference?.ModelName ?? name, config.DriftShare, config.Columns ?? new Dictionary<string, ColumnDriftSettings>(), columns);
    }

    /// <summary>The range a drift or quality request asks for, or the problem naming the parameter that is wrong.</summary>
    internal static (MonitoringRange? Range, ProblemHttpResult? Problem) RangeOf(string? from, string? to, string? window, TimeProvider time)
    {
        var size = string.IsNullOrWhiteSpace(window) ? WindowSize.Day : window.Trim().ToLowerInvariant();
        if (!WindowSize.All.Contains(size))
            return (null, JobsApi.Problem(400, "Invalid window", $"window is one of {string.Join(", ", WindowSize.All)}; '{Shorten(window!)}' is not.", "window"));
        var (start, end, problem) = Dates(from, to, time);
        if (problem is not null) return (null, problem);
        var range = MonitoringRange.Covering(start, end, size);
        var windows = (range.To - range.From).Ticks / WindowSize.Of(size).Ticks;
        if (windows > MaxWindows)
        {
            return (null, JobsApi.Problem(400, "Too many windows", string.Create(CultureInfo.InvariantCulture,
                $"From {range.From:yyyy-MM-dd'T'HH:mm'Z'} to {range.To:yyyy-MM-dd'T'HH:mm'Z'} holds {windows:N0} {size} windows; at most {MaxWindows:N0} per request: ask for a larger window or a shorter range."), "window"));
        }

        return (range, null);
    }

    private static (DateTime From, DateTime To, ProblemHttpResult? Problem) Dates(string? from, string? to, TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var end = now;
        if (!string.IsNullOrWhiteSpace(to))
        {
            var (value, problem) = Parse(to, "to");
            if (problem is not null) return (default, default, problem);
            end = value;
        }

        var start = end - DefaultRange;
        if (!string.IsNullOrWhiteSpace(from))
        {
            var (value, problem) = Parse(from, "from");
            if (problem is not null) return (default, default, problem);
            start = value;
        }

        return start < end
            ? (start, end, null)
            : (default, default, JobsApi.Problem(400, "Invalid range", string.Create(CultureInfo.InvariantCulture, $"from ({start:yyyy-MM-dd'T'HH:mm:ss'Z'}) must be before to ({end:yyyy-MM-dd'T'HH:mm:ss'Z'})."), "from"));
    }

    private static (DateTime Value, ProblemHttpResult? Problem) Parse(string text, string field)
    {
        if (!DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed))
            return (default, JobsApi.Problem(400, "Invalid date", $"{field} must be an ISO 8601 date-time such as 2026-03-01T00:00:00Z; '{Shorten(text)}' is not.", field));
        var utc = parsed.UtcDateTime;
        return utc < Earliest || utc > Latest
            ? (default, JobsApi.Problem(400, "Invalid date", $"{field} must be between 1970 and 2100.", field))
            : (utc, null);
    }

    private static string Shorten(string text) => text.Length > 100 ? text[..100] + "…" : text;

    private static ProblemHttpResult ModelNotFound(string name) => JobsApi.Problem(404, "Model not found", $"There is no registered model '{name}'.", "name");
}

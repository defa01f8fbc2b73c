using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using FraudWorkbench.Core.Fairness;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

/// <summary>
/// How a model treats the groups of its protected columns in production: any range of its prediction log on demand
/// (realized from the labels in so far, estimated where they are not), and the daily disparity series the monitoring
/// job keeps. Read by anyone who can read the model (Reviewer included).
/// </summary>
public static class FairnessProductionApi
{
    /// <summary>Days a range covers when <c>from</c> is not given (today included).</summary>
    public const int DefaultRangeDays = 7;

    /// <summary>Days a series covers when <c>from</c> is not given.</summary>
    public const int DefaultSeriesDays = 30;

    public static IEndpointRouteBuilder MapFairnessProductionApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Fairness").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/{name}/fairness", GetRange).WithName("GetProductionFairness")
            .WithSummary("Production fairness of a model over a range of days: each group's metrics and the disparities, realized and estimated, with intervals.")
            .WithDescription("""
                Computed on demand from the prediction log (the protected columns' values the callers sent in their requests) and the labels in so far,
                for one version (`version`, default the one with most predictions in the range; `versions[]` lists those that served it). `report.groupings[]`
                has one entry per protected column and per crossing of two or three (`name`), each with `realized` and `estimated`, shaped as the holdout
                report's groupings: `overall`, `groups[]` (`group`, `count`, `share`, `fraud`, `tooSmall`) with `metrics` under Fairlearn's names
                (`selectionRate`, `truePositiveRate`, `falsePositiveRate`, `falseNegativeRate`, `precision`, `fraudRate`, `rocAuc`, `averagePrecision`,
                `meanScore`) as `{value, lower, upper}`, `disparities[]` and `fourFifths`. **Realized** counts an unlabelled prediction as legitimate, as
                performance monitoring does: final once the label window has passed (`mature`), provisional before (`maturity`: the share of expected
                fraud labels in). **Estimated** uses each label where it is in and otherwise the calibrated probability discounted by the day's label maturity,
                p(1 − m)/(1 − p·m) (CBPE's expected confusion; `fraud` is then the expected count; the curves are not estimated). Beyond
                `FraudWorkbench:Fairness:Production:MaxRowsPerRange` predictions a deterministic uniform sample is computed on (`sampled` of `predictions`).
                `coverage[]` says how many computed predictions carried each protected column. `from`/`to` are UTC days (yyyy-MM-dd, inclusive; default the
                7 days up to today), at most `MaxRangeDays` (92) apart; `grouping` computes one grouping only. A bad date, a backwards or too long range,
                an unknown version or grouping is a 400 naming the parameter; an unknown model a 404.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/fairness/report.html", ExportRangeHtml).WithName("ExportProductionFairnessReport")
            .WithSummary("The production fairness of a range as one standalone HTML file (as the version report: every grouping realized and estimated, charts inline).")
            .WithDescription("`from`, `to` and `version` as for GET …/fairness. The file's SHA-256 is in `Repr-Digest` and the audit log (`fairness.export`, with the range). 404 naming `from` when the version served no traffic in the range.")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/fairness/report.pdf", ExportRangePdf).WithName("ExportProductionFairnessReportPdf")
            .WithSummary("The same production fairness report as a PDF.")
            .WithDescription("As report.html; 503 naming `format` when the machine has no font for PDFs.")
            .Produces(StatusCodes.Status200OK, contentType: "application/pdf")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/{name}/fairness/series", GetSeries).WithName("GetProductionFairnessSeries")
            .WithSummary("Per UTC day: the disparities of one grouping with their intervals, realized and estimated, as the daily monitoring job stored them.")
            .WithDescription("""
                `points[]` per day and version (`day`, `version`, `predictions`, `sampled`, `maturity`, `mature`, `fourFifths`), with `realized[]` and
                `estimated[]` disparities as the range report lists them (`name`, `kind`, `method`, `aggregation`, `value {value, lower, upper}`).
                `grouping` defaults to the first protected column; `groupings` lists what can be asked for. `from`/`to` as for the range (default the
                30 days up to today, at most 800 days). Days appear once the daily job has computed them; a day whose labels change is computed again.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<ProductionFairnessRange>, ProblemHttpResult>> GetRange(
        string name, ProductionFairnessService fairness, TimeProvider time, CancellationToken cancellationToken,
        [Description("First day, yyyy-MM-dd (default: 6 days before `to`).")] string? from = null,
        [Description("Last day, yyyy-MM-dd, inclusive (default: today, UTC).")] string? to = null,
        [Description("A protected column, or two or three joined by \" × \" (default: all).")] string? grouping = null,
        [Description("The model version to report (default: the one with most predictions in the range).")] string? version = null)
    {
        var (found, problem) = await RangeAsync(name, fairness, time, from, to, grouping, version, cancellationToken);
        return problem ?? (Results<Ok<ProductionFairnessRange>, ProblemHttpResult>)TypedResults.Ok(found!);
    }

    public static Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportRangeHtml(
        string name, HttpContext context, ProductionFairnessService fairness, FairnessStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken cancellationToken,
        string? from = null, string? to = null, string? version = null) =>
        ExportRangeAsync(name, "html", "text/html; charset=utf-8", context, fairness, store, time, user, from, to, version,
            (report, signOff, at, actor) => System.Text.Encoding.UTF8.GetBytes(Reports.FairnessReportHtml.Render(report, at, actor, signOff)), cancellationToken);

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportRangePdf(
        string name, HttpContext context, ProductionFairnessService fairness, FairnessStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken cancellationToken,
        string? from = null, string? to = null, string? version = null)
    {
        try
        {
            return await ExportRangeAsync(name, "pdf", "application/pdf", context, fairness, store, time, user, from, to, version, Reports.FairnessReportPdf.Render, cancellationToken);
        }
        catch (Reports.PdfFontsMissingException ex)
        {
            return JobsApi.Problem(503, "PDF fonts missing", ex.Message, "format");
        }
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> ExportRangeAsync(
        string name, string format, string contentType, HttpContext context, ProductionFairnessService fairness, FairnessStore store, TimeProvider time, ClaimsPrincipal user,
        string? from, string? to, string? version, Func<FairnessReport, FairnessSignOff?, DateTime, string, byte[]> render, CancellationToken cancellationToken)
    {
        var (found, problem) = await RangeAsync(name, fairness, time, from, to, null, version, cancellationToken);
        if (problem is not null) return problem;
        if (found!.Report is not { Predictions: > 0 } report)
        {
            return JobsApi.Problem(404, "No production traffic", string.Create(CultureInfo.InvariantCulture,
                $"No predictions of {name} from {found.From:yyyy-MM-dd} to {found.To:yyyy-MM-dd}; pick a range with traffic."), "from");
        }

        var fileName = string.Create(CultureInfo.InvariantCulture, $"fairness-{report.Model}-v{report.Version}-{report.From:yyyyMMdd}-{report.To:yyyyMMdd}.{format}");
        return await FairnessApi.SendAsync(report.AsReport(), null, format, contentType, fileName, context, store, time, user, render, cancellationToken);
    }

    /// <summary>The range a request asks for, computed; or the problem naming the parameter that is wrong (404 for an unknown model).</summary>
    private static async Task<(ProductionFairnessRange? Found, ProblemHttpResult? Problem)> RangeAsync(
        string name, ProductionFairnessService fairness, TimeProvider time, string? from, string? to, string? grouping, string? version, CancellationToken cancellationToken)
    {
        var (range, problem) = Range(from, to, DefaultRangeDays, time);
        if (problem is not null) return (null, problem);
        int? number = null;
        if (!string.IsNullOrWhiteSpace(version))
        {
            if (!int.TryParse(version.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
                return (null, JobsApi.Problem(400, "Invalid version", "version must be a version number such as 3.", "version"));
            number = parsed;
        }

        try
        {
            return await fairness.RangeAsync(name, range.From, range.To, number, string.IsNullOrWhiteSpace(grouping) ? null : grouping.Trim(), cancellationToken) is { } found
                ? (found, null)
                : (null, ModelNotFound(name));
        }
        catch (ArgumentOutOfRangeException ex)
        {
            var field = ex.ParamName is "version" or "grouping" ? ex.ParamName : string.IsNullOrWhiteSpace(from) ? "to" : "from";
            return (null, JobsApi.Problem(400, field is "from" or "to" ? "Invalid range" : $"Invalid {field}", ex.Message.Split(" (Parameter", 2)[0], field));
        }
    }

    public static async Task<Results<Ok<FairnessSeries>, ProblemHttpResult>> GetSeries(
        string name, ProductionFairnessService fairness, TimeProvider time, CancellationToken cancellationToken,
        [Description("First day, yyyy-MM-dd (default: 29 days before `to`).")] string? from = null,
        [Description("Last day, yyyy-MM-dd, inclusive (default: today, UTC).")] string? to = null,
        [Description("A protected column, or two or three joined by \" × \" (default: the first protected column).")] string? grouping = null)
    {
        var (range, problem) = Range(from, to, DefaultSeriesDays, time);
        if (problem is not null) return problem;
        try
        {
            return await fairness.SeriesAsync(name, range.From, range.To, string.IsNullOrWhiteSpace(grouping) ? null : grouping.Trim(), cancellationToken) is { } found
                ? TypedResults.Ok(found)
                : ModelNotFound(name);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            var field = ex.ParamName == "grouping" ? "grouping" : string.IsNullOrWhiteSpace(from) ? "to" : "from";
            return JobsApi.Problem(400, field is "from" or "to" ? "Invalid range" : "Invalid grouping", ex.Message.Split(" (Parameter", 2)[0], field);
        }
    }

    /// <summary>The days a request asks for, or the problem naming the parameter that is wrong (the length is the service's to judge).</summary>
    internal static ((DateOnly From, DateOnly To) Range, ProblemHttpResult? Problem) Range(string? from, string? to, int defaultDays, TimeProvider time)
    {
        var end = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (!string.IsNullOrWhiteSpace(to))
        {
            if (Parse(to, "to") is { Problem: { } bad }) return (default, bad);
            end = Parse(to, "to").Value;
        }

        var start = end.AddDays(-(defaultDays - 1));
        if (!string.IsNullOrWhiteSpace(from))
        {
            if (Parse(from, "from") is { Problem: { } bad }) return (default, bad);
            start = Parse(from, "from").Value;
        }

        return start > end
            ? (default, JobsApi.Problem(400, "Invalid range", string.Create(CultureInfo.InvariantCulture, $"from ({start:yyyy-MM-dd}) must not be after to ({end:yyyy-MM-dd})."), "from"))
            : ((start, end), null);
    }

    private static (DateOnly Value, ProblemHttpResult? Problem) Parse(string text, string field)
    {
        var shown = text.Length > 100 ? text[..100] + "…" : text;
        if (!DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return (default, JobsApi.Problem(400, "Invalid date", $"{field} must be a date as yyyy-MM-dd, such as 2026-03-01; '{shown}' is not.", field));
        return date.Year is < 1970 or > 2100 ? (default, JobsApi.Problem(400, "Invalid date", $"{field} must be between 1970 and 2100.", field)) : (date, null);
    }

    private static ProblemHttpResult ModelNotFound(string name) => JobsApi.Problem(404, "Model not found", $"There is no registered model '{name}'.", "name");
}

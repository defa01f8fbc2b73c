using System.Globalization;
using FraudWorkbench.Core.Db;

namespace FraudWorkbench.Operations;

/// <summary>
/// A database that is down, stalled or overloaded is a 503 with Retry-After wherever it surfaces — in a
/// page, an API handler or the sign-in checks that run before either — never a 500. Also gives every
/// 503 the app answers (scoring's own included) a Retry-After header.
/// </summary>
public sealed class DatabaseFaultMiddleware(RequestDelegate next, IProblemDetailsService problems, ILogger<DatabaseFaultMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var response = (HttpResponse)state;
            if (response.StatusCode == StatusCodes.Status503ServiceUnavailable && !response.Headers.ContainsKey("Retry-After"))
            {
                response.Headers.RetryAfter = DatabaseFault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            return Task.CompletedTask;
        }, context.Response);

        try
        {
            await next(context);
        }
        catch (Exception ex) when (DatabaseFault.IsUnavailable(ex) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            logger.LogWarning("{Method} {Path} answered 503: the database is unavailable ({Error})", context.Request.Method, context.Request.Path, ex.GetBaseException().Message);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = DatabaseFault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers.CacheControl = "no-store";
            if (WantsHtml(context.Request))
            {
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(Page);
                return;
            }

            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = 503,
                    Title = "The database is unavailable",
                    Detail = $"FraudWorkbench cannot reach its database right now; nothing was changed. Retry in {DatabaseFault.RetryAfterSeconds} s.",
                },
            });
        }
    }

    private static bool WantsHtml(HttpRequest request) =>
        !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/openapi")
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    // No scripts or outside resources: this page must show while everything else is failing.
    private const string Page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Database unavailable · FraudWorkbench</title>
        <meta http-equiv="refresh" content="5"><meta name="viewport" content="width=device-width, initial-scale=1">
        <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
        <body><h1>The database is unavailable</h1>
        <p>FraudWorkbench cannot reach its database right now. Nothing was changed. This page tries again every 5 seconds;
        scoring keeps answering from memory for models, keys and customers it already knows.</p></body></html>
        """;
}

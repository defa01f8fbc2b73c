using System.Globalization;
using FraudWorkbench.Core.Db;
using Microsoft.AspNetCore.Http.Timeouts;

namespace FraudWorkbench.Operations;

/// <summary>
/// Bounds on API requests, so a stalled database (connections that open but never answer) costs callers
/// a quick 503 with Retry-After instead of Npgsql's 30 s command timeout. The cancellation reaches every
/// database call through the request's token. Pages are not bounded here: their circuit is a long-lived connection.
/// </summary>
public static class RequestTimeouts
{
    public const string Scoring = "scoring";
    public const string Api = "api";

    /// <summary>Bulk labels (a 10,000-item batch, a 100,000-row file): seconds of work that is not a stall.</summary>
    public const string Bulk = "bulk";

    public static IServiceCollection AddWorkbenchRequestTimeouts(this IServiceCollection services, IConfiguration configuration)
    {
        var api = configuration.GetValue("FraudWorkbench:Api:RequestTimeout", TimeSpan.FromSeconds(10));
        var scoring = configuration.GetValue("FraudWorkbench:Api:ScoringRequestTimeout", TimeSpan.FromSeconds(2));
        var bulk = configuration.GetValue("FraudWorkbench:Api:BulkRequestTimeout", TimeSpan.FromSeconds(120));
        services.AddRequestTimeouts(o =>
        {
            o.AddPolicy(Api, Policy(api));
            o.AddPolicy(Scoring, Policy(scoring));
            o.AddPolicy(Bulk, Policy(bulk));
        });
        return services;
    }

    private static RequestTimeoutPolicy Policy(TimeSpan timeout) => new()
    {
        Timeout = timeout,
        TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
        WriteTimeoutResponse = async context =>
        {
            context.Response.Headers.RetryAfter = DatabaseFault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = 503,
                    Title = "The request timed out",
                    Detail = $"No answer within {timeout.TotalSeconds:0.#} s: the database is slow or unavailable. Nothing was changed; retry in {DatabaseFault.RetryAfterSeconds} s.",
                },
            });
        },
    };
}

using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace FraudWorkbench.Operations;

/// <summary>
/// A ProblemDetails that tells the caller when to retry (<c>retryAfterSeconds</c>) says it in the Retry-After header
/// too, which is what HTTP clients and proxies read. Others fall back to <see cref="DatabaseFaultMiddleware"/>'s default.
/// </summary>
public static class RetryAfterFilter
{
    public static TBuilder WithRetryAfterHeader<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var inner = result is INestedHttpResult nested ? nested.Result : result;
            if (inner is ProblemHttpResult { StatusCode: StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests } problem
                && problem.ProblemDetails.Extensions.TryGetValue("retryAfterSeconds", out var seconds) && seconds is not null)
            {
                context.HttpContext.Response.Headers.RetryAfter = Convert.ToString(seconds, CultureInfo.InvariantCulture);
            }

            return result;
        });
}

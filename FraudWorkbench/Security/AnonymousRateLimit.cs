using System.Globalization;
using System.Threading.RateLimiting;
using FraudWorkbench.Core.Accounts;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Security;

/// <summary>
/// A request budget per client address for callers who are not signed in and hold no valid key: the sign-in
/// form, and anyone presenting keys that do not verify (each unknown key would otherwise cost a database
/// lookup). Static files and health checks are free. Once an address has spent its budget, keys it presents
/// are not even looked up until the window moves on.
/// </summary>
public sealed class AnonymousRateLimit : IDisposable
{
    private readonly PartitionedRateLimiter<string> limiter;

    public AnonymousRateLimit(IOptions<AccountOptions> options)
    {
        var limit = options.Value.AnonymousRequestsPerMinute;
        limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(address, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit,
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        }));
    }

    public static string AddressOf(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>True when the address has no request left in this window (checked before looking a key up).</summary>
    public bool IsSpent(HttpContext context) => limiter.GetStatistics(AddressOf(context))?.CurrentAvailablePermits <= 0;

    public void Dispose() => limiter.Dispose();

    /// <summary>Counts an unauthenticated request against its address; answers 429 with Retry-After beyond the budget.</summary>
    public sealed class Middleware(RequestDelegate next, AnonymousRateLimit budget, IProblemDetailsService problems)
    {
        public async Task InvokeAsync(HttpContext context)
        {
            if (context.User.Identity?.IsAuthenticated == true || IsFree(context))
            {
                await next(context);
                return;
            }

            using var lease = budget.limiter.AttemptAcquire(AddressOf(context));
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(10);
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = { Status = 429, Title = "Too many requests", Detail = $"Too many requests without a valid key or sign-in from this address; retry in {seconds} s." },
            });
        }

        private static bool IsFree(HttpContext context)
        {
            var path = context.Request.Path;
            return path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz")
                || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content")
                // Static assets: anonymous endpoints serving files.
                || (HttpMethods.IsGet(context.Request.Method) && Path.HasExtension(path.Value)
                    && context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null);
        }
    }
}

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FraudWorkbench.Operations;

public static class HealthResponses
{
    /// <summary>"Healthy" alone when all is well; otherwise the status and, per check that is not healthy, why.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var problems = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}");
        return context.Response.WriteAsync(report.Status == HealthStatus.Healthy
            ? report.Status.ToString()
            : $"{report.Status}\n{string.Join('\n', problems)}\n");
    }
}

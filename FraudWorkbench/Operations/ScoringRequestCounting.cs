using FraudWorkbench.Core.Scoring;

namespace FraudWorkbench.Operations;

/// <summary>
/// Counts every answer of the scoring routes (<c>/api/v1/predict</c>, <c>/api/v1/predict/batch</c>) by its final status
/// for the scoring error-rate alert. Registered first in the pipeline, so it sees the status after everything that can
/// change it — the exception handler's 500, <see cref="DatabaseFaultMiddleware"/>'s 503, the rate limiter's 429.
/// </summary>
public sealed class ScoringRequestCounting(RequestDelegate next, ScoringRequestStats stats)
{
    private const string ModelItem = "FraudWorkbench.ScoringRequestModel";

    /// <summary>
    /// Names the registered model a scoring request was resolved to, so its answer counts against that model (a rule on one
    /// model's error rate) as well as the installation. Requests answered before a model is known count as <c>*</c> only.
    /// </summary>
    public static void Attribute(HttpContext context, string model) => context.Items[ModelItem] = model;

    private static string? ModelOf(HttpContext context) => context.Items.TryGetValue(ModelItem, out var model) ? model as string : null;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!IsScoring(context.Request))
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch when (!context.RequestAborted.IsCancellationRequested)
        {
            // Nothing outside handles it: the server answers 500 (or drops the connection), an error either way.
            stats.Count(StatusCodes.Status500InternalServerError, ModelOf(context));
            throw;
        }

        // A client that hung up got no answer to count.
        if (!context.RequestAborted.IsCancellationRequested) stats.Count(context.Response.StatusCode, ModelOf(context));
    }

    public static bool IsScoring(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Value?.TrimEnd('/') is { } path
        && (path.Equals("/api/v1/predict", StringComparison.OrdinalIgnoreCase) || path.Equals("/api/v1/predict/batch", StringComparison.OrdinalIgnoreCase));
}

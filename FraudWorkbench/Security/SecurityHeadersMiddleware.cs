using System.Security.Cryptography;

namespace FraudWorkbench.Security;

/// <summary>
/// Content-Security-Policy, nosniff and Referrer-Policy on every response: pages, API, the API docs,
/// static files and error answers alike. Scripts run only from this origin or carry the request's
/// nonce (the import map, the docs page's configuration); styles may be inline because MudBlazor
/// styles its components with style attributes and style elements.
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    private const string NonceKey = "fwb.csp-nonce";

    /// <summary>The nonce this request's inline scripts must carry to run.</summary>
    public static string Nonce(HttpContext context) =>
        context.Items[NonceKey] as string ?? throw new InvalidOperationException("SecurityHeadersMiddleware is not in the pipeline.");

    public Task InvokeAsync(HttpContext context)
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        context.Items[NonceKey] = nonce;
        // On starting, not now: the exception handler clears the headers before it writes the error answer.
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = string.Join("; ",
                "default-src 'self'",
                $"script-src 'self' 'nonce-{nonce}'",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data:",
                "font-src 'self' data:",
                "connect-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'");
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        });
        return next(context);
    }
}

using Scalar.AspNetCore;

namespace FraudWorkbench.Security;

/// <summary>
/// The Scalar API reference at <c>/api/docs</c>, self-contained: it loads nothing from other hosts (no
/// vendor fonts, telemetry, AI agent, MCP or cloud client button) and its inline configuration script
/// carries the request's CSP nonce.
/// </summary>
public static class ApiDocsPage
{
    public const string Path = "/api/docs";

    public static void Configure(ScalarOptions options, HttpContext context) => options
        .WithTitle("FraudWorkbench API")
        .WithOpenApiRoutePattern("/openapi/{documentName}.json")
        .WithNonce(SecurityHeadersMiddleware.Nonce(context))
        .DisableDefaultFonts()
        .DisableTelemetry()
        .DisableAgent()
        .DisableMcp()
        .HideClientButton()
        .HideDeveloperTools();
}

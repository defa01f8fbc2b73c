using Microsoft.AspNetCore.Authorization;

namespace FraudWorkbench.Security;

/// <summary>
/// A user who signed in with a one-time password must choose their own before anything else:
/// pages redirect to the change-password form, and the API and other writes are refused. Only the
/// account pages and what anyone may fetch (static assets, health) answer meanwhile — decided by the
/// endpoint, not by the look of the path (a path with a file extension is not necessarily a static file).
/// </summary>
public sealed class PasswordChangeRequiredMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!context.User.HasClaim(SecurityExtensions.MustChangePasswordClaim, "true")
            || path.StartsWithSegments("/account")
            || path.StartsWithSegments("/_framework")
            || path.StartsWithSegments("/_content")
            || context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return next(context);
        }

        if (HttpMethods.IsGet(context.Request.Method) && !path.StartsWithSegments("/api") && !path.StartsWithSegments("/openapi"))
        {
            context.Response.Redirect("/account/password");
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsJsonAsync(
            new { title = "Password change required", status = 403, detail = "Choose your own password at /account/password first." },
            options: null, contentType: "application/problem+json");
    }
}

namespace FraudWorkbench.Security;

/// <summary>Sends a user who signed in with a one-time password to the change-password page before anything else.</summary>
public sealed class PasswordChangeRequiredMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (context.User.HasClaim(SecurityExtensions.MustChangePasswordClaim, "true")
            && HttpMethods.IsGet(context.Request.Method)
            && !path.StartsWithSegments("/account")
            && !path.StartsWithSegments("/api")
            && !path.StartsWithSegments("/_framework")
            && !path.StartsWithSegments("/_content")
            && !Path.HasExtension(path.Value))
        {
            context.Response.Redirect("/account/password");
            return Task.CompletedTask;
        }

        return next(context);
    }
}

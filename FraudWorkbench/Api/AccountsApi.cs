using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FraudWorkbench.Api;

public sealed record WhoAmI(string Name, string Kind, string? Role, IReadOnlyList<string> Scopes, string Actor);

public static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Accounts");
        api.MapGet("/whoami", GetWhoAmI).WithName("WhoAmI").WithSummary("The signed-in user or the calling API key, with its role or scopes.");
        return app;
    }

    /// <summary>Sign-out for the browser (a form POST with an antiforgery token).</summary>
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/logout", (Delegate)SignOut).ExcludeFromDescription();
        return app;
    }

    public static Ok<WhoAmI> GetWhoAmI(ClaimsPrincipal user)
    {
        var isKey = user.FindFirst(WorkbenchClaims.ApiKeyId) is not null;
        return TypedResults.Ok(new WhoAmI(
            user.Identity!.Name!,
            isKey ? "api-key" : "user",
            user.FindFirstValue(ClaimTypes.Role),
            [.. user.FindAll(WorkbenchClaims.Scope).Select(c => c.Value)],
            WorkbenchClaims.Actor(user)));
    }

    private static async Task<RedirectHttpResult> SignOut(HttpContext context)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.Redirect("/account/login");
    }
}

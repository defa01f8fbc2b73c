using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;

namespace FraudWorkbench.Security;

public static class Policies
{
    /// <summary>Admin or DataScientist (or a key with the write or admin scope). Reviewers are read-only.</summary>
    public const string Write = "write";

    public const string Admin = "admin";

    /// <summary>A key with the predict scope, or a signed-in Admin or DataScientist.</summary>
    public const string Predict = "predict";

    /// <summary>A key with the feedback scope, or a signed-in Admin or DataScientist.</summary>
    public const string Feedback = "feedback";

    /// <summary>
    /// A signed-in Reviewer or Admin: signs off a fairness report. Not a DataScientist (the people who build and promote a
    /// model are not the ones who approve how it treats groups) and not an API key (a sign-off is a named person's judgement).
    /// </summary>
    public const string SignOff = "signoff";

    /// <summary>Acknowledges an alert: a signed-in Reviewer, DataScientist or Admin, or a key with the write scope. Reviewers look after alerts but do not edit rules.</summary>
    public const string Acknowledge = "acknowledge";
}

public static class SecurityExtensions
{
    private const string SelectorScheme = "CookieOrApiKey";
    public const string MustChangePasswordClaim = "fwb:must_change_password";

    public static IServiceCollection AddWorkbenchSecurity(this IServiceCollection services)
    {
        services.AddAuthentication(SelectorScheme)
            // The API docs page is a page for people: signed out, it goes to the sign-in form like any other page.
            .AddPolicyScheme(SelectorScheme, "Cookie or API key", o => o.ForwardDefaultSelector = context =>
                ApiKeyAuthenticationHandler.HasKey(context.Request)
                || (context.Request.Path.StartsWithSegments("/api") && !context.Request.Path.StartsWithSegments(ApiDocsPage.Path) && !context.Request.Cookies.ContainsKey(CookieName))
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = "/account/login";
                o.LogoutPath = "/account/logout";
                o.AccessDeniedPath = "/account/access-denied";
                o.ExpireTimeSpan = TimeSpan.FromHours(12);
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = ValidateSecurityStampAsync;
                o.Events.OnRedirectToLogin = context => ApiAwareRedirect(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => ApiAwareRedirect(context, StatusCodes.Status403Forbidden);
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

        services.AddAuthorization(ConfigurePolicies);

        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, RevalidatingUserStateProvider>();
        services.AddScoped<CurrentUser>();
        services.AddSingleton<AnonymousRateLimit>();
        return services;
    }

    public const string CookieName = "fwb.auth";

    /// <summary>
    /// Every endpoint requires the read policy unless it opts out; writes and administration have their own
    /// policies. A bare <c>[Authorize]</c> uses the default policy, so that is the read policy too: otherwise a
    /// key with only the predict scope would pass it and read pages.
    /// </summary>
    public static void ConfigurePolicies(AuthorizationOptions options)
    {
        var read = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.CanRead(c.User)).Build();
        options.FallbackPolicy = read;
        options.DefaultPolicy = read;
        options.AddPolicy(Policies.Write, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.CanWrite(c.User)));
        options.AddPolicy(Policies.Admin, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.IsAdmin(c.User)));
        options.AddPolicy(Policies.Predict, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.HasScopeOrWriterRole(c.User, Scopes.Predict)));
        options.AddPolicy(Policies.Feedback, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.HasScopeOrWriterRole(c.User, Scopes.Feedback)));
        options.AddPolicy(Policies.SignOff, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.CanSignOff(c.User)));
        options.AddPolicy(Policies.Acknowledge, p => p.RequireAuthenticatedUser().RequireAssertion(c => WorkbenchClaims.CanAcknowledge(c.User)));
    }

    public static ClaimsPrincipal CreatePrincipal(User user)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, user.Email),
            new(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new(ClaimTypes.Role, user.Role),
            new("display_name", user.DisplayName),
            new(WorkbenchClaims.UserId, user.Id.ToString()),
            new(WorkbenchClaims.SecurityStamp, user.SecurityStamp.ToString()),
        };
        if (user.MustChangePassword) claims.Add(new Claim(MustChangePasswordClaim, "true"));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
    }

    /// <summary>True while the cookie's user still exists with the same security stamp (password and role changes rotate it).</summary>
    public static async Task<bool> IsCurrentAsync(ClaimsPrincipal principal, UserStore users, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(principal.FindFirstValue(WorkbenchClaims.UserId), out var id)) return false;
        var user = await users.GetAsync(id, cancellationToken);
        return user is not null && user.SecurityStamp.ToString() == principal.FindFirstValue(WorkbenchClaims.SecurityStamp);
    }

    private static async Task ValidateSecurityStampAsync(CookieValidatePrincipalContext context)
    {
        var users = context.HttpContext.RequestServices.GetRequiredService<UserStore>();
        if (context.Principal is null || !await IsCurrentAsync(context.Principal, users, context.HttpContext.RequestAborted))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    private static Task ApiAwareRedirect(RedirectContext<CookieAuthenticationOptions> context, int apiStatus)
    {
        if (context.Request.Path.StartsWithSegments("/api") && !context.Request.Path.StartsWithSegments(ApiDocsPage.Path))
        {
            context.Response.StatusCode = apiStatus;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}

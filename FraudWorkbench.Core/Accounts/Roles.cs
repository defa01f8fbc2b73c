using System.Security.Claims;

namespace FraudWorkbench.Core.Accounts;

public static class Roles
{
    public const string Admin = "Admin";
    public const string DataScientist = "DataScientist";
    public const string Reviewer = "Reviewer";

    public static readonly IReadOnlyList<string> All = [Admin, DataScientist, Reviewer];

    public static bool IsValid(string role) => All.Contains(role);
}

/// <summary>What an API key may do. <c>admin</c> implies every other scope.</summary>
public static class Scopes
{
    public const string Admin = "admin";
    public const string Read = "read";
    public const string Write = "write";
    public const string Predict = "predict";
    public const string Feedback = "feedback";

    public static readonly IReadOnlyList<string> All = [Admin, Read, Write, Predict, Feedback];
}

/// <summary>Claim names shared by the sign-in cookie, the API key handler and the pages.</summary>
public static class WorkbenchClaims
{
    public const string UserId = "fwb:user_id";
    public const string SecurityStamp = "fwb:stamp";
    public const string ApiKeyId = "fwb:api_key_id";
    public const string Scope = "scope";
    /// <summary>An API key's own requests-per-minute limit, when it has one.</summary>
    public const string RateLimit = "fwb:rate_limit";

    /// <summary>Who did it, as written to the audit log: <c>user:alice@example.com</c> or <c>api-key:ci-bot</c>.</summary>
    public static string Actor(ClaimsPrincipal principal) =>
        principal.FindFirst(ApiKeyId) is not null
            ? "api-key:" + principal.Identity?.Name
            : "user:" + (principal.Identity?.Name ?? "anonymous");

    /// <summary>May change things: Admin or DataScientist by role, admin or write by key scope. Reviewers may not.</summary>
    public static bool CanWrite(ClaimsPrincipal principal) =>
        principal.IsInRole(Roles.Admin) || principal.IsInRole(Roles.DataScientist)
        || principal.HasClaim(Scope, Scopes.Admin) || principal.HasClaim(Scope, Scopes.Write);

    /// <summary>Signed-in users read everything; a key reads only with the read, write or admin scope (a scoring-only key reads nothing).</summary>
    public static bool CanRead(ClaimsPrincipal principal) =>
        principal.FindFirst(ApiKeyId) is null
        || principal.HasClaim(Scope, Scopes.Read) || principal.HasClaim(Scope, Scopes.Write) || principal.HasClaim(Scope, Scopes.Admin);

    /// <summary>May call a scope-guarded endpoint: a key with <paramref name="scope"/> (or admin), or a signed-in Admin or DataScientist.</summary>
    public static bool HasScopeOrWriterRole(ClaimsPrincipal principal, string scope) =>
        principal.FindFirst(ApiKeyId) is null
            ? principal.IsInRole(Roles.Admin) || principal.IsInRole(Roles.DataScientist)
            : principal.HasClaim(Scope, scope) || principal.HasClaim(Scope, Scopes.Admin);

    /// <summary>May sign off a fairness report: a signed-in Reviewer or Admin, never an API key (a sign-off names a person).</summary>
    public static bool CanSignOff(ClaimsPrincipal principal) =>
        principal.FindFirst(ApiKeyId) is null && (principal.IsInRole(Roles.Reviewer) || principal.IsInRole(Roles.Admin));

    /// <summary>May acknowledge an alert: whoever may write, and a signed-in Reviewer (who looks after alerts without editing rules).</summary>
    public static bool CanAcknowledge(ClaimsPrincipal principal) =>
        CanWrite(principal) || (principal.FindFirst(ApiKeyId) is null && principal.IsInRole(Roles.Reviewer));

    public static bool IsAdmin(ClaimsPrincipal principal) =>
        principal.IsInRole(Roles.Admin) || principal.HasClaim(Scope, Scopes.Admin);
}

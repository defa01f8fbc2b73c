using System.Security.Claims;
using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;

namespace FraudWorkbench.Security;

/// <summary>
/// The circuit's user for interactive components. Event handlers run on the server, so checking a
/// policy here refuses a Reviewer's write even if a button was reached some other way.
/// </summary>
public sealed class CurrentUser(AuthenticationStateProvider state, IAuthorizationService authorization)
{
    public async Task<ClaimsPrincipal> GetAsync() => (await state.GetAuthenticationStateAsync()).User;

    public async Task<string> ActorAsync() => WorkbenchClaims.Actor(await GetAsync());

    public async Task<bool> IsAllowedAsync(string policy) => (await authorization.AuthorizeAsync(await GetAsync(), policy)).Succeeded;

    /// <summary>Throws when the user lacks <paramref name="policy"/>; pages turn that into a message.</summary>
    public async Task<string> RequireAsync(string policy)
    {
        var user = await GetAsync();
        if (!(await authorization.AuthorizeAsync(user, policy)).Succeeded)
        {
            throw new UnauthorizedAccessException(policy switch
            {
                Policies.Admin => "Only an Admin may do this.",
                Policies.SignOff => "Only Reviewers and Admins may sign off.",
                _ => "Your role is read-only: only Admins and Data Scientists may change things.",
            });
        }

        return WorkbenchClaims.Actor(user);
    }
}

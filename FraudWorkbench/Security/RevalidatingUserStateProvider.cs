using FraudWorkbench.Core.Accounts;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;

namespace FraudWorkbench.Security;

/// <summary>
/// A circuit keeps the user it started with; this re-checks the security stamp every minute so a
/// password reset or role change also reaches pages that are already open.
/// </summary>
public sealed class RevalidatingUserStateProvider(ILoggerFactory loggerFactory, UserStore users)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromMinutes(1);

    protected override Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        SecurityExtensions.IsCurrentAsync(authenticationState.User, users, cancellationToken);
}

using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;

namespace FraudWorkbench.Tests.Components;

/// <summary>A signed-in user of one role for component tests: what the app's cookie sign-in would hand the circuit.</summary>
internal sealed class FixedUser(string role, string email) : AuthenticationStateProvider
{
    public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(new ClaimsPrincipal(
        new ClaimsIdentity([new Claim(ClaimTypes.Name, email), new Claim(ClaimTypes.Role, role)], "test"))));
}

using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;

namespace FraudWorkbench.Tests.Security;

/// <summary>
/// Walks every routable page (found by reflection, so a new page is covered without editing this test)
/// with every kind of caller, and checks what each gets from the server's first render.
/// </summary>
[Trait("Category", "Database")]
public sealed partial class PageAccessTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    public enum Caller { Anonymous, PredictKey, FeedbackKey, ReadKey, Reviewer, DataScientist, Admin }

    private enum Outcome { Page, SignIn, AccessDenied, Forbidden }

    public static TheoryData<Caller> Callers => [.. Enum.GetValues<Caller>()];

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task Get_EveryPage_AnswersByTheCallersRights(Caller caller)
    {
        using var client = await ClientForAsync(caller);
        var pages = Pages();
        Assert.True(pages.Count >= 20, $"found only {pages.Count} pages");

        var wrong = new List<string>();
        foreach (var (path, policy, anonymous) in pages)
        {
            var expected = Expected(caller, policy, anonymous);
            var response = await client.GetAsync(path);
            var actual = response.StatusCode switch
            {
                HttpStatusCode.OK => Outcome.Page,
                HttpStatusCode.Forbidden => Outcome.Forbidden,
                HttpStatusCode.Redirect when response.Headers.Location!.OriginalString.Contains("/account/login") => Outcome.SignIn,
                HttpStatusCode.Redirect when response.Headers.Location!.OriginalString.Contains("/account/access-denied") => Outcome.AccessDenied,
                _ => (Outcome)(-(int)response.StatusCode),
            };
            if (actual != expected) wrong.Add($"{path}: expected {expected}, got {(int)response.StatusCode} {response.Headers.Location}");
            if (actual == Outcome.Page && !anonymous)
            {
                // A page a caller may not see must not leak into one it may: no navigation to admin pages for non-admins.
                var html = await response.Content.ReadAsStringAsync();
                if (caller != Caller.Admin && html.Contains("href=\"admin/users\"")) wrong.Add($"{path}: shows the admin navigation to {caller}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    private static Outcome Expected(Caller caller, string? policy, bool anonymous)
    {
        if (anonymous) return Outcome.Page;
        var allowed = caller switch
        {
            Caller.Anonymous or Caller.PredictKey or Caller.FeedbackKey => false,
            Caller.ReadKey or Caller.Reviewer => policy is null,
            Caller.DataScientist => policy is null or Policies.Write,
            _ => true,
        };
        if (allowed) return Outcome.Page;
        return caller switch
        {
            Caller.Anonymous => Outcome.SignIn,
            Caller.Reviewer or Caller.DataScientist => Outcome.AccessDenied,
            _ => Outcome.Forbidden, // keys get a 403 ProblemDetails, not a redirect
        };
    }

    /// <summary>Every page with a route, its parameters filled with values that name nothing stored.</summary>
    private static List<(string Path, string? Policy, bool Anonymous)> Pages() =>
        [.. typeof(FraudWorkbench.Components.App).Assembly.GetTypes()
            .Where(t => typeof(IComponent).IsAssignableFrom(t))
            .SelectMany(t => t.GetCustomAttributes<RouteAttribute>().Select(r => (
                Path: RouteParameter().Replace(r.Template, m => m.Groups["type"].Value switch
                {
                    "guid" => Guid.NewGuid().ToString(),
                    "int" => "1",
                    _ => "no-such-" + m.Groups["name"].Value.ToLowerInvariant(),
                }),
                Policy: t.GetCustomAttribute<AuthorizeAttribute>()?.Policy,
                Anonymous: t.GetCustomAttribute<AllowAnonymousAttribute>() is not null)))
            .OrderBy(p => p.Path)];

    private async Task<HttpClient> ClientForAsync(Caller caller)
    {
        switch (caller)
        {
            case Caller.Anonymous:
                return fixture.App.CreateHttpClient();
            case Caller.PredictKey or Caller.FeedbackKey or Caller.ReadKey:
                var scope = caller switch { Caller.PredictKey => Scopes.Predict, Caller.FeedbackKey => Scopes.Feedback, _ => Scopes.Read };
                var (_, secret) = await fixture.App.Get<ApiKeyStore>().CreateAsync($"pages-{scope}-{Guid.NewGuid():N}", [scope], null, "test");
                var client = fixture.App.CreateHttpClient();
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
                return client;
            default:
                var role = caller.ToString();
                var email = $"pages-{role.ToLowerInvariant()}-{Guid.NewGuid():N}@example.com";
                await fixture.App.Get<UserStore>().CreateAsync(email, "", role, "page-walk-password", "test");
                return await fixture.SignedInClientAsync(email, "page-walk-password");
        }
    }

    [GeneratedRegex(@"\{(?<name>\w+)(:(?<type>\w+))?\}")]
    private static partial Regex RouteParameter();
}

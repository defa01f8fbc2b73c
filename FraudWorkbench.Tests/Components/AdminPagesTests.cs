using Bunit;
using FraudWorkbench.Components.Pages.Admin;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Tests.Infrastructure;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class AdminPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task ApiKeys_AdminCreatesKey_SecretShownOnceWorksAndRevokeStopsIt()
    {
        await using var context = new PageContext(db, Roles.Admin);
        var page = context.Render<ApiKeys>();
        await page.ChangeAsync("input", "partner-ui");

        await page.ClickButtonAsync("Create key");

        var secret = page.WaitForElement("[data-testid=new-api-key] code").TextContent;
        var keys = context.Get<ApiKeyStore>();
        var key = await keys.AuthenticateAsync(secret);
        Assert.Equal("partner-ui", key!.Name);
        Assert.Equal(["predict"], key.Scopes);

        page.WaitForAssertion(() => Assert.Contains("partner-ui", page.Find("table").TextContent));
        await page.ClickAsync(p => p.FindAll("tr").First(r => r.TextContent.Contains("partner-ui")).QuerySelectorAll("button").First(b => b.TextContent.Contains("Revoke")));
        page.WaitForAssertion(() => Assert.Contains("Revoke 'partner-ui'", page.Find("[data-testid=revoke-confirm]").TextContent));
        await page.ClickAsync(p => p.Find("#revoke-cancel"));
        Assert.Empty(page.FindAll("[data-testid=revoke-confirm]"));
        Assert.Contains("active", page.FindAll("tr").First(r => r.TextContent.Contains("partner-ui")).TextContent); // asked, cancelled: nothing happened

        await page.ClickAsync(p => p.FindAll("tr").First(r => r.TextContent.Contains("partner-ui")).QuerySelectorAll("button").First(b => b.TextContent.Contains("Revoke")));
        await page.ClickAsync(p => p.Find("#revoke-confirm"));

        page.WaitForAssertion(() => Assert.Contains("revoked", page.FindAll("tr").First(r => r.TextContent.Contains("partner-ui")).TextContent));
        Assert.Null(await keys.AuthenticateAsync(secret));
        var audit = await new AuditLog(db.DataSource).PageAsync(0, 10, "api-key.");
        Assert.Contains(audit.Items, e => e.Action == "api-key.revoke" && e.Actor == "user:" + PageContext.UserEmail);
    }

    [Fact]
    public async Task ApiKeys_EmptyName_FieldErrorAndNothingStored()
    {
        await using var context = new PageContext(db, Roles.Admin);
        var before = (await context.Get<ApiKeyStore>().ListAsync()).Count;
        var page = context.Render<ApiKeys>();

        await page.ClickButtonAsync("Create key");

        page.WaitForAssertion(() => Assert.Contains("A key needs a name", page.Markup));
        Assert.Equal(before, (await context.Get<ApiKeyStore>().ListAsync()).Count);
        Assert.Empty(page.FindAll("[data-testid=new-api-key]"));
    }

    [Fact]
    public async Task Users_AdminAddsUser_OneTimePasswordShownAndUserMustChangeIt()
    {
        await using var context = new PageContext(db, Roles.Admin);
        var page = context.Render<Users>();
        await page.ChangeAsync("input[data-testid=new-email]", "reviewer@example.com");

        await page.ClickButtonAsync("Add user");

        var password = page.WaitForElement("[data-testid=one-time-password] code").TextContent;
        var signIn = await context.Get<UserStore>().SignInAsync("reviewer@example.com", password);
        Assert.Equal((SignInStatus.Succeeded, Roles.DataScientist, true), (signIn.Status, signIn.User!.Role, signIn.User.MustChangePassword));
        page.WaitForAssertion(() => Assert.Contains("reviewer@example.com", page.Find("table").TextContent));
    }

    [Fact]
    public async Task Users_DuplicateEmail_ErrorNamesTheEmail()
    {
        await using var context = new PageContext(db, Roles.Admin);
        await context.Get<UserStore>().CreateAsync("taken@example.com", "", Roles.Reviewer, "some-password-1", "test");
        var page = context.Render<Users>();
        await page.ChangeAsync("input[data-testid=new-email]", "taken@example.com");

        await page.ClickButtonAsync("Add user");

        page.WaitForAssertion(() => Assert.Contains("A user with the email taken@example.com already exists.", page.Markup));
        Assert.Empty(page.FindAll("[data-testid=one-time-password]"));
    }

    [Fact]
    public async Task ApiKeys_NonAdminReachingTheHandler_IsRefused()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var before = (await context.Get<ApiKeyStore>().ListAsync()).Count;
        var page = context.Render<ApiKeys>();
        await page.ChangeAsync("input", "sneaky");

        await page.ClickButtonAsync("Create key");

        Assert.Equal(before, (await context.Get<ApiKeyStore>().ListAsync()).Count);
        Assert.Empty(page.FindAll("[data-testid=new-api-key]"));
    }
}

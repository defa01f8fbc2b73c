using System.Security.Claims;
using Bunit;
using JobsPage = FraudWorkbench.Components.Pages.Jobs;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

public sealed class JobsPageTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>, IAsyncDisposable
{
    private readonly BunitContext context = new();
    private readonly EventHub hub = db.NewHub();

    private JobStore Store => context.Services.GetRequiredService<JobStore>();

    private IRenderedComponent<JobsPage> RenderAs(string role)
    {
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices();
        context.Services.AddSingleton(hub);
        context.Services.AddSingleton(db.Jobs(hub));
        // The real policies, so the page's own server-side checks are what is tested.
        context.Services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        context.Services.AddTransient<IAuthorizationService, DefaultAuthorizationService>(); // over bUnit's placeholder
        context.Services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role));
        context.Services.AddScoped<CurrentUser>();
        context.Render<MudPopoverProvider>();
        return context.Render<JobsPage>();
    }

    [Fact]
    public async Task Jobs_ProgressReportedByAWorker_RowUpdatesLiveWithoutReload()
    {
        var page = RenderAs(Roles.DataScientist);
        var job = await Store.EnqueueAsync("ui.progress", new { }, "test");
        page.WaitForAssertion(() => Assert.Contains("ui.progress", page.Markup));
        await Store.ClaimNextAsync("w", ["ui.progress"]);

        await Store.ReportAsync(job.Id, "w", 40, "scoring rows");

        page.WaitForAssertion(() =>
        {
            var progress = page.Find($"tr:has([data-job-id='{job.Id}']) [data-testid=job-progress]");
            Assert.Equal("40", progress.GetAttribute("data-progress"));
            Assert.Contains("scoring rows", progress.TextContent);
            Assert.Equal("running", page.Find($"tr:has([data-job-id='{job.Id}']) [data-testid=job-status]").TextContent.Trim());
        });

        await Store.CompleteAsync(job.Id, "w", null);
        page.WaitForAssertion(() =>
            Assert.Equal("succeeded", page.Find($"tr:has([data-job-id='{job.Id}']) [data-testid=job-status]").TextContent.Trim()));
    }

    [Fact]
    public async Task Jobs_DataScientistClicksCancel_QueuedJobIsCancelled()
    {
        var job = await db.Jobs(hub).EnqueueAsync("ui.cancel", new { }, "test");
        var page = RenderAs(Roles.DataScientist);

        page.WaitForElement($"tr:has([data-job-id='{job.Id}']) button").Click();

        page.WaitForAssertion(() =>
            Assert.Equal("cancelled", page.Find($"tr:has([data-job-id='{job.Id}']) [data-testid=job-status]").TextContent.Trim()));
        Assert.Equal(JobStatus.Cancelled, (await Store.GetAsync(job.Id))!.Status);
        var audit = await new AuditLog(db.DataSource).PageAsync(0, 5, job.Id.ToString());
        Assert.Contains(audit.Items, e => e.Action == "job.cancel" && e.Actor == "user:someone@example.com");
    }

    [Fact]
    public async Task Jobs_Reviewer_SeesNoCancelAndTheServerCheckRefusesWrites()
    {
        var job = await db.Jobs(hub).EnqueueAsync("ui.reviewer", new { }, "test");
        var page = RenderAs(Roles.Reviewer);

        page.WaitForElement($"tr:has([data-job-id='{job.Id}']) [data-testid=job-status]");
        Assert.Empty(page.FindAll($"tr:has([data-job-id='{job.Id}']) button"));
        var currentUser = context.Services.GetRequiredService<CurrentUser>();
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => currentUser.RequireAsync(Policies.Write));
    }

    [Fact]
    public async Task Jobs_Disposed_UnsubscribesFromEvents()
    {
        RenderAs(Roles.Reviewer);
        Assert.Equal(1, hub.SubscriberCount<JobChanged>());

        await context.DisposeComponentsAsync();

        Assert.Equal(0, hub.SubscriberCount<JobChanged>());
    }

    public async ValueTask DisposeAsync() => await context.DisposeAsync();

    private sealed class FixedUser(string role) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(new ClaimsPrincipal(
            new ClaimsIdentity([new Claim(ClaimTypes.Name, "someone@example.com"), new Claim(ClaimTypes.Role, role)], "test"))));
    }
}

using Bunit;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using JobsPage = FraudWorkbench.Components.Pages.Jobs;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class JobsPageTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static string Row(Guid id) => $"tr:has([data-job-id='{id}'])";

    [Fact]
    public async Task Jobs_ProgressReportedByAWorker_RowUpdatesLiveWithoutReload()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var store = context.Get<JobStore>();
        var page = context.Render<JobsPage>();
        var job = await store.EnqueueAsync("ui.progress", new { }, "test");
        page.WaitForAssertion(() => Assert.Contains("ui.progress", page.Markup));
        await store.ClaimNextAsync("w", ["ui.progress"]);

        await store.ReportAsync(job.Id, "w", 40, "scoring rows");

        page.WaitForAssertion(() =>
        {
            var progress = page.Find($"{Row(job.Id)} [data-testid=job-progress]");
            Assert.Equal("40", progress.GetAttribute("data-progress"));
            Assert.Contains("scoring rows", progress.TextContent);
            Assert.Equal("running", page.Find($"{Row(job.Id)} [data-testid=job-status]").TextContent.Trim());
        });

        await store.CompleteAsync(job.Id, "w", null);
        page.WaitForAssertion(() => Assert.Equal("succeeded", page.Find($"{Row(job.Id)} [data-testid=job-status]").TextContent.Trim()));
    }

    [Fact]
    public async Task Jobs_DataScientistClicksCancel_QueuedJobIsCancelledAndAudited()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var job = await context.Get<JobStore>().EnqueueAsync("ui.cancel", new { }, "test");
        var page = context.Render<JobsPage>();

        await page.ClickAsync($"{Row(job.Id)} button");

        page.WaitForAssertion(() => Assert.Equal("cancelled", page.Find($"{Row(job.Id)} [data-testid=job-status]").TextContent.Trim()));
        Assert.Equal(JobStatus.Cancelled, (await context.Get<JobStore>().GetAsync(job.Id))!.Status);
        var audit = await new AuditLog(db.DataSource).PageAsync(0, 5, job.Id.ToString());
        Assert.Contains(audit.Items, e => e.Action == "job.cancel" && e.Actor == "user:" + PageContext.UserEmail);
    }

    [Fact]
    public async Task Jobs_Reviewer_SeesNoCancelAndTheServerCheckRefusesWrites()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        var job = await context.Get<JobStore>().EnqueueAsync("ui.reviewer", new { }, "test");
        var page = context.Render<JobsPage>();

        page.WaitForElement($"{Row(job.Id)} [data-testid=job-status]");
        Assert.Empty(page.FindAll($"{Row(job.Id)} button"));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => context.Get<CurrentUser>().RequireAsync(Policies.Write));
    }

    [Fact]
    public async Task Jobs_StatusFilter_JobLeavesTheFilteredListWhenItsStatusChanges()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var store = context.Get<JobStore>();
        var job = await store.EnqueueAsync("ui.filter", new { }, "test");
        var page = context.Render<JobsPage>();
        page.WaitForElement($"{Row(job.Id)}");

        await page.ClickAsync(p => p.FindAll(".mud-chip").First(c => c.TextContent.Trim() == "queued"));
        page.WaitForElement($"{Row(job.Id)}");
        await store.ClaimNextAsync("w", ["ui.filter"]);

        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"{Row(job.Id)}")));
    }

    [Fact]
    public async Task Jobs_Disposed_UnsubscribesFromEvents()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        context.Render<JobsPage>();
        Assert.Equal(1, context.Hub.SubscriberCount<JobChanged>());

        await context.Bunit.DisposeComponentsAsync();

        Assert.Equal(0, context.Hub.SubscriberCount<JobChanged>());
    }
}

using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class DashboardAndJobsTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task SignIn_ThenWatchAJob_ProgressBarAdvancesLiveWithoutReload()
    {
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, width: 1280);
        await using var _ = context;

        // Anonymous: sent to the sign-in form.
        await page.GotoAsync("/");
        Assert.EndsWith("/account/login?ReturnUrl=%2F", page.Url);
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);

        await page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" }).WaitForAsync();
        await page.Locator("[data-testid=current-user]").WaitForAsync();
        Assert.Contains("Administrator", await page.Locator("[data-testid=current-user]").TextContentAsync());
        await BrowserFixture.WaitForInteractiveAsync(page);

        // A fresh install: the dashboard shows the path, with the first step to do and the sample data at hand.
        var path = page.Locator("[data-testid=onboarding-path]");
        await Assertions.Expect(path).ToBeVisibleAsync();
        await Assertions.Expect(path.Locator("[data-testid=onboarding-step-1]")).ToHaveAttributeAsync("data-done", "false");
        await Assertions.Expect(path.Locator("[data-testid=onboarding-step-1]").GetByRole(AriaRole.Button, new() { Name = "Try with sample data: transactions-month-a" })).ToBeVisibleAsync();
        await Assertions.Expect(path.Locator("[data-testid=onboarding-step-4]")).ToContainTextAsync("Register and promote");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dashboard.png"), FullPage = true });

        // Client-side navigation to Jobs; a marker on window proves the page is never reloaded afterwards.
        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Jobs" }).WaitForAsync();
        await page.EvaluateAsync("() => window.__noReload = 'still-here'");

        var gate = Guid.NewGuid().ToString();
        var job = await app.App.Get<JobStore>().EnqueueAsync(StepsJobHandler.KindName, new StepsPayload(4, gate), "test");
        var progress = page.Locator($"tr:has([data-job-id='{job.Id}']) [data-testid=job-progress]");
        await progress.WaitForAsync();

        var seen = new List<string>();
        foreach (var expected in new[] { "25", "50", "75", "100" })
        {
            StepsJobHandler.Gate(gate).Release();
            await Assertions.Expect(progress).ToHaveAttributeAsync("data-progress", expected);
            seen.Add((await progress.GetAttributeAsync("data-progress"))!);
            if (expected == "50")
            {
                await Assertions.Expect(progress).ToContainTextAsync("step 2 of 4");
                await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("jobs-progress.png"), FullPage = true });
            }
        }

        await Assertions.Expect(page.Locator($"tr:has([data-job-id='{job.Id}']) [data-testid=job-status]")).ToHaveTextAsync("succeeded");
        await Assertions.Expect(page.Locator($"[data-job-id='{job.Id}'][data-testid=job-title]")).ToContainTextAsync("Test steps"); // a kind nobody describes, in words
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the jobs page scrolls sideways at 1280 px");
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('.mud-table-container')].every(c => c.scrollWidth <= c.clientWidth + 1)"), "the jobs table scrolls inside itself at 1280 px");
        Assert.Equal(["25", "50", "75", "100"], seen);
        Assert.Equal("still-here", await page.EvaluateAsync<string>("() => window.__noReload"));
        var bar = progress.GetByRole(AriaRole.Progressbar);
        Assert.Equal("100", await bar.GetAttributeAsync("aria-valuenow"));
    }
}

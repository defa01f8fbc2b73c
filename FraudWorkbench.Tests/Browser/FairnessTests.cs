using System.Globalization;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class FairnessTests(ScoringFixture fixture, BrowserFixture browser) : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-fairness";

    [Fact]
    public async Task FairnessTab_ComputeOnSampleHoldout_BarsWithIntervalsTablesFitAndReviewerOnlyReads()
    {
        var version = await fixture.RegisterAsync(Model, fixture.StrongRun);
        var url = $"/models/{Model}/versions/{version.Version}?tab=fairness";
        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/versions/{version.Version}"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        var panel = page.Locator("[data-testid=fairness-panel]");
        // Registration computed the report with the gate, so the tab shows it at once.
        await Assertions.Expect(panel).ToHaveAttributeAsync("data-state", "ready");

        await page.Locator("[data-testid=fairness-recompute]").ClickAsync();

        // Recompute is the report's own job; the panel follows it and shows the new report when it is saved, without a reload.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Guid jobId;
        while ((jobId = (await fixture.App.Get<FairnessStore>().GetAsync(version.Id))!.Value.JobId) == version.GateJobId && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.NotEqual(version.GateJobId, jobId);
        Assert.Equal(Core.Jobs.JobStatus.Succeeded, (await fixture.WaitForJobAsync(jobId, 300)).Status);
        await Assertions.Expect(panel).ToHaveAttributeAsync("data-state", "ready", new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("[data-testid=fairness-summary]")).ToContainTextAsync("customer_age (bands <18, 18–24");
        var groups = page.Locator("[data-testid=fairness-group]");
        // The first grouping is customer_age: its bands in order, then all rows; every group's selection rate inside its interval.
        var names = await groups.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.group)");
        Assert.Equal("overall", names[^1]);
        Assert.Contains("25–34", names);
        foreach (var row in await groups.AllAsync())
        {
            var value = Number(await row.GetAttributeAsync("data-value"));
            var lower = Number(await row.GetAttributeAsync("data-lower"));
            var upper = Number(await row.GetAttributeAsync("data-upper"));
            Assert.True(lower <= value && value <= upper, $"{await row.GetAttributeAsync("data-group")}: {value} not in {lower}–{upper}");
        }

        var chart = page.Locator("[data-testid=fairness-chart] svg");
        await Assertions.Expect(chart).ToContainTextAsync("bootstrap interval");
        await Assertions.Expect(page.Locator("[data-testid=fairness-disparity]")).ToHaveCountAsync(4);
        // The what-if for the same column: selection rate first, then the true positive rate on a click.
        var whatIf = page.Locator("[data-testid=fairness-whatif]");
        await Assertions.Expect(whatIf.Locator("svg")).ToContainTextAsync("this version's threshold");
        await page.Locator("[data-testid=whatif-truePositiveRate]").ClickAsync();
        await Assertions.Expect(whatIf).ToHaveAttributeAsync("data-metric", "truePositiveRate");
        await Assertions.Expect(whatIf.Locator("svg")).ToContainTextAsync("True positive rate");
        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 1000);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"the page is {widths[0]} px wide in a {widths[1]} px window");
        // From the top: a full-page shot draws the fixed app bar where the window was scrolled to.
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("fairness.png"), FullPage = true });

        // The standalone HTML report through the button's link, with the page's sign-in; kept and shown on its own for a look.
        Assert.EndsWith("/fairness/report.html", await page.Locator("[data-testid=fairness-export-html]").GetAttributeAsync("href"));
        var export = await page.APIRequest.GetAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness/report.html");
        Assert.Equal(200, export.Status);
        var html = await export.TextAsync();
        await File.WriteAllTextAsync(BrowserFixture.ScreenshotPath("fairness-report.html"), html);
        var standalone = await context.NewPageAsync();
        await standalone.SetContentAsync(html);
        await Assertions.Expect(standalone.Locator("h1")).ToContainTextAsync($"Fairness report · {Model} version {version.Version}");
        Assert.True(await standalone.Locator("svg").CountAsync() >= 3, "a chart per grouping");
        await standalone.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("fairness-report.png"), FullPage = true });

        // A Reviewer (team lead) reads the same report and cannot start a computation.
        await fixture.App.Get<UserStore>().CreateAsync("fairness-lead@example.com", "Team Lead", Roles.Reviewer, "reviewer-password-1", "test");
        var (readerContext, reader) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var __ = readerContext;
        await reader.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(reader, "fairness-lead@example.com", "reviewer-password-1");
        await reader.WaitForURLAsync(new Regex($"/models/{Model}/versions/{version.Version}"));
        await BrowserFixture.WaitForInteractiveAsync(reader);
        await Assertions.Expect(reader.Locator("[data-testid=fairness-panel]")).ToHaveAttributeAsync("data-state", "ready");
        Assert.Equal(0, await reader.Locator("[data-testid=fairness-recompute]").CountAsync());

        // The Reviewer signs off: Approve opens the form, the comment is required, and the decision shows on the tab and in the
        // version's header, here and live on the Admin's page that is still open.
        await Assertions.Expect(reader.Locator("[data-testid=fairness-signoff]")).ToHaveAttributeAsync("data-decision", "none");
        await reader.Locator("[data-testid=fairness-approve]").ClickAsync();
        var submit = reader.Locator("[data-testid=fairness-signoff-submit]");
        await Assertions.Expect(submit).ToBeDisabledAsync();
        await reader.Locator("textarea[data-testid=fairness-signoff-comment], [data-testid=fairness-signoff-comment] textarea").First
            .FillAsync("Selection rates overlap across age bands; 65+ is too small to judge.");
        await Assertions.Expect(submit).ToBeEnabledAsync();
        await submit.ClickAsync();
        var signOff = reader.Locator("[data-testid=fairness-signoff]");
        await Assertions.Expect(signOff).ToHaveAttributeAsync("data-decision", "approve");
        await Assertions.Expect(signOff).ToContainTextAsync("Approved by fairness-lead@example.com");
        await Assertions.Expect(signOff).ToContainTextAsync("65+ is too small to judge.");
        Assert.Equal(0, await reader.Locator("[data-testid=fairness-signoff-form]").CountAsync());
        await Assertions.Expect(reader.Locator("[data-testid=version-fairness-signoff]")).ToContainTextAsync("fairness approved by fairness-lead@example.com");
        await Assertions.Expect(page.Locator("[data-testid=version-fairness-signoff]")).ToHaveAttributeAsync("data-decision", "approve");
        await Assertions.Expect(page.Locator("[data-testid=fairness-signoff]")).ToHaveAttributeAsync("data-decision", "approve");
        var headerWidths = await reader.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(headerWidths[0] <= headerWidths[1], $"the page is {headerWidths[0]} px wide in a {headerWidths[1]} px window");
        await reader.EvaluateAsync("() => window.scrollTo(0, 0)");
        await reader.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("fairness-signoff.png") });

        // A Data Scientist may compute the report but not sign it off (the Admin above may; the API tests cover both).
        await fixture.App.Get<UserStore>().CreateAsync("fairness-scientist@example.com", "Scientist", Roles.DataScientist, "scientist-password-1", "test");
        var (scientistContext, scientist) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var ___ = scientistContext;
        await scientist.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(scientist, "fairness-scientist@example.com", "scientist-password-1");
        await scientist.WaitForURLAsync(new Regex($"/models/{Model}/versions/{version.Version}"));
        await BrowserFixture.WaitForInteractiveAsync(scientist);
        await Assertions.Expect(scientist.Locator("[data-testid=fairness-signoff]")).ToHaveAttributeAsync("data-decision", "approve");
        Assert.Equal(0, await scientist.Locator("[data-testid=fairness-approve]").CountAsync());

        // Both files carry the sign-off; kept as the examples in docs/examples.
        Assert.EndsWith("/fairness/report.pdf", await page.Locator("[data-testid=fairness-export-pdf]").GetAttributeAsync("href"));
        var signedHtml = await page.APIRequest.GetAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness/report.html");
        Assert.Contains("Approved by fairness-lead@example.com", await signedHtml.TextAsync());
        await File.WriteAllTextAsync(BrowserFixture.ScreenshotPath("fairness-report.html"), await signedHtml.TextAsync());
        var pdf = await page.APIRequest.GetAsync($"/api/v1/models/{Model}/versions/{version.Version}/fairness/report.pdf");
        Assert.Equal(200, pdf.Status);
        Assert.Equal("application/pdf", pdf.Headers["content-type"]);
        await File.WriteAllBytesAsync(BrowserFixture.ScreenshotPath("fairness-report.pdf"), await pdf.BodyAsync());
    }

    private static double Number(string? text) => double.Parse(text!, CultureInfo.InvariantCulture);
}

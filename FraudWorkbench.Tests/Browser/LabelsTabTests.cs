using System.Text;
using System.Text.RegularExpressions;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Performance;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class LabelsTabTests(ScoringFixture fixture, BrowserFixture browser) : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-labels";

    [Fact]
    public async Task LabelsTab_UploadThroughTheBrowser_StoredSummaryFollowsLive_BadFileListed_PageFits()
    {
        var scored = await LabelScenario.ScoreAsync(fixture, Model, 40, 41, 42);
        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString($"/models/{Model}/monitoring")}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/monitoring$"));
        await BrowserFixture.WaitForInteractiveAsync(page);

        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Labels$") }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=label-summary][data-state=loaded]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=labels-last-value]")).ToHaveTextAsync("never");
        await Assertions.Expect(page.Locator("[data-testid=label-upload][data-state=ready]")).ToBeVisibleAsync();

        // The template downloads as a file with the model's own header.
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("[data-testid=label-template]").ClickAsync());
        Assert.Equal("labels-template.csv", download.SuggestedFilename);
        var template = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.StartsWith("transaction_id,is_fraud,label_date\n", template);

        // The file goes through the circuit as a real upload (the browser's stream, read asynchronously).
        var csv = $"transaction_id,is_fraud,label_date\n{scored[0].TransactionId},1,2026-03-09\n{scored[1].TransactionId},0,\n{scored[2].TransactionId},no,\n";
        await page.Locator("[data-testid=label-upload] input[type=file]").Last.SetInputFilesAsync(new FilePayload { Name = "labels.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await Assertions.Expect(page.Locator("[data-testid=label-result]")).ToHaveTextAsync("3 labels stored, 1 fraud, 3 changed.");
        await Assertions.Expect(page.Locator("[data-testid=labels-day-value]")).ToHaveTextAsync("3");
        await Assertions.Expect(page.Locator("[data-testid=labels-last-value]")).ToHaveTextAsync("just now");
        await Assertions.Expect(page.Locator("[data-testid=labels-stale]")).ToHaveCountAsync(0);

        // A file with long bad values lists them without widening the page.
        var bad = "prediction_id,is_fraud\n" + string.Join("\n", Enumerable.Range(0, 30).Select(i => $"{new string('x', 80)}{i},{new string('?', 70)}")) + "\n";
        await page.Locator("[data-testid=label-upload] input[type=file]").Last.SetInputFilesAsync(new FilePayload { Name = "bad.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(bad) });
        await Assertions.Expect(page.Locator("[data-testid=label-issues] tbody tr")).ToHaveCountAsync(60);
        await Assertions.Expect(page.Locator("[data-testid=label-error-title]")).ToHaveTextAsync("Some rows cannot be read; nothing was stored.");
        await AssertFitsAsync(page, "labels");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("monitoring-labels.png"), FullPage = true });

        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Settings$") }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=performance-settings][data-state=ready]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("input[data-testid=label-window-input]")).ToHaveValueAsync("90");
        await AssertFitsAsync(page, "settings");
    }

    private static async Task AssertFitsAsync(IPage page, string where)
    {
        foreach (var width in new[] { 1280, 1920 })
        {
            await page.SetViewportSizeAsync(width, 1000);
            var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            Assert.True(widths[0] <= widths[1], $"{where}: the page is {widths[0]} px wide in a {widths[1]} px window");
        }
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class PerformanceTests(ScoringFixture fixture, BrowserFixture browser) : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-performance";

    [Fact]
    public async Task PerformanceTab_LabelledWeeks_DrawsBothSeriesFitsAndFollowsALabelBatchLive()
    {
        // Three weeks of month B traffic for a month A model, labels in for the weeks before the 7-day label window.
        var traffic = await PerformanceTraffic.SeedAsync(fixture, Model, labelRecentDays: false);
        var from = DateOnly.FromDateTime(traffic.Range.From).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = DateOnly.FromDateTime(traffic.Range.To.AddDays(-1)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var url = $"/models/{Model}/monitoring?range=custom&window=day&from={from}&to={to}";

        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/monitoring\\?"));
        await BrowserFixture.WaitForInteractiveAsync(page);

        // The first tab's panels render as they load; a click landing during one of those renders can be lost, so wait for them and check it took.
        await Assertions.Expect(page.Locator("[data-testid=monitoring-tiles][data-state=loaded]")).ToBeVisibleAsync();
        var panel = page.Locator("[data-testid=performance-panel][data-state=loaded]");
        for (var attempt = 0; attempt < 3 && await page.Locator("[data-testid=performance-panel]").CountAsync() == 0; attempt++)
        {
            await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Performance$") }).ClickAsync();
            await page.WaitForTimeoutAsync(1000);
        }

        await Assertions.Expect(panel).ToBeVisibleAsync();
        await Assertions.Expect(panel).ToHaveAttributeAsync("data-cohort", "week");
        var chart = page.Locator("[data-testid=performance-chart] svg");
        // Provisional weeks have no fraud labels yet, so no realized point: realized recall is undefined without fraud.
        foreach (var series in new[] { "estimated (CBPE)", "estimate band", "realized, mature", "labels in" })
            await Assertions.Expect(chart).ToContainTextAsync(series);
        await Assertions.Expect(chart).Not.ToContainTextAsync("realized, provisional");
        await Assertions.Expect(page.Locator("[data-testid=performance-row][data-state=mature]").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=tile-provisional]").First).ToBeVisibleAsync();
        await AssertFitsAsync(page);

        // A label batch for the fullest unlabelled week arrives while the page is open: its row follows without a reload.
        var start = traffic.Records.Select(r => DateOnly.FromDateTime(r.CreatedAt)).Distinct()
            .Select(d => d.AddDays(-(((int)d.DayOfWeek + 6) % 7))).Distinct()
            .Where(w => traffic.InWeek(w).All(r => !traffic.Labels.ContainsKey(r.Id)))
            .OrderByDescending(w => traffic.InWeek(w).Count()).First();
        var row = page.Locator($"[data-testid=performance-row][data-start='{start:yyyy-MM-dd}']");
        await Assertions.Expect(row.Locator("[data-testid=performance-fraud]")).ToHaveTextAsync("0");
        await page.EvaluateAsync("() => window.fwPerformanceMarker = 'same page'");

        var posted = await traffic.LabelAsync(fixture, r => traffic.InWeek(start).Contains(r));

        Assert.True(posted.Fraud > 0, "the week holds fraud to label");
        await Assertions.Expect(row.Locator("[data-testid=performance-fraud]")).ToHaveTextAsync(posted.Fraud.ToString("N0", CultureInfo.InvariantCulture));
        await Assertions.Expect(row.Locator("[data-testid=performance-labelled]")).ToHaveTextAsync(posted.Labelled.ToString("N0", CultureInfo.InvariantCulture));
        await Assertions.Expect(chart).ToContainTextAsync("realized, provisional"); // the week's realized point, hollow and dashed
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwPerformanceMarker"));

        await page.SetViewportSizeAsync(1280, 1000);
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("performance.png"), FullPage = true });
    }

    private static async Task AssertFitsAsync(IPage page)
    {
        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 1000);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"the page is {widths[0]} px wide in a {widths[1]} px window");
        // Every tab of the page shows at 1280 px; none is left behind the tab strip's scroll buttons.
        var strip = await page.EvaluateAsync<double[]>("""
            () => {
                const bar = document.querySelector('.mud-tabs-tabbar-content').getBoundingClientRect();
                const tabs = [...document.querySelectorAll('.mud-tabs-tabbar .mud-tab')].map(t => t.getBoundingClientRect());
                return [bar.left, bar.right, Math.min(...tabs.map(t => t.left)), Math.max(...tabs.map(t => t.right)), tabs.length];
            }
            """);
        Assert.True(strip[2] >= strip[0] - 0.5 && strip[3] <= strip[1] + 0.5, $"the {strip[4]} tabs span {strip[2]:0}–{strip[3]:0} px in a strip of {strip[0]:0}–{strip[1]:0} px");
        Assert.Equal(0, await page.Locator(".mud-tabs-scroll-button").CountAsync());
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Fairness;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class FairnessProductionTests(ScoringFixture fixture, BrowserFixture browser) : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-fairness-production";

    [Fact]
    public async Task FairnessTab_LabelledDays_BarsHeatMapAndSeriesFollowTheDailyJobLive_FitsAt1280()
    {
        // 250 a day: enough for each age band to pass the 30-row minimum on most days, so the daily series has values.
        var traffic = await PerformanceTraffic.SeedAsync(fixture, Model, days: 6, perDay: 250);
        var from = DateOnly.FromDateTime(traffic.Range.From).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = DateOnly.FromDateTime(traffic.Range.To.AddDays(-1)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var url = $"/models/{Model}/monitoring?range=custom&window=day&from={from}&to={to}";

        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/monitoring\\?"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=monitoring-tiles][data-state=loaded]")).ToBeVisibleAsync();
        for (var attempt = 0; attempt < 3 && await page.Locator("[data-testid=fairness-production-panel]").CountAsync() == 0; attempt++)
        {
            await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Fairness$") }).ClickAsync();
            await page.WaitForTimeoutAsync(1000);
        }

        var panel = page.Locator("[data-testid=fairness-production-panel]");
        await Assertions.Expect(panel).ToHaveAttributeAsync("data-state", "loaded", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=fairness-production-chart] svg")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=fairness-production-realized]")).ToContainTextAsync("provisional");
        await Assertions.Expect(page.Locator("[data-testid=fairness-group]").First).ToBeVisibleAsync();
        // gender × age band as a grid: every cell a gender and a band.
        await Assertions.Expect(page.Locator("[data-testid=fairness-heatmap]")).ToHaveAttributeAsync("data-pair", "customer_age × customer_gender");
        Assert.True(await page.Locator("[data-testid=heatmap-cell]").CountAsync() >= 4);
        await Assertions.Expect(page.Locator("[data-testid=fairness-series-empty]")).ToBeVisibleAsync();

        // The daily job's fairness step stores the closed days while the page is open: the series appears without a reload.
        await page.EvaluateAsync("() => window.fwFairnessMarker = 'same page'");
        Assert.True(await fixture.App.Get<ProductionFairnessService>().UpdateWindowsAsync(DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1)) >= 5);
        var series = page.Locator("[data-testid=fairness-series-chart]");
        await Assertions.Expect(series).ToHaveAttributeAsync("data-points", "5", new() { Timeout = 60_000 });
        await Assertions.Expect(series.Locator("svg")).ToContainTextAsync("95 % bootstrap interval");
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwFairnessMarker"));

        await page.Locator("[data-testid=fairness-view-estimated]").ClickAsync();
        await Assertions.Expect(panel).ToHaveAttributeAsync("data-view", "estimated");
        await Assertions.Expect(page.Locator("[data-testid=fairness-production-estimated]")).ToBeVisibleAsync();

        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 1000);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"the page is {widths[0]} px wide in a {widths[1]} px window");
        // All eight tabs show in the strip at 1280 px, none behind scroll buttons.
        Assert.Equal(8, await page.Locator(".mud-tabs-tabbar .mud-tab").CountAsync());
        Assert.Equal(0, await page.Locator(".mud-tabs-scroll-button").CountAsync());
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("fairness-production.png"), FullPage = true });
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Tests.Components;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class MonitoringTests(ScoringFixture fixture, BrowserFixture browser) : IClassFixture<ScoringFixture>, IClassFixture<BrowserFixture>
{
    private const string Model = "browser-monitoring";

    [Fact]
    public async Task MonitoringPage_MonthBTraffic_WindowComputedUpdatesTheOpenPageLive_ChartsFit()
    {
        // A month A model in production scores month B through the REST API: unseen countries are scored, not refused.
        var traffic = await MonitoringTraffic.ScoreMonthBAsync(fixture, Model, 2000);

        var (context, page) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 1000);
        await using var _ = context;
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString($"/models/{Model}/monitoring?range=24h&window=hour")}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex($"/models/{Model}/monitoring\\?range=24h&window=hour$"));
        await BrowserFixture.WaitForInteractiveAsync(page);

        var window = page.Locator("[data-testid=drift-window]");
        await Assertions.Expect(window).ToHaveAttributeAsync("data-stored", "false");
        await Assertions.Expect(page.Locator("[data-testid=tile-predictions-value]")).ToHaveTextAsync(traffic.Scored.ToString("N0", CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("[data-testid=tile-computed-value]")).ToHaveTextAsync("never");
        var country = page.Locator("[data-testid=drift-row][data-column=home_country]");
        await Assertions.Expect(country).ToHaveAttributeAsync("data-drifted", "true");
        var start = DateTime.Parse((await window.GetAttributeAsync("data-start"))!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

        // The hourly job's work for this hour, run now: the open page hears MonitoringComputed over its circuit.
        await page.EvaluateAsync("() => window.fwMonitoringMarker = 'same page'");
        await fixture.App.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Hour, start, default);
        await Assertions.Expect(window).ToHaveAttributeAsync("data-stored", "true");
        await Assertions.Expect(page.Locator("[data-testid=drift-window-source]")).ToContainTextAsync("stored by the recurring job");
        await Assertions.Expect(page.Locator("[data-testid=tile-computed-value]")).ToHaveTextAsync("just now");
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwMonitoringMarker")); // no reload happened

        // A row opens its column: PT is a value month A never had.
        await country.ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=column-detail][data-state=loaded]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=detail-category][data-value=PT]")).ToHaveAttributeAsync("data-unseen", "true");
        await AssertFitsAsync(page, "drift");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("monitoring.png"), FullPage = true });

        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Prediction drift$") }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=prediction-panel][data-state=loaded]")).ToBeVisibleAsync();
        await AssertFitsAsync(page, "prediction drift");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("monitoring-prediction.png"), FullPage = true });

        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Data quality$") }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=quality-row][data-column=home_country]")).ToHaveAttributeAsync("data-problem", "true");
        await AssertFitsAsync(page, "data quality");

        // The window size is in the URL, so a view can be linked.
        await page.Locator("[data-testid=window-day]").ClickAsync();
        // Polled: the page changes its own URL (a client-side navigation fires no load event to wait for).
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("range=24h&window=day$"), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=range-text]")).ToHaveAttributeAsync("data-window", "day");
    }

    private static async Task AssertFitsAsync(IPage page, string where)
    {
        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 1000);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"{where}: the page is {widths[0]} px wide in a {widths[1]} px window");
    }
}

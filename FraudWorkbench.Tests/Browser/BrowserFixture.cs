using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

/// <summary>Debian's Chromium driven by Playwright for .NET (no browser download: the machines are offline).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"Browser tests need Debian's Chromium at {ChromiumPath}: apt-get install chromium (.ci/run does).");
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        playwright?.Dispose();
    }

    /// <summary>A fresh browser context (own cookies) on the app, with a page whose waits allow for a busy CI machine.</summary>
    /// <param name="colorScheme">The preference the page reports for prefers-color-scheme (light unless given).</param>
    public async Task<(IBrowserContext Context, IPage Page)> NewPageAsync(Uri baseAddress, int width = 1280, int height = 860, ColorScheme? colorScheme = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = colorScheme ?? ColorScheme.Light,
            AcceptDownloads = true,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return (context, page);
    }

    /// <summary>Fills the sign-in form the page is on and submits it.</summary>
    public static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", password);
        await page.ClickAsync("#sign-in");
    }

    /// <summary>Waits until the page's circuit has rendered; a click before that would be lost or do a full navigation.</summary>
    public static Task WaitForInteractiveAsync(IPage page) =>
        page.Locator("#fw-interactive[data-interactive=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>Screenshots are kept under TestResults/screenshots at the repository root.</summary>
    /// <summary>
    /// Fails when a chart's drawing reaches past its card at 1280 and at 1920 px: scaled by its viewBox, the
    /// drawing's extent must fit the width the page gives it (a drawing without a viewBox is cropped by the browser).
    /// </summary>
    public static async Task AssertChartsFitAsync(IPage page)
    {
        foreach (var width in new[] { 1280, 1920 })
        {
            await page.SetViewportSizeAsync(width, 900);
            var problems = await page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('.fw-chart svg')].flatMap((svg, i) => {
                    const rect = svg.getBoundingClientRect();
                    const box = svg.getBBox();
                    const view = svg.viewBox.baseVal;
                    const scale = view && view.width > 0 ? rect.width / view.width : 1;
                    const card = (svg.closest('.mud-paper') ?? svg.parentElement).getBoundingClientRect();
                    const drawnRight = rect.left + (box.x + box.width) * scale;
                    // Against the card: ScottPlot lets a category label run a few pixels past its own canvas.
                    return drawnRight > card.right + 1 || rect.right > card.right + 1
                        ? [`chart ${i} (${svg.closest('[data-testid]')?.dataset.testid ?? ''}): drawn to ${drawnRight.toFixed(0)} px, element ends at ${rect.right.toFixed(0)}, its card at ${card.right.toFixed(0)}`]
                        : [];
                })
                """);
            Assert.True(problems.Length == 0, $"at {width} px: {string.Join("; ", problems)}");
        }
    }

    public static string ScreenshotPath(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FraudWorkbench.sln"))) directory = directory.Parent;
        var folder = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}

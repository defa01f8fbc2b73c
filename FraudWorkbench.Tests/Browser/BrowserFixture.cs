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
    public async Task<(IBrowserContext Context, IPage Page)> NewPageAsync(Uri baseAddress, int width = 1366, int height = 860)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
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
    public static string ScreenshotPath(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FraudWorkbench.sln"))) directory = directory.Parent;
        var folder = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}

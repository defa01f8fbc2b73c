using FraudWorkbench.Core.Data;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class ChartsAndThemeTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private async Task<Guid> SampleDatasetAsync(string name) => (await SampleMonth.IngestAsync(app.App, name)).Dataset.Id;

    private static async Task SignInAtAsync(IPage page, string path)
    {
        await page.GotoAsync("/account/login?ReturnUrl=" + Uri.EscapeDataString(path));
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await BrowserFixture.WaitForInteractiveAsync(page);
    }

    /// <summary>The relative luminance (0 black … 1 white) of an element's computed background colour.</summary>
    private static Task<double> BackgroundLuminanceAsync(IPage page, string selector) => page.EvaluateAsync<double>("""
        selector => {
            const [r, g, b] = getComputedStyle(document.querySelector(selector)).backgroundColor.match(/\d+(\.\d+)?/g).map(Number);
            return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        }
        """, selector);

    [Fact]
    public async Task DatasetPage_SampleAmounts_LogBinsSeveralBarsAndPngDownloadIsAPng()
    {
        var id = await SampleDatasetAsync("browser-charts");
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await SignInAtAsync(page, $"/datasets/{id}");

        var amount = page.Locator("[data-testid=chart-amount]");
        await Assertions.Expect(amount.Locator("svg")).ToBeVisibleAsync();
        await Assertions.Expect(amount.Locator("svg text", new() { HasTextString = "log-spaced bins" })).ToHaveCountAsync(1);
        var filled = await amount.Locator("svg rect > title").EvaluateAllAsync<int>("titles => titles.filter(t => !/: 0 rows/.test(t.textContent)).length");
        Assert.True(filled >= 15, $"{filled} non-empty amount bars");

        var download = await page.RunAndWaitForDownloadAsync(() => amount.Locator("[data-chart-png]").ClickAsync());
        Assert.Equal("amount-histogram.png", download.SuggestedFilename);
        var bytes = await File.ReadAllBytesAsync((await download.PathAsync())!);
        Assert.True(bytes.Length > 1000, $"{bytes.Length} bytes");
        Assert.Equal(PngSignature, bytes[..8]);

        var svgDownload = await page.RunAndWaitForDownloadAsync(() => amount.Locator("[data-chart-svg]").ClickAsync());
        Assert.Equal("amount-histogram.svg", svgDownload.SuggestedFilename);
        var saved = System.Xml.Linq.XElement.Load((await svgDownload.PathAsync())!); // a standalone SVG document, hover titles included
        Assert.Equal("{http://www.w3.org/2000/svg}svg", saved.Name.ToString());
        Assert.Contains(saved.Descendants(), e => e.Name.LocalName == "title");
        await BrowserFixture.AssertChartsFitAsync(page);
    }

    [Fact]
    public async Task ThemeSwitch_Clicked_DarkThenSurvivesReload_ChartsKeepTheirLightCard()
    {
        var id = await SampleDatasetAsync("browser-theme");
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900);
        await using var _ = context;
        await SignInAtAsync(page, $"/datasets/{id}");
        var theme = page.Locator("#fw-theme");
        await Assertions.Expect(theme).ToHaveAttributeAsync("data-theme", "light");
        Assert.True(await BackgroundLuminanceAsync(page, "body") > 0.8, "light to begin with");

        await page.Locator("[data-testid=theme-switch]").ClickAsync();

        await Assertions.Expect(theme).ToHaveAttributeAsync("data-theme", "dark");
        await page.WaitForFunctionAsync("() => document.documentElement.dataset.theme === 'dark'");
        Assert.True(await BackgroundLuminanceAsync(page, "body") < 0.2, "the page turns dark");
        // Charts are drawn dark-on-white by the server: they keep a white background so their text stays readable.
        await Assertions.Expect(page.Locator("[data-testid=chart-amount] svg > rect").First).ToHaveAttributeAsync("fill", "white");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("dataset-dark.png"), FullPage = true });

        await page.ReloadAsync();
        await BrowserFixture.WaitForInteractiveAsync(page);
        await Assertions.Expect(theme).ToHaveAttributeAsync("data-theme", "dark");
        await page.WaitForFunctionAsync("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'");
        Assert.True(await BackgroundLuminanceAsync(page, "body") < 0.2, "still dark after a reload");

        await page.Locator("[data-testid=theme-switch]").ClickAsync();
        await Assertions.Expect(theme).ToHaveAttributeAsync("data-theme", "light");
    }

    [Fact]
    public async Task Theme_BrowserPrefersDark_StartsDark()
    {
        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280, 900, ColorScheme.Dark);
        await using var _ = context;
        await SignInAtAsync(page, "/");

        await Assertions.Expect(page.Locator("#fw-theme")).ToHaveAttributeAsync("data-theme", "dark");
        await page.WaitForFunctionAsync("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'");
        Assert.True(await BackgroundLuminanceAsync(page, "body") < 0.2);
    }
}

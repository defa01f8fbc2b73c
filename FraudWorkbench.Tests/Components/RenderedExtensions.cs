using AngleSharp.Dom;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace FraudWorkbench.Tests.Components;

public static class RenderedExtensions
{
    /// <summary>
    /// Finds the element and clicks it on the renderer's dispatcher, so no re-render can slip in between
    /// (a page that is still loading re-renders and retires the handler a stale element points at).
    /// Completes when the click handler has finished.
    /// </summary>
    public static async Task ClickAsync<T>(this IRenderedComponent<T> page, Func<IRenderedComponent<T>, IElement> find) where T : IComponent
    {
        page.WaitForAssertion(() => Assert.NotNull(find(page)));
        await page.InvokeAsync(() => find(page).ClickAsync(new MouseEventArgs()));
    }

    public static Task ClickButtonAsync<T>(this IRenderedComponent<T> page, string text) where T : IComponent =>
        page.ClickAsync(p => p.FindAll("button").First(b => b.TextContent.Contains(text)));

    public static Task ClickAsync<T>(this IRenderedComponent<T> page, string selector) where T : IComponent =>
        page.ClickAsync(p => p.Find(selector));

    public static async Task ChangeAsync<T>(this IRenderedComponent<T> page, string selector, string value) where T : IComponent
    {
        page.WaitForElement(selector);
        await page.InvokeAsync(() => page.Find(selector).ChangeAsync(new ChangeEventArgs { Value = value }));
    }
}

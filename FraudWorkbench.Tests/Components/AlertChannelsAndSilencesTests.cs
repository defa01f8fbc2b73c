using System.Globalization;
using System.Security.Claims;
using System.Text.RegularExpressions;
using Bunit;
using FraudWorkbench.Components.Pages.Alerts;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Security;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Services;

namespace FraudWorkbench.Tests.Components;

/// <summary>The Notifications tab's channel editing and enable switch, and the silence dialog's later start, against the real stores.</summary>
[Trait("Category", "Database")]
public sealed class AlertChannelsAndSilencesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    /// <summary>A context wired as the app, with the dialog provider the inline dialogs render into.</summary>
    private (BunitContext Context, IRenderedComponent<MudDialogProvider> Dialogs) NewContext(string role)
    {
        BunitContext.DefaultWaitTimeout = TimeSpan.FromSeconds(15);
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = context.Services;
        services.AddMudServices();
        services.AddSingleton(db.DataSource);
        services.AddSingleton(db.NewHub());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(Options.Create(new AlertsOptions()));
        services.AddDataProtection();
        services.AddSingleton<WebhookUrlPolicy>();
        services.AddSingleton<NotificationChannelStore>();
        services.AddSingleton<AlertStore>();
        services.AddLogging();
        services.AddAuthorizationCore(SecurityExtensions.ConfigurePolicies);
        services.AddTransient<IAuthorizationService, DefaultAuthorizationService>();
        services.AddSingleton<AuthenticationStateProvider>(new FixedUser(role, "editor@example.com"));
        services.AddCascadingAuthenticationState();
        services.AddScoped<CurrentUser>();
        context.Render<MudPopoverProvider>();
        return (context, context.Render<MudDialogProvider>());
    }

    private static string Unique(string prefix) => $"{prefix} {Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static string Row(Guid id) => $"[data-testid=channel-row][data-channel='{id}']";

    private static async Task ChangeAsync(IRenderedComponent<MudDialogProvider> dialogs, string selector, string value)
    {
        dialogs.WaitForElement(selector);
        await dialogs.InvokeAsync(() => dialogs.Find(selector).ChangeAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = value }));
    }

    /// <summary>The comment field updates as one types (Immediate): an input event, not a change.</summary>
    private static async Task CommentAsync(IRenderedComponent<MudDialogProvider> dialogs, string comment)
    {
        dialogs.WaitForElement("textarea[data-testid=silence-comment]");
        await dialogs.InvokeAsync(() => dialogs.Find("textarea[data-testid=silence-comment]").Input(comment));
    }

    private static async Task ClickAsync(IRenderedComponent<MudDialogProvider> dialogs, string selector)
    {
        dialogs.WaitForElement(selector);
        await dialogs.InvokeAsync(() => dialogs.Find(selector).ClickAsync(new Microsoft.AspNetCore.Components.Web.MouseEventArgs()));
    }

    [Fact]
    public async Task NotificationsPanel_EditChannel_ServersObjectionAtItsFieldThenSavedWithoutShowingTheSecret()
    {
        var (context, dialogs) = NewContext(Roles.DataScientist);
        await using var _ = context;
        var store = context.Services.GetRequiredService<NotificationChannelStore>();
        var name = Unique("ops");
        var created = await store.CreateAsync(new ChannelSpec(name, ChannelKind.Alertmanager, "https://93.184.216.34/hook", GroupWait: "10s"), "test");

        var panel = context.Render<AlertNotificationsPanel>();
        await panel.ClickAsync($"{Row(created.Channel.Id)} [data-testid=channel-edit]");

        // The dialog holds the channel as stored; a bad label and a taken name come back at their fields.
        dialogs.WaitForAssertion(() => Assert.Equal("alertname", dialogs.Find("input[data-testid=channel-edit-group-by]").GetAttribute("value")));
        Assert.Equal("https://93.184.216.34/hook", dialogs.Find("input[data-testid=channel-edit-url]").GetAttribute("value"));
        Assert.Equal("10s", dialogs.Find("input[data-testid=channel-edit-group-wait]").GetAttribute("value"));
        await ChangeAsync(dialogs, "input[data-testid=channel-edit-group-by]", "alertname, team-name");
        await ClickAsync(dialogs, "button[data-testid=channel-edit-save]");
        dialogs.WaitForAssertion(() =>
        {
            var field = dialogs.Find("input[data-testid=channel-edit-group-by]").Closest(".mud-input-control")!;
            Assert.Contains("mud-input-error", field.InnerHtml);
            Assert.Contains("'team-name' is not a label name", field.TextContent);
        });
        Assert.Equal(["alertname"], (await store.GetAsync(created.Channel.Id))!.Spec.GroupBy);

        await ChangeAsync(dialogs, "input[data-testid=channel-edit-group-by]", "alertname, model");
        await ChangeAsync(dialogs, "input[data-testid=channel-edit-name]", name + " 2");
        await ClickAsync(dialogs, "button[data-testid=channel-edit-save]");

        dialogs.WaitForAssertion(() => Assert.Empty(dialogs.FindAll("[data-testid=channel-edit-form]")));
        var saved = (await store.GetAsync(created.Channel.Id))!;
        Assert.Equal((name + " 2", "https://93.184.216.34/hook", "10s", true), (saved.Name, saved.Spec.Url, saved.Spec.GroupWait, saved.HasSecret));
        Assert.Equal(["alertname", "model"], saved.Spec.GroupBy);
        panel.WaitForAssertion(() => Assert.Contains("alertname, model · 10s / 5m / 4h", panel.Find($"{Row(created.Channel.Id)} [data-testid=channel-grouping]").TextContent));
        Assert.DoesNotContain(created.Secret!, panel.Markup + dialogs.Markup, StringComparison.Ordinal);
        Assert.Empty(panel.FindAll("[data-testid=channel-secret]"));
    }

    [Fact]
    public async Task NotificationsPanel_EnableSwitch_DisablesAndEnablesTheChannel()
    {
        var (context, _) = NewContext(Roles.Admin);
        await using var __ = context;
        var store = context.Services.GetRequiredService<NotificationChannelStore>();
        var created = await store.CreateAsync(new ChannelSpec(Unique("switch"), ChannelKind.Slack, "https://93.184.216.34/slack", GroupBy: ["..."]), "test");

        var panel = context.Render<AlertNotificationsPanel>();
        panel.WaitForElement(Row(created.Channel.Id));
        MudSwitch<bool> Toggle() => panel.FindComponents<MudSwitch<bool>>()
            .Single(s => s.Instance.UserAttributes.TryGetValue("aria-label", out var label) && Equals(label, $"Enabled: {created.Channel.Name}")).Instance;
        await panel.InvokeAsync(() => Toggle().ValueChanged.InvokeAsync(false));

        panel.WaitForAssertion(() => Assert.Equal("false", panel.Find(Row(created.Channel.Id)).GetAttribute("data-enabled")));
        var off = (await store.GetAsync(created.Channel.Id))!;
        Assert.False(off.Spec.Enabled);
        // Everything else as it was.
        Assert.Equal(("https://93.184.216.34/slack", "30s"), (off.Spec.Url, off.Spec.GroupWait));
        Assert.Equal(["..."], off.Spec.GroupBy);
        Assert.Contains("every label (no grouping)", panel.Find($"{Row(created.Channel.Id)} [data-testid=channel-grouping]").TextContent);

        await panel.InvokeAsync(() => Toggle().ValueChanged.InvokeAsync(true));
        panel.WaitForAssertion(() => Assert.Equal("true", panel.Find(Row(created.Channel.Id)).GetAttribute("data-enabled")));
        Assert.True((await store.GetAsync(created.Channel.Id))!.Spec.Enabled);
    }

    [Fact]
    public async Task NotificationsPanel_Reviewer_NoEditNoSwitchNoAddForm()
    {
        var (context, _) = NewContext(Roles.Reviewer);
        await using var __ = context;
        var created = await context.Services.GetRequiredService<NotificationChannelStore>()
            .CreateAsync(new ChannelSpec(Unique("ro"), ChannelKind.Alertmanager, "https://93.184.216.34/secret-path"), "test");

        var panel = context.Render<AlertNotificationsPanel>();

        panel.WaitForElement(Row(created.Channel.Id));
        var row = panel.Find(Row(created.Channel.Id));
        Assert.Empty(row.QuerySelectorAll("[data-testid=channel-edit]"));
        Assert.Empty(row.QuerySelectorAll("[data-testid=channel-enabled]"));
        Assert.Contains("yes", row.QuerySelectorAll("td")[0].TextContent);
        Assert.DoesNotContain("secret-path", row.TextContent);
        Assert.Empty(panel.FindAll("[data-testid=channel-form]"));
    }

    [Fact]
    public async Task SilenceDialog_LaterStart_StoredFromThatTimeAndListedAsScheduled()
    {
        var (context, dialogs) = NewContext(Roles.DataScientist);
        await using var _ = context;
        var alerts = context.Services.GetRequiredService<AlertStore>();
        var comment = Unique("maintenance");
        var start = DateTime.UtcNow.AddHours(3);
        var startText = start.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var expectedStart = DateTime.ParseExact(startText, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

        var panel = context.Render<AlertSilencesPanel>();
        await panel.ClickAsync("button[data-testid=silence-new]");
        await ChangeAsync(dialogs, "input[data-testid=silence-start]", startText);
        await ChangeAsync(dialogs, "input[data-testid=silence-duration]", "90m");
        await ChangeAsync(dialogs, "div[data-testid=silence-matcher] input", "model");
        var value = dialogs.FindAll("div[data-testid=silence-matcher] input").Last();
        await dialogs.InvokeAsync(() => value.ChangeAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = "card-fraud" }));
        await CommentAsync(dialogs, comment);
        // The end is said before saving.
        dialogs.WaitForAssertion(() => Assert.Contains($"until {AlertsView.Time(expectedStart.AddMinutes(90))}", dialogs.Markup));
        await ClickAsync(dialogs, "button[data-testid=silence-confirm]");

        dialogs.WaitForAssertion(() => Assert.Empty(dialogs.FindAll("button[data-testid=silence-confirm]")));
        var silence = Assert.Single(await alerts.SilencesAsync(includeExpired: false), s => s.Comment == comment);
        Assert.Equal((expectedStart, expectedStart.AddMinutes(90)), (silence.StartsAt, silence.EndsAt));
        Assert.False(silence.IsActive(DateTime.UtcNow));
        panel.WaitForAssertion(() =>
        {
            var row = panel.Find($"[data-testid=silence-row][data-silence='{silence.Id}']");
            Assert.Equal("scheduled", row.GetAttribute("data-state"));
            Assert.Matches(new Regex(@"starts in (2\.\d|3) h"), row.TextContent);
        });
    }

    [Theory]
    [InlineData(-10, "The start is in the past")]
    [InlineData(null, "A time in UTC such as")]
    public async Task SilenceDialog_StartInThePastOrNotATime_RefusedAtTheStartField(int? minutes, string message)
    {
        var (context, dialogs) = NewContext(Roles.Admin);
        await using var _ = context;
        var alerts = context.Services.GetRequiredService<AlertStore>();
        var comment = Unique("past");

        var panel = context.Render<AlertSilencesPanel>();
        await panel.ClickAsync("button[data-testid=silence-new]");
        var start = minutes is { } m ? DateTime.UtcNow.AddMinutes(m).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "tomorrow-ish";
        await ChangeAsync(dialogs, "input[data-testid=silence-start]", start);
        var value = dialogs.FindAll("div[data-testid=silence-matcher] input").Last();
        await dialogs.InvokeAsync(() => value.ChangeAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = "card-fraud" }));
        await CommentAsync(dialogs, comment);
        await ClickAsync(dialogs, "button[data-testid=silence-confirm]");

        dialogs.WaitForAssertion(() =>
        {
            var field = dialogs.Find("input[data-testid=silence-start]").Closest(".mud-input-control")!;
            Assert.Contains("mud-input-error", field.InnerHtml);
            Assert.Contains(message, field.TextContent);
        });
        Assert.DoesNotContain(await alerts.SilencesAsync(includeExpired: true), s => s.Comment == comment);
    }

    [Fact]
    public async Task SilenceDialog_StartLeftAsShown_StartsNow()
    {
        var (context, dialogs) = NewContext(Roles.Admin);
        await using var _ = context;
        var alerts = context.Services.GetRequiredService<AlertStore>();
        var comment = Unique("now");

        var panel = context.Render<AlertSilencesPanel>();
        await panel.ClickAsync("button[data-testid=silence-new]");
        var value = dialogs.FindAll("div[data-testid=silence-matcher] input").Last();
        await dialogs.InvokeAsync(() => value.ChangeAsync(new Microsoft.AspNetCore.Components.ChangeEventArgs { Value = "card-fraud" }));
        await CommentAsync(dialogs, comment);
        var before = DateTime.UtcNow;
        await ClickAsync(dialogs, "button[data-testid=silence-confirm]");

        dialogs.WaitForAssertion(() => Assert.Empty(dialogs.FindAll("button[data-testid=silence-confirm]")));
        var silence = Assert.Single(await alerts.SilencesAsync(includeExpired: false), s => s.Comment == comment);
        Assert.InRange(silence.StartsAt, before.AddSeconds(-1), DateTime.UtcNow);
        Assert.Equal(TimeSpan.FromHours(2), silence.EndsAt - silence.StartsAt);
        panel.WaitForAssertion(() => Assert.Equal("active", panel.Find($"[data-testid=silence-row][data-silence='{silence.Id}']").GetAttribute("data-state")));
    }
}

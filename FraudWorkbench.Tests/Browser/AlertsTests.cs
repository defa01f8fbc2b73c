using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Alerts;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Scoring;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace FraudWorkbench.Tests.Browser;

[Trait("Category", "Browser")]
public sealed class AlertsTests(AlertsTests.Fixture fixture, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<AlertsTests.Fixture>, IClassFixture<BrowserFixture>
{
    /// <summary>The scoring app, letting webhooks reach the loopback receiver, without default rules (the test's rule is the only one).</summary>
    public sealed class Fixture : ScoringFixture
    {
        protected override IReadOnlyDictionary<string, string?> Settings() => new Dictionary<string, string?>
        {
            ["FraudWorkbench:Alerts:AllowPrivateNetworks"] = "true",
            ["FraudWorkbench:Alerts:DefaultRulesOnPromotion"] = "false",
        };
    }

    private const string Model = "browser-alerts";
    private const string ReviewerEmail = "alerts-reviewer@example.com";
    private const string ReviewerPassword = "reviewer-password-1";

    /// <summary>Records, in the page, when the bell first counts an alert and when the snackbar first shows (browser clock, ms since the epoch).</summary>
    private const string Watch = """
        () => {
            window.fwSeen = {};
            const mark = () => {
                const bell = document.querySelector('[data-testid=alert-bell-count]');
                if (bell && Number(bell.dataset.count) >= 1 && !window.fwSeen.bell) window.fwSeen.bell = Date.now();
                if (document.querySelector('[data-testid=alert-snackbar]') && !window.fwSeen.snackbar) window.fwSeen.snackbar = Date.now();
                if (document.querySelector('[data-testid=alert-row][data-state=firing]') && !window.fwSeen.row) window.fwSeen.row = Date.now();
            };
            new MutationObserver(mark).observe(document.body, { subtree: true, childList: true, attributes: true });
            window.fwMarker = 'same page';
        }
        """;

    private async Task<IPage> SignedInAsync(IBrowserContext context, IPage page, string url, string email, string password)
    {
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(url)}");
        await BrowserFixture.SignInAsync(page, email, password);
        await page.WaitForURLAsync(new Regex(Regex.Escape(url) + "$"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        return page;
    }

    [Fact]
    public async Task RuleFires_TwoUsersOnDifferentPages_BellAndSnackbarWithoutReloadAndTheWebhookSignedWithin5Seconds()
    {
        await fixture.RegisterAndPromoteAsync(Model, fixture.StrongRun);
        await using var receiver = await WebhookReceiver.StartAsync();
        var channel = await fixture.App.Get<NotificationChannelStore>().CreateAsync(
            new ChannelSpec("browser receiver", ChannelKind.Alertmanager, Url: receiver.Url().ToString(), Global: true, GroupWait: "0s"), "test");
        Assert.NotNull(channel.Secret);
        await fixture.App.Get<UserStore>().CreateAsync(ReviewerEmail, "Alert Reviewer", Roles.Reviewer, ReviewerPassword, "test");

        // An Admin on the Alerts page, a Reviewer on the monitoring list: two users, two pages, one app.
        var (adminContext, adminPage) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 900);
        await using var _ = adminContext;
        var admin = await SignedInAsync(adminContext, adminPage, "/alerts", WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        var (reviewerContext, reviewerPage) = await browser.NewPageAsync(fixture.App.BaseAddress, 1280, 900);
        await using var __ = reviewerContext;
        var reviewer = await SignedInAsync(reviewerContext, reviewerPage, "/monitoring", ReviewerEmail, ReviewerPassword);
        foreach (var page in new[] { admin, reviewer })
        {
            await Assertions.Expect(page.Locator("[data-testid=alert-bell-count]")).ToHaveAttributeAsync("data-count", "0");
        }

        await Assertions.Expect(admin.Locator("[data-testid=alerts-empty-firing]")).ToBeVisibleAsync();

        // The rule, through the API: any prediction in the last hour fires it at once. Created before the traffic, its first
        // evaluation (run when a rule changes) sees none.
        using var api = fixture.Client();
        var created = await api.PostAsJsonAsync("/api/v1/alerts/rules", new
        {
            name = "browser traffic",
            model = Model,
            metric = new { kind = AlertMetricKind.Volume },
            condition = new { kind = AlertConditionKind.Above, threshold = 0 },
            window = "1h",
            evaluationInterval = "1h",
            @for = "0s",
            severity = AlertSeverity.Critical,
            description = "{{model}} scored {{value}} transactions in the last hour",
        });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var ruleId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(0, (await fixture.App.Get<AlertStore>().CountsAsync()).Firing);

        foreach (var page in new[] { admin, reviewer }) await page.EvaluateAsync(Watch);

        // The metric written: transactions scored and the prediction log flushed, then the hour's monitoring step run at
        // once (as the recurring job does when its window closes), which asks for an evaluation of every rule.
        using var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        var transactions = Enumerable.Range(0, 200).Select(i => fixture.Transaction(i)).ToList();
        var scored = await client.PostAsJsonAsync("/api/v1/predict/batch", new { model = Model, transactions });
        Assert.True(scored.IsSuccessStatusCode, await scored.Content.ReadAsStringAsync());
        await fixture.App.Get<PredictionLog>().FlushAsync();
        var written = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var now = DateTime.UtcNow;
        await fixture.App.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Hour, new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc), default);
        var monitoring = clock.Elapsed;

        // Both pages, without a reload: the bell counts one (red: critical) and a snackbar names the rule and the model.
        foreach (var page in new[] { admin, reviewer })
        {
            await Assertions.Expect(page.Locator("[data-testid=alert-bell-count]")).ToHaveAttributeAsync("data-count", "1", new() { Timeout = 15_000 });
            await Assertions.Expect(page.Locator("[data-testid=alert-bell-count]")).ToHaveAttributeAsync("data-critical", "1");
            var snackbar = page.Locator("[data-testid=alert-snackbar]");
            await Assertions.Expect(snackbar).ToContainTextAsync("browser traffic");
            await Assertions.Expect(snackbar).ToContainTextAsync(Model);
            Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.fwMarker"));
        }

        var row = admin.Locator("[data-testid=alert-row][data-state=firing]");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row.Locator("[data-testid=alert-rule]")).ToHaveTextAsync("browser traffic");
        await Assertions.Expect(row.Locator("[data-testid=alert-value]")).ToContainTextAsync("200");
        await Assertions.Expect(row.Locator("[data-testid=alert-summary]")).ToHaveTextAsync($"Prediction volume of {Model} is 200 (> 0)");
        await Assertions.Expect(row.Locator("[data-testid=alert-description]")).ToHaveTextAsync($"{Model} scored 200 transactions in the last hour");

        // The receiver: one Alertmanager v4 notification, firing, signed with the secret shown when the channel was made.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (receiver.Requests.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(20);
        var request = Assert.Single(receiver.Requests);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("4", body.GetProperty("version").GetString());
        Assert.Equal("firing", body.GetProperty("status").GetString());
        var alert = Assert.Single(body.GetProperty("alerts").EnumerateArray().ToList());
        Assert.Equal("browser traffic", alert.GetProperty("labels").GetProperty("alertname").GetString());
        Assert.Equal(Model, alert.GetProperty("labels").GetProperty("model").GetString());
        var timestamp = long.Parse(request.Headers[WebhookSigner.TimestampHeader], CultureInfo.InvariantCulture);
        Assert.True(WebhookSigner.Verify(channel.Secret!, timestamp, request.Body, request.Headers[WebhookSigner.SignatureHeader]), "the signature verifies with the channel's secret");

        // Latency from the metric written, on each page (the browser's clock is this machine's) and at the receiver.
        double Seconds(double epochMs) => (DateTimeOffset.FromUnixTimeMilliseconds((long)epochMs).UtcDateTime - written).TotalSeconds;
        var adminSeen = await admin.EvaluateAsync<JsonElement>("() => window.fwSeen");
        var reviewerSeen = await reviewer.EvaluateAsync<JsonElement>("() => window.fwSeen");
        var latencies = new Dictionary<string, double>
        {
            ["admin bell"] = Seconds(adminSeen.GetProperty("bell").GetDouble()),
            ["admin snackbar"] = Seconds(adminSeen.GetProperty("snackbar").GetDouble()),
            ["admin alerts list"] = Seconds(adminSeen.GetProperty("row").GetDouble()),
            ["reviewer bell"] = Seconds(reviewerSeen.GetProperty("bell").GetDouble()),
            ["reviewer snackbar"] = Seconds(reviewerSeen.GetProperty("snackbar").GetDouble()),
            ["webhook receiver"] = (request.At - written).TotalSeconds,
        };
        output.WriteLine($"alert delivery latency from the metric written (monitoring step {monitoring.TotalSeconds:0.000} s of it):");
        foreach (var (what, seconds) in latencies) output.WriteLine(FormattableString.Invariant($"  {what}: {seconds:0.000} s"));
        Console.WriteLine(string.Join("; ", latencies.Select(l => FormattableString.Invariant($"{l.Key} {l.Value:0.000} s"))));
        Assert.All(latencies, l => Assert.True(l.Value is > 0 and <= 5, FormattableString.Invariant($"{l.Key}: {l.Value:0.000} s after the metric was written")));

        await admin.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("alerts.png"), FullPage = true });
        await reviewer.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("alerts-reviewer-snackbar.png") });
        await AssertFitsAsync(admin, "alerts");

        // The Reviewer acknowledges from the Alerts page (the snackbar's link), with a comment; the Admin's page shows who, live.
        await reviewer.Locator("[data-testid=alert-snackbar] a").ClickAsync();
        await reviewer.WaitForURLAsync(new Regex("/alerts\\?id="));
        var reviewerRow = reviewer.Locator("[data-testid=alert-row][data-highlight=true]");
        await Assertions.Expect(reviewerRow).ToHaveAttributeAsync("data-state", "firing");
        Assert.Equal(0, await reviewerRow.Locator("[data-testid=alert-silence-button]").CountAsync()); // silences are for writers
        await reviewerRow.Locator("[data-testid=alert-ack-button]").ClickAsync();
        await Assertions.Expect(reviewer.Locator("[data-testid=ack-confirm]")).ToBeDisabledAsync();
        await reviewer.Locator("textarea[data-testid=ack-comment]").FillAsync("Looking into the traffic spike");
        await reviewer.Locator("[data-testid=ack-confirm]").ClickAsync();
        await Assertions.Expect(reviewer.Locator("[data-testid=ack-confirm]")).ToHaveCountAsync(0); // the dialog closed
        await Assertions.Expect(row.Locator("[data-testid=alert-ack]")).ToContainTextAsync(ReviewerEmail, new() { Timeout = 10_000 });
        await Assertions.Expect(row.Locator("[data-testid=alert-ack]")).ToContainTextAsync("Looking into the traffic spike");

        // The rule's page: the Admin replays it over 30 days (evaluations on whole hours, so this hour's traffic is not in it yet).
        await admin.GotoAsync($"/alerts/rules/{ruleId}");
        await BrowserFixture.WaitForInteractiveAsync(admin);
        await Assertions.Expect(admin.Locator("input[data-testid=rule-name]")).ToHaveValueAsync("browser traffic");
        await admin.Locator("[data-testid=rule-backtest-run]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=alert-backtest-chart] svg")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(admin.Locator("[data-testid=alert-backtest-summary]")).ToContainTextAsync($"for {Model}");
        await Assertions.Expect(admin.Locator("[data-testid=alert-backtest-chart] svg")).ToContainTextAsync("threshold 0");
        await Assertions.Expect(admin.Locator("[data-testid=alert-backtest-chart] svg")).ToContainTextAsync("time (UTC)");
        await AssertFitsAsync(admin, "rule editor");
        await admin.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("alert-rule.png"), FullPage = true });

        // The rules page lists it with its condition in words.
        await admin.GotoAsync("/alerts/rules");
        await BrowserFixture.WaitForInteractiveAsync(admin);
        var ruleRow = admin.Locator($"[data-testid=rule-row][data-rule='{ruleId}']");
        await Assertions.Expect(ruleRow).ToContainTextAsync("above 0 over 1h windows");
        await Assertions.Expect(ruleRow).ToContainTextAsync("Prediction volume");
        await Assertions.Expect(ruleRow).ToContainTextAsync("critical");
        await AssertFitsAsync(admin, "rules");
        await admin.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("alert-rules.png") });

        // Notifications: the test's channel is listed, nothing died; a new webhook's secret is shown once, in a dialog.
        await admin.GotoAsync("/alerts");
        await BrowserFixture.WaitForInteractiveAsync(admin);
        await admin.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Notifications$", RegexOptions.IgnoreCase) }).ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=channel-row]")).ToHaveCountAsync(1);
        await Assertions.Expect(admin.Locator("[data-testid=dead-letters-empty]")).ToBeVisibleAsync();
        await admin.Locator("input[data-testid=channel-name]").FillAsync("ops webhook");
        await admin.Locator("input[data-testid=channel-url]").FillAsync($"{receiver.Url("/ops")}");
        await admin.Locator("[data-testid=channel-create]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=channel-secret]")).ToHaveTextAsync(new Regex("^[0-9a-f]{64}$"));
        await admin.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("alerts-channel-secret.png") });
        await admin.Locator("[data-testid=channel-secret-done]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=channel-secret]")).ToHaveCountAsync(0);
        await Assertions.Expect(admin.Locator("[data-testid=channel-row]")).ToHaveCountAsync(2);
        await AssertFitsAsync(admin, "notifications");

        // The Admin edits the new channel in a dialog (a bad group-by label is answered at its field; the secret is not shown),
        // then switches it off from its row.
        var opsRow = admin.Locator("[data-testid=channel-row]").Filter(new() { HasText = "ops webhook" });
        await opsRow.Locator("[data-testid=channel-edit]").ClickAsync();
        await Assertions.Expect(admin.Locator("input[data-testid=channel-edit-group-by]")).ToHaveValueAsync("alertname");
        await admin.Locator("input[data-testid=channel-edit-group-by]").FillAsync("alertname, model!");
        await admin.Locator("[data-testid=channel-edit-save]").ClickAsync();
        await Assertions.Expect(admin.Locator(".mud-input-control").Filter(new() { Has = admin.Locator("input[data-testid=channel-edit-group-by]") }))
            .ToContainTextAsync("'model!' is not a label name");
        await admin.Locator("input[data-testid=channel-edit-group-by]").FillAsync("alertname, model");
        await admin.Locator("[data-testid=channel-edit-save]").ClickAsync();
        await Assertions.Expect(admin.Locator("[data-testid=channel-edit-form]")).ToHaveCountAsync(0);
        await Assertions.Expect(opsRow.Locator("[data-testid=channel-grouping]")).ToContainTextAsync("alertname, model");
        await Assertions.Expect(admin.Locator("[data-testid=channel-secret]")).ToHaveCountAsync(0);
        await opsRow.Locator("[data-testid=channel-enabled] input, input[data-testid=channel-enabled]").First.ClickAsync();
        await Assertions.Expect(opsRow).ToHaveAttributeAsync("data-enabled", "false");
        var ops = (await fixture.App.Get<NotificationChannelStore>().ListAsync()).Single(c => c.Name == "ops webhook");
        Assert.Equal((false, "alertname,model"), (ops.Spec.Enabled, string.Join(",", ops.Spec.GroupBy!)));
        await AssertFitsAsync(admin, "notifications after the edit");

        // A silence that starts tomorrow is listed as scheduled.
        await admin.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^Silences$", RegexOptions.IgnoreCase) }).ClickAsync();
        await admin.Locator("[data-testid=silence-new]").ClickAsync();
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        await admin.Locator("input[data-testid=silence-start]").FillAsync(tomorrow);
        await admin.Locator("[data-testid=silence-matcher] input").Last.FillAsync("loan-default");
        await admin.Locator("textarea[data-testid=silence-comment]").FillAsync("Planned maintenance of the loan model");
        await Assertions.Expect(admin.Locator("[data-testid=silence-confirm]")).ToBeEnabledAsync();
        await admin.Locator("[data-testid=silence-confirm]").ClickAsync();
        var scheduled = admin.Locator("[data-testid=silence-row]").Filter(new() { HasText = "Planned maintenance of the loan model" });
        await Assertions.Expect(scheduled).ToHaveAttributeAsync("data-state", "scheduled");
        await Assertions.Expect(scheduled).ToContainTextAsync($"{tomorrow}:00 UTC");
        await AssertFitsAsync(admin, "silences");

        // The Reviewer sees the same rule read-only.
        await reviewer.GotoAsync($"/alerts/rules/{ruleId}");
        await BrowserFixture.WaitForInteractiveAsync(reviewer);
        await Assertions.Expect(reviewer.Locator("[data-testid=rule-read-only]")).ToBeVisibleAsync();
        Assert.Equal(0, await reviewer.Locator("[data-testid=rule-save]").CountAsync());
    }

    private static async Task AssertFitsAsync(IPage page, string what)
    {
        await BrowserFixture.AssertChartsFitAsync(page);
        await page.SetViewportSizeAsync(1280, 900);
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"{what}: the page is {widths[0]} px wide in a {widths[1]} px window");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Registry;
using FraudWorkbench.Core.Training;
using FraudWorkbench.Tests.Infrastructure;
using FraudWorkbench.Tests.Training;
using Microsoft.Playwright;

namespace FraudWorkbench.Tests.Browser;

/// <summary>
/// The API keys page, the audit log and the jobs page's titles in a real browser at 1280 px. A class of its own: the
/// dashboard test next door needs a fresh install, and these tests make keys, models and runs.
/// </summary>
[Trait("Category", "Browser")]
public sealed class AdminAndAuditTests(AppFixture app, BrowserFixture browser) : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    private const string Admin = "user:" + WorkbenchAppFactory.AdminEmail;

    private async Task<IPage> SignedInPageAsync(IBrowserContext context, IPage page, string path)
    {
        await page.GotoAsync($"/account/login?ReturnUrl={Uri.EscapeDataString(path)}");
        await BrowserFixture.SignInAsync(page, WorkbenchAppFactory.AdminEmail, WorkbenchAppFactory.AdminPassword);
        await page.WaitForURLAsync(new Regex(Regex.Escape(path) + "$"));
        await BrowserFixture.WaitForInteractiveAsync(page);
        return page;
    }

    /// <summary>The page fits its width: nothing makes it scroll sideways.</summary>
    private static async Task AssertNoHorizontalScrollAsync(IPage page, string where)
    {
        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(widths[0] <= widths[1], $"{where}: the page is {widths[0]} px wide in a {widths[1]} px window");
    }

    /// <summary>What /api/v1/whoami answers to a call with the key.</summary>
    private async Task<HttpStatusCode> WhoAmIAsync(string secret)
    {
        using var client = app.App.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", secret) } };
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task RevokeApiKey_CancelThenConfirm_KeyKeptThenRefused()
    {
        var store = app.App.Get<ApiKeyStore>();
        var (key, secret) = await store.CreateAsync("partner-acme", [Scopes.Predict, Scopes.Read], null, Admin);
        var (other, otherSecret) = await store.CreateAsync("partner-bystander", [Scopes.Read], null, Admin);
        Assert.Equal(HttpStatusCode.OK, await WhoAmIAsync(secret));

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280);
        await using var _ = context;
        await SignedInPageAsync(context, page, "/admin/api-keys");
        var row = page.Locator("tbody tr").Filter(new() { HasText = "partner-acme" });
        await Assertions.Expect(row).ToContainTextAsync("active");
        await Assertions.Expect(row).ToContainTextAsync($"by {WorkbenchAppFactory.AdminEmail}");
        await AssertNoHorizontalScrollAsync(page, "api keys");

        // Revoke asks first, naming the key and what stops working; Cancel leaves it active, on the page and for the API.
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        var confirm = page.Locator("[data-testid=revoke-confirm]");
        await Assertions.Expect(confirm).ToContainTextAsync($"Revoke 'partner-acme' ({key.Prefix}…)? Every call with it gets 401 from now on");
        await Assertions.Expect(confirm).ToContainTextAsync("a partner scoring with it stops getting decisions"); // it has the predict scope
        await page.Locator("#revoke-cancel").ClickAsync();
        await Assertions.Expect(confirm).ToHaveCountAsync(0);
        await Assertions.Expect(row).ToContainTextAsync("active");
        Assert.Null((await store.FindAsync(key.Id.ToString())).Single().RevokedAt);
        Assert.Equal(HttpStatusCode.OK, await WhoAmIAsync(secret));

        // Confirmed: the row says revoked and has no Revoke button, and the key no longer authenticates. The other key is untouched.
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await page.Locator("button#revoke-confirm").ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("revoked");
        await Assertions.Expect(row).Not.ToContainTextAsync("active");
        await Assertions.Expect(row.GetByRole(AriaRole.Button, new() { Name = "Revoke" })).ToHaveCountAsync(0);
        Assert.NotNull((await store.FindAsync(key.Id.ToString())).Single().RevokedAt);
        Assert.Equal(HttpStatusCode.Unauthorized, await WhoAmIAsync(secret));
        await Assertions.Expect(page.Locator("tbody tr").Filter(new() { HasText = "partner-bystander" })).ToContainTextAsync("active");
        Assert.Null((await store.FindAsync(other.Id.ToString())).Single().RevokedAt);
        Assert.Equal(HttpStatusCode.OK, await WhoAmIAsync(otherSecret));
    }

    [Fact]
    public async Task AuditLog_ModelUpdatesByTwoPeople_NamesDiffsAndFiltersNarrowTheList()
    {
        // A model whose description and gate two people change: the update entries are keyed by the model's UUID.
        var registry = app.App.Get<RegistryStore>();
        await using (var connection = await registry.OpenAsync(default))
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await registry.EnsureModelAsync(transaction, "audited-cards", "user:ana@example.com", default);
            await transaction.CommitAsync();
        }

        var model = (await registry.GetModelAsync("audited-cards"))!;
        await registry.UpdateModelAsync(model.Id, "card fraud", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.5)], [GateMetric.PrAuc], 0.02, 0.1), "user:ana@example.com");
        await registry.UpdateModelAsync(model.Id, "card-not-present fraud", new GateSettings([new GateBaseline(GateMetric.PrAuc, ">=", 0.6)], [GateMetric.PrAuc], 0.02, 0.1), "user:bo@example.com");
        await app.App.Get<ApiKeyStore>().CreateAsync("audit-partner", [Scopes.Predict], null, "user:ana@example.com");

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280);
        await using var _ = context;
        await SignedInPageAsync(context, page, "/audit");
        var rows = page.Locator("[data-testid=audit-table] tbody tr:has([data-testid=audit-object])"); // not the "no entries" row

        // The newest model update: who without "user:", the model by name linking to its page, and only what changed.
        var update = rows.Filter(new() { Has = page.Locator("code", new() { HasTextString = "model.update" }) }).First;
        await Assertions.Expect(update).ToContainTextAsync("bo@example.com");
        await Assertions.Expect(update).Not.ToContainTextAsync("user:bo");
        await Assertions.Expect(update.Locator("[data-testid=audit-object] a")).ToHaveTextAsync("audited-cards");
        await Assertions.Expect(update.Locator("[data-testid=audit-object] a")).ToHaveAttributeAsync("href", "models/audited-cards");
        await Assertions.Expect(update).Not.ToContainTextAsync(model.Id.ToString());
        var changes = update.Locator("[data-testid=audit-change]");
        await Assertions.Expect(changes).ToHaveCountAsync(2);
        var description = changes.And(page.Locator("[data-field=description]"));
        await Assertions.Expect(description.Locator("del")).ToHaveTextAsync("card fraud");
        await Assertions.Expect(description.Locator("ins")).ToHaveTextAsync("card-not-present fraud");
        var threshold = changes.And(page.Locator("[data-field='gate.baselines[0].threshold']"));
        await Assertions.Expect(threshold.Locator("del")).ToHaveTextAsync("0.5");
        await Assertions.Expect(threshold.Locator("ins")).ToHaveTextAsync("0.6");
        await AssertNoHorizontalScrollAsync(page, "audit log");
        // Nor does the table scroll inside itself: a change cut off at the right edge is not readable.
        var table = await page.EvaluateAsync<string>("""
            () => { const c = document.querySelector('[data-testid=audit-table] .mud-table-container');
                    return c.scrollWidth <= c.clientWidth + 1 ? '' : `table ${c.scrollWidth} px in ${c.clientWidth} px; columns ${[...c.querySelectorAll('thead th')].map(th => th.getBoundingClientRect().width.toFixed(0)).join(', ')}`; }
            """);
        Assert.True(table.Length == 0, $"the audit table scrolls sideways at 1280 px: {table}");
        await page.ScreenshotAsync(new() { Path = BrowserFixture.ScreenshotPath("audit-log.png"), FullPage = true });

        // No UUID is shown bare anywhere in the Object column (a title attribute keeps the id for who needs it).
        var objects = await page.Locator("[data-testid=audit-object]").AllInnerTextsAsync();
        Assert.DoesNotContain(objects, o => Regex.IsMatch(o, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
        var all = await rows.CountAsync();

        // Filter by action: only model updates, the two of them.
        await page.Locator("[data-testid=audit-action]").First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "model.update", Exact = true }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        Assert.All(await rows.Locator("td[data-label=Action]").AllInnerTextsAsync(), a => Assert.Equal("model.update", a.Trim()));
        Assert.True(all > 2, $"only {all} rows before filtering: the filter narrowed nothing");

        // And by who: Ana made one of them.
        await page.Locator("[data-testid=audit-actor]").First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "ana@example.com", Exact = true }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Locator("td[data-label=Who]")).ToHaveTextAsync("ana@example.com");
        await Assertions.Expect(rows.Locator("[data-testid=audit-change][data-field=description]")).ToHaveTextAsync("description: card fraud"); // a field and its value, apart

        // Another action of Ana's: the key she made, by its name; then a search that matches nothing of hers empties the list.
        await page.Locator("[data-testid=audit-action]").First.ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "api-key.create", Exact = true }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Locator("td[data-label=Action]")).ToHaveTextAsync("api-key.create");
        await Assertions.Expect(rows.Locator("[data-testid=audit-object]")).ToContainTextAsync("audit-partner");
        var search = page.Locator("[data-testid=audit-search] input, input[data-testid=audit-search]").First;
        await search.FillAsync("partner-acme");
        await search.PressAsync("Enter");
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid=audit-table]")).ToContainTextAsync("No audit entries match.");
        await search.FillAsync("audit-partner");
        await search.PressAsync("Enter");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await AssertNoHorizontalScrollAsync(page, "audit log, filtered");
    }

    [Fact]
    public async Task JobsPage_FinishedTrainingRun_ReadableTitleLinksToTheRun()
    {
        // A small real run (five trees): its job is what the page describes.
        var dataset = await SampleMonth.IngestAsync(app.App, "jobs-card-fraud");
        var (featureSet, _) = await app.App.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("jobs-recipes", dataset.Dataset.Id, 1, SampleMatrixFixture.Definition), "test");
        var (runId, jobId) = await app.App.Get<TrainingService>().StartAsync(new TrainingRunRequest(dataset.Dataset.Id, 1, featureSet.Id, new TrainerSettings(Trees: 5)), Admin);
        await Wait.UntilAsync(async () => (await app.App.Get<JobStore>().GetAsync(jobId))!.IsFinished, 180, "training job finished");
        var job = (await app.App.Get<JobStore>().GetAsync(jobId))!;
        Assert.True(job.Status == JobStatus.Succeeded, job.Error);

        var (context, page) = await browser.NewPageAsync(app.App.BaseAddress, 1280);
        await using var _ = context;
        await SignedInPageAsync(context, page, "/jobs");
        var title = page.Locator($"[data-job-id='{jobId}'][data-testid=job-title]");
        await Assertions.Expect(title.Locator("a")).ToHaveTextAsync("Training run lightgbm · jobs-card-fraud v1");
        await Assertions.Expect(title.Locator("code")).ToHaveTextAsync(job.Kind); // the internal kind only as a caption
        await Assertions.Expect(page.Locator($"tr:has([data-job-id='{jobId}']) [data-testid=job-status]")).ToHaveTextAsync("succeeded");
        await Assertions.Expect(page.Locator($"tr:has([data-job-id='{jobId}']) [data-testid=job-took]")).ToContainTextAsync(WorkbenchAppFactory.AdminEmail);
        await AssertNoHorizontalScrollAsync(page, "jobs");

        // The title goes to the run it trained.
        await title.Locator("a").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/training/{runId}$"));
        await Assertions.Expect(page.Locator("[data-testid=pr-auc]")).ToHaveTextAsync(new Regex(@"^0\.\d{3}$"));
    }
}

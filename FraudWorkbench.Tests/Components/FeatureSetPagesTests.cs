using FraudWorkbench.Core.Artifacts;
using Microsoft.Extensions.Options;
using System.Text;
using Bunit;
using FraudWorkbench.Components.Pages.Features;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class FeatureSetPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Csv = "event_time,customer_id,amount,ip_country,home_country,merchant_category,is_fraud\n" +
        "2026-01-01T10:00:00Z,c1,10,DE,DE,groceries,0\n2026-01-01T10:05:00Z,c1,250,NG,DE,electronics,1\n" +
        "2026-01-01T11:00:00Z,c2,30,FR,FR,groceries,0\n2026-01-02T09:00:00Z,c1,12,DE,DE,fashion,0\n";

    private static async Task<IngestResult> IngestAsync(PageContext context, string name)
    {
        var ingestor = context.Get<DatasetIngestor>();
        var staged = await ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv)), name + ".csv");
        return await ingestor.IngestAsync(staged, name, SchemaOverrides.None, "test");
    }

    private static async Task ChooseDatasetAsync(IRenderedComponent<FeatureSetEditor> page, Guid datasetId)
    {
        page.WaitForElement("[data-testid=dataset-select]");
        var select = page.FindComponents<MudBlazor.MudSelect<Guid?>>().Single();
        await page.InvokeAsync(() => select.Instance.ValueChanged.InvokeAsync(datasetId));
        page.WaitForElement("[data-testid=feature-list]");
    }

    /// <summary>No worker runs beside a page here: claims the queued fit and runs it as the worker would.</summary>
    private static async Task RunQueuedFitAsync(PageContext context)
    {
        var jobs = context.Get<JobStore>();
        var job = await jobs.ClaimNextAsync("page-test", [FeatureSetFitJobHandler.KindName]) ?? throw new InvalidOperationException("No fit was queued.");
        var result = await new FeatureSetFitJobHandler(context.Get<FeatureSetService>()).ExecuteAsync(
            new JobContext(job, job.Worker!, jobs, TimeProvider.System, TimeSpan.Zero, _ => { }), CancellationToken.None);
        Assert.Equal(JobStatus.Succeeded, (await jobs.CompleteAsync(job.Id, job.Worker!, result))?.Status);
    }

    /// <summary>Saves the suggested recipes as <paramref name="name"/> on a new dataset: the page shows the queued fit.</summary>
    private static async Task<IRenderedComponent<FeatureSetEditor>> SaveSuggestedAsync(PageContext context, string name)
    {
        var dataset = await IngestAsync(context, "editor-" + name);
        var page = context.Bunit.Render<FeatureSetEditor>();
        await ChooseDatasetAsync(page, dataset.Dataset.Id);
        await page.ChangeAsync("input[data-testid=feature-set-name]", name);
        await page.ClickAsync("[data-testid=suggest]");
        await page.ClickAsync("[data-testid=save-feature-set]");
        page.WaitForElement("[data-testid=fit-progress]");
        return page;
    }

    [Fact]
    public async Task Editor_SuggestedRecipesSaved_GoesToTheNewVersion()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var page = await SaveSuggestedAsync(context, "suggested");

        await RunQueuedFitAsync(context);
        var set = (await context.Get<FeatureSetStore>().ListAsync()).Single(s => s.Name == "suggested");
        // The page leaves once it hears the job succeeded (no render follows: poll, not WaitForAssertion).
        var navigation = context.Bunit.Services.GetRequiredService<NavigationManager>();
        await Wait.UntilAsync(() => Task.FromResult(navigation.Uri.EndsWith($"features/{set.Id}?version=1", StringComparison.Ordinal)), seconds: 15, what: "the editor opened the new version");
        var version = (await context.Get<FeatureSetStore>().ListVersionsAsync(set.Id)).Single();
        var kinds = version.Definition.Features.Select(f => f.Kind).ToList();
        Assert.Contains(FeatureKind.Velocity, kinds);
        Assert.Contains(FeatureKind.Mismatch, kinds);
        Assert.Contains(FeatureKind.EntityRatio, kinds);
    }

    [Fact]
    public async Task Editor_FitCancelled_SaysSoAndSavesNothing()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var page = await SaveSuggestedAsync(context, "cancelled");

        await page.ClickAsync("[data-testid=cancel-fit]");

        page.WaitForElement("[data-testid=fit-cancelled]");
        Assert.Null(await context.Get<JobStore>().ClaimNextAsync("page-test", [FeatureSetFitJobHandler.KindName]));
        Assert.DoesNotContain(await context.Get<FeatureSetStore>().ListAsync(), s => s.Name == "cancelled");
    }

    [Fact]
    public async Task Editor_TransformOnTheWrongType_ErrorsShownByFieldAndNothingSaved()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var dataset = await IngestAsync(context, "editor-invalid");
        var page = context.Bunit.Render<FeatureSetEditor>();
        await ChooseDatasetAsync(page, dataset.Dataset.Id);
        await page.ChangeAsync("input[data-testid=feature-set-name]", "invalid");
        await page.ClickButtonAsync("Add feature");
        var kind = page.FindComponents<MudBlazor.MudSelect<string>>().First();
        await page.InvokeAsync(() => kind.Instance.ValueChanged.InvokeAsync(FeatureKind.DateParts));
        var column = page.FindComponents<MudBlazor.MudSelect<string>>()[1];
        await page.InvokeAsync(() => column.Instance.ValueChanged.InvokeAsync("amount"));

        await page.ClickAsync("[data-testid=save-feature-set]");

        page.WaitForAssertion(() => Assert.Contains("features[0].column", page.Find("[data-testid=feature-errors]").TextContent));
        Assert.Contains("needs a datetime column; 'amount' is integer", page.Markup);
        Assert.DoesNotContain(await context.Get<FeatureSetStore>().ListAsync(), s => s.Name == "invalid");
    }

    [Fact]
    public async Task Detail_Version_ShowsLineageSignalTableChartsAndPreview()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        var dataset = await IngestAsync(context, "detail-features");
        var (version, _) = await context.Get<FeatureSetService>().CreateAsync(new NewFeatureSet("detail-set", dataset.Dataset.Id, 1, new(
        [
            new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
            new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["1h"]),
        ])), "test");

        var page = context.Bunit.Render<FeatureSetDetail>(p => p.Add(x => x.Id, version.FeatureSetId));

        page.WaitForAssertion(() => Assert.Contains("detail-features v1", page.Find("[data-testid=lineage]").TextContent));
        Assert.Equal(3, page.FindAll("[data-testid=slot-table] tbody tr").Count);
        Assert.Equal(4, page.FindAll("[data-testid=feature-preview] tbody tr").Count);
        Assert.NotNull(page.Find("[data-testid='split-ip_country__ne__home_country'] svg"));
        Assert.Empty(page.FindAll("[data-testid=backfill]")); // read-only role
    }

    [Fact]
    public async Task Detail_VersionFittedOnASample_SaysHowManyRowsAndByWhichEntity()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        var ingestor = context.Get<DatasetIngestor>();
        IngestResult dataset;
        await using (var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv")))
        {
            dataset = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-a.csv"), "sampled-features", SchemaOverrides.None, "test");
        }

        var definition = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["1h"])]);
        var budget = Options.Create(new FeatureSetOptions { MaxFitMemoryBytes = FeatureSetService.FitMemoryBytes(dataset.Version, definition) / 2 });
        var service = new FeatureSetService(context.Get<DatasetStore>(), context.Get<ArtifactStore>(), context.Get<FeatureSetStore>(), budget);
        var (version, _) = await service.CreateAsync(new NewFeatureSet("sampled-set", dataset.Dataset.Id, 1, definition), "test");

        var page = context.Bunit.Render<FeatureSetDetail>(p => p.Add(x => x.Id, version.FeatureSetId));

        var sample = version.Fitted.Sample!;
        page.WaitForAssertion(() => Assert.Contains($"Fitted on a sample: {sample.Rows:N0} of {dataset.Version.RowCount:N0} rows, every row of the customer_id values kept",
            page.Find("[data-testid=fit-sample]").TextContent));
    }
}

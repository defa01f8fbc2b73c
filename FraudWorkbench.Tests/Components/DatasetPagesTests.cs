using System.Text;
using Bunit;
using FraudWorkbench.Components.Pages.Datasets;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;

namespace FraudWorkbench.Tests.Components;

[Trait("Category", "Database")]
public sealed class DatasetPagesTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private const string Csv = "event_time,customer_id,merchant_category,amount,is_fraud\n" +
        "2026-01-01T10:00:00Z,c1,electronics,10.5,0\n2026-01-01T10:05:00Z,c2,gift_cards,99.9,1\n2026-01-02T08:00:00Z,c1,groceries,12,0\n2026-01-03T08:00:00Z,c3,groceries,8,0\n";

    private static async Task<IngestResult> IngestAsync(PageContext context, string name)
    {
        var ingestor = context.Get<DatasetIngestor>();
        var staged = await ingestor.StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv)), name + ".csv");
        return await ingestor.IngestAsync(staged, name, SchemaOverrides.None, "test");
    }

    [Fact]
    public async Task DatasetDetail_Version_ShowsCountsBalanceColumnsChartsAndPagedRows()
    {
        await using var context = new PageContext(db, Roles.Reviewer);
        var result = await IngestAsync(context, "bunit-detail");

        var page = context.Bunit.Render<DatasetDetail>(p => p.Add(x => x.Id, result.Dataset.Id));

        page.WaitForAssertion(() => Assert.Equal("4", page.Find("[data-testid=row-count]").TextContent));
        Assert.Contains("25.00% fraud", page.Find("[data-testid=label-balance]").TextContent);
        Assert.Contains("is_fraud = 1: 1", page.Find("[data-testid=label-balance]").TextContent);
        var amount = page.Find("[data-testid=column-summary] tr[data-column=amount]").TextContent;
        Assert.Contains("decimal", amount);
        Assert.Contains("32.6", amount); // mean of 10.5, 99.9, 12, 8
        Assert.NotNull(page.Find("[data-testid=chart-amount] svg"));
        Assert.NotNull(page.Find("[data-testid=chart-merchant_category] svg"));
        Assert.Empty(page.FindAll("[data-testid=chart-customer_id]")); // an entity key's values are not a distribution
        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("[data-testid=preview] tbody tr").Count));
        Assert.Contains("gift_cards", page.Find("[data-testid=preview] tbody").TextContent);
        Assert.DoesNotContain(page.FindAll("button"), b => b.TextContent.Contains("Archive")); // a Reviewer cannot archive
    }

    [Fact]
    public async Task DatasetUpload_FileChosen_ProgressThenInferredSchemaThenIngestJobQueued()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var page = context.Bunit.Render<DatasetUpload>();

        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(Csv, "january.csv"));

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=schema-editor]")));
        Assert.Equal("100", page.Find("[data-testid=upload-progress]").GetAttribute("data-progress"));
        Assert.Contains("label", page.Find("tr[data-column=is_fraud]").TextContent);
        Assert.Contains("entity key", page.Find("tr[data-column=customer_id]").TextContent);
        Assert.Contains("groceries", page.Find("tr[data-column=merchant_category]").TextContent);
        Assert.Equal("january", page.Find("input[data-testid=dataset-name]").GetAttribute("value"));

        await page.ClickAsync("[data-testid=create-version]");

        var job = (await context.Get<JobStore>().ListAsync()).First(j => j.Kind == DatasetIngestJobHandler.KindName && j.PayloadAs<DatasetIngestRequest>()!.Name == "january");
        var request = job.PayloadAs<DatasetIngestRequest>()!;
        Assert.Equal(("january", "user:" + PageContext.UserEmail, "1"), (request.Name, request.Actor, request.Overrides.PositiveLabel));
        Assert.True(File.Exists(context.Get<DatasetIngestor>().StagedPath(request.Upload.Id)), "the job owns the staged file");
        Assert.EndsWith($"datasets/upload?job={job.Id}", context.Bunit.Services.GetRequiredService<NavigationManager>().Uri);
    }

    [Fact]
    public async Task Datasets_EmptyInstall_OffersSamplesAndTryingOneQueuesItsIngestion()
    {
        var empty = new DatabaseFixture();
        await empty.InitializeAsync();
        await using var _ = empty.DataSource;
        await using var context = new PageContext(empty, Roles.DataScientist);
        var page = context.Bunit.Render<FraudWorkbench.Components.Pages.Datasets.Datasets>();

        await page.ClickAsync("[data-testid=sample-transactions-month-a]");

        var job = Assert.Single(await context.Get<JobStore>().ListAsync());
        var request = job.PayloadAs<DatasetIngestRequest>()!;
        Assert.Equal((DatasetIngestJobHandler.KindName, "transactions-month-a"), (job.Kind, request.Name));
        Assert.Equal(new FileInfo(Path.Combine(SampleDatasets.Directory, "transactions-month-a.csv")).Length, request.Upload.Length);
        Assert.EndsWith($"datasets/upload?job={job.Id}", context.Bunit.Services.GetRequiredService<NavigationManager>().Uri);
    }

    [Fact]
    public async Task Datasets_EmptyInstallForAReviewer_NoUploadOrSampleButtons()
    {
        var empty = new DatabaseFixture();
        await empty.InitializeAsync();
        await using var _ = empty.DataSource;
        await using var context = new PageContext(empty, Roles.Reviewer);

        var page = context.Bunit.Render<FraudWorkbench.Components.Pages.Datasets.Datasets>();

        page.WaitForAssertion(() => Assert.Contains("Ask a Data Scientist or Admin", page.Find("[data-testid=datasets-empty]").TextContent));
        Assert.Empty(page.FindAll("[data-testid^=sample-]"));
    }

    [Fact]
    public async Task DatasetUpload_NotUtf8_ErrorShownAndNothingStaged()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var page = context.Bunit.Render<DatasetUpload>();

        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(Encoding.Latin1.GetBytes("name,city\nRen\u00e9,K\u00f6ln\n"), "latin1.csv"));

        page.WaitForAssertion(() => Assert.Contains("not valid UTF-8", page.Find("[data-testid=upload-error]").TextContent));
        Assert.Empty(page.FindAll("[data-testid=schema-editor]"));
        Assert.Empty(Directory.GetFiles(Path.Combine(context.DataDirectory, "uploads")));
    }
}

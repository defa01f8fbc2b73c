using System.Text;
using Bunit;
using FraudWorkbench.Components.Pages.Datasets;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
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

    [Fact]
    public async Task DatasetUpload_NewVersionOfADataset_SuccessChipNoNameFieldAndVersion2OfThatDatasetWithTheDiff()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var v1 = await IngestAsync(context, "bunit-next-version");
        var detail = context.Bunit.Render<DatasetDetail>(p => p.Add(x => x.Id, v1.Dataset.Id));
        detail.WaitForAssertion(() => Assert.Equal($"datasets/upload?dataset={v1.Dataset.Id}", detail.Find("[data-testid=upload-version]").GetAttribute("href")));
        context.Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo($"datasets/upload?dataset={v1.Dataset.Id}");
        var page = context.Bunit.Render<DatasetUpload>();
        page.WaitForAssertion(() => Assert.Contains("New version of bunit-next-version", page.Find("[data-testid=upload-title]").TextContent));

        // merchant_category removed, channel added; the file is named unlike the dataset.
        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(
            "event_time,customer_id,amount,is_fraud,channel\n2026-02-01T10:00:00Z,c1,10.5,0,web\n2026-02-01T11:00:00Z,c2,5.5,1,app\n", "february-export.csv"));

        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=schema-editor]")));
        var chip = page.Find("[data-testid=upload-status]");
        Assert.Contains("mud-chip-color-success", chip.ClassName);
        Assert.Empty(page.FindAll(".mud-chip-color-secondary, .mud-chip-color-error"));
        Assert.Empty(page.FindAll("input[data-testid=dataset-name]"));
        Assert.Empty(page.FindAll("[data-testid=no-label-warning]"));
        Assert.Contains("Create version 2", page.Find("[data-testid=create-version]").TextContent);
        await page.ClickAsync("[data-testid=create-version]");

        var job = (await context.Get<JobStore>().ListAsync()).First(j => j.Kind == DatasetIngestJobHandler.KindName && j.PayloadAs<DatasetIngestRequest>()!.DatasetId == v1.Dataset.Id);
        var request = job.PayloadAs<DatasetIngestRequest>()!;
        var v2 = await context.Get<DatasetIngestor>().AddVersionAsync(request.DatasetId!.Value, request.Upload, request.Overrides, request.Actor);
        Assert.Equal((v1.Dataset.Id, 2), (v2.Dataset.Id, v2.Version.Version));

        context.Bunit.Services.GetRequiredService<NavigationManager>().NavigateTo($"datasets/{v1.Dataset.Id}?version=2");
        var shown = context.Bunit.Render<DatasetDetail>(p => p.Add(x => x.Id, v1.Dataset.Id));
        shown.WaitForAssertion(() => Assert.Contains("Changes from v1", shown.Find("[data-testid=schema-changes]").TextContent));
        Assert.Equal(["channel"], shown.FindAll("[data-testid=schema-changes] li[data-change=added]").Select(li => li.GetAttribute("data-column")));
        Assert.Equal(["merchant_category"], shown.FindAll("[data-testid=schema-changes] li[data-change=removed]").Select(li => li.GetAttribute("data-column")));
    }

    [Fact]
    public async Task DatasetUpload_NoLabelColumn_WarnsItCannotTrain()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var page = context.Bunit.Render<DatasetUpload>();

        page.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("event_time,amount\n2026-01-01T10:00:00Z,1.5\n", "unlabelled.csv"));

        page.WaitForAssertion(() => Assert.Contains("cannot train", page.Find("[data-testid=no-label-warning]").TextContent));
    }

    [Fact]
    public async Task DatasetDetail_Archive_AsksFirst_ThenShowArchivedListsItAndRestoreWorks()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var result = await IngestAsync(context, "bunit-archive");
        var store = context.Get<DatasetStore>();
        var page = context.Bunit.Render<DatasetDetail>(p => p.Add(x => x.Id, result.Dataset.Id));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=archive]")));

        await page.ClickAsync("[data-testid=archive]");
        Assert.Contains("Archive bunit-archive?", page.Find("[data-testid=archive-confirm]").TextContent);
        Assert.Null((await store.GetAsync(result.Dataset.Id))!.ArchivedAt); // asking changed nothing
        await page.ClickAsync("[data-testid=archive-confirm-no]");
        Assert.Empty(page.FindAll("[data-testid=archive-confirm]"));
        Assert.Null((await store.GetAsync(result.Dataset.Id))!.ArchivedAt);
        await page.ClickAsync("[data-testid=archive]");
        await page.ClickAsync("[data-testid=archive-confirm-yes]");
        Assert.NotNull((await store.GetAsync(result.Dataset.Id))!.ArchivedAt);

        var list = context.Bunit.Render<FraudWorkbench.Components.Pages.Datasets.Datasets>();
        list.WaitForAssertion(() => Assert.Empty(list.FindAll(".mud-progress-circular")));
        Assert.Empty(list.FindAll("[data-testid=dataset-bunit-archive]"));
        await list.InvokeAsync(() => list.FindComponent<MudBlazor.MudSwitch<bool>>().Instance.ValueChanged.InvokeAsync(true));
        list.WaitForAssertion(() => Assert.NotNull(list.Find("[data-testid=archived-bunit-archive]")));
        await list.ClickAsync("[data-testid=restore-bunit-archive]");
        Assert.Null((await store.GetAsync(result.Dataset.Id))!.ArchivedAt);
        list.WaitForAssertion(() => Assert.Empty(list.FindAll("[data-testid=archived-bunit-archive]")));
        Assert.NotNull(list.Find("[data-testid=dataset-bunit-archive]"));
    }

    [Fact]
    public async Task DatasetDetail_CorrectRoles_QueuesAReviseJobFollowedLive_NewVersionReprofiled()
    {
        await using var context = new PageContext(db, Roles.DataScientist);
        var staged = await context.Get<DatasetIngestor>().StageAsync(new MemoryStream(Encoding.UTF8.GetBytes(Csv.Replace("is_fraud", "outcome"))), "unlabelled.csv");
        var v1 = await context.Get<DatasetIngestor>().IngestAsync(staged, "bunit-roles", SchemaOverrides.None, "test");
        var page = context.Bunit.Render<DatasetDetail>(p => p.Add(x => x.Id, v1.Dataset.Id));
        page.WaitForAssertion(() => Assert.Contains("cannot train", page.Find("[data-testid=no-label-warning]").TextContent));

        await page.ClickAsync("[data-testid=edit-roles]");
        // One role select per column, in the file's order: outcome is the fifth.
        var outcome = page.FindComponents<MudBlazor.MudSelect<string>>().Where(s => s.Instance.UserAttributes.GetValueOrDefault("data-testid") as string == "role-select").ElementAt(4);
        await page.InvokeAsync(() => outcome.Instance.ValueChanged.InvokeAsync(ColumnRole.Label));
        page.Find("input[data-testid=positive-label]").Change("1");
        await page.ClickAsync("[data-testid=save-roles]");

        var job = (await context.Get<JobStore>().ListAsync()).First(j => j.Kind == DatasetReviseJobHandler.KindName && j.PayloadAs<DatasetReviseRequest>()!.DatasetId == v1.Dataset.Id);
        var request = job.PayloadAs<DatasetReviseRequest>()!;
        Assert.Equal((1, ColumnRole.Label, "1"), (request.FromVersion, request.Overrides.Columns!["outcome"].Role, request.Overrides.PositiveLabel));
        await context.Hub.PublishAsync(JobChanged.From(job with { Status = JobStatus.Running, Progress = 40, Stage = "profiling with the corrected roles" }));
        page.WaitForAssertion(() => Assert.Equal("40", page.Find("[data-testid=revise-job] [data-testid=job-progress]").GetAttribute("data-progress")));

        var v2 = await context.Get<DatasetIngestor>().ReviseAsync(request.DatasetId, request.FromVersion, request.Overrides, request.Actor);
        Assert.Equal((2, 1, v1.Version.Checksum), (v2.Version.Version, v2.Version.BasedOnVersion, v2.Version.Checksum));
        Assert.Equal(("outcome", 1L, 3L), (v2.Version.Profile.Label!.Column, v2.Version.Profile.Label.PositiveCount, v2.Version.Profile.Label.NegativeCount));
        Assert.Null((await context.Get<DatasetStore>().GetVersionAsync(v1.Dataset.Id, 1))!.Profile.Label);
    }
}

using System.Text.Json;
using Bunit;
using FraudWorkbench.Components.Pages.Monitoring;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Performance;
using FraudWorkbench.Tests.Scoring;
using FraudWorkbench.Core.Performance;
using FraudWorkbench.Core.Registry;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FraudWorkbench.Tests.Components;

/// <summary>The Labels tab's CSV upload over the running app: stored all or nothing, bad rows named, reversals audited.</summary>
[Trait("Category", "Database")]
[Collection(MonitoringPanelsCollection.Name)]
public sealed class LabelUploadFormTests(ScoringFixture fixture)
{
    private static IRenderedComponent<LabelUploadForm> Render(AppPageContext context, string model)
    {
        var form = context.Bunit.Render<LabelUploadForm>(p => p.Add(x => x.Model, model));
        form.WaitForAssertion(() => Assert.Equal("ready", form.Find("[data-testid=label-upload]").GetAttribute("data-state")));
        return form;
    }

    private static void Upload(IRenderedComponent<LabelUploadForm> form, string csv, string name = "labels.csv") =>
        form.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText(csv, name));

    private static void WaitFor(IRenderedComponent<LabelUploadForm> form, string state) =>
        form.WaitForAssertion(() => Assert.Equal(state, form.Find("[data-testid=label-upload]").GetAttribute("data-state")));

    private Task<LoggedPrediction?> GetAsync(Guid id) => fixture.App.Get<PredictionStore>().GetAsync(id);

    [Fact]
    public async Task Upload_ValidFile_LabelsStoredByTransactionAndPredictionIdAndCounted()
    {
        const string model = "labels-upload-valid";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 20, 21, 22);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var form = Render(context, model);

        // The help names the model's own transaction id column, and the template is the example shown.
        Assert.Equal("transaction_id", form.Find("[data-testid=label-transaction-column]").TextContent);
        Assert.StartsWith("transaction_id,is_fraud,label_date", form.Find("[data-testid=label-example]").TextContent.Trim());
        Assert.StartsWith("data:text/csv;charset=utf-8,transaction_id%2Cis_fraud%2Clabel_date", form.Find("[data-testid=label-template]").GetAttribute("href"));

        Upload(form, $"""
            transaction_id,prediction_id,is_fraud,label_date
            {scored[0].TransactionId},,yes,2026-03-09
            {scored[1].TransactionId},,0,
            ,{scored[2].Id},TRUE,
            """);

        WaitFor(form, "stored");
        var result = form.Find("[data-testid=label-result]");
        Assert.Equal("3 labels stored, 2 fraud, 3 changed.", result.TextContent.Trim());
        var first = (await GetAsync(scored[0].Id))!;
        Assert.Equal((true, new DateTime(2026, 3, 9)), (first.IsFraud, first.LabelDate));
        Assert.False((await GetAsync(scored[1].Id))!.IsFraud);
        Assert.True((await GetAsync(scored[2].Id))!.IsFraud);
        Assert.Null((await GetAsync(scored[2].Id))!.LabelDate);

        // The same file again changes nothing.
        Upload(form, $"""
            transaction_id,is_fraud,label_date
            {scored[0].TransactionId},1,2026-03-09
            """);
        form.WaitForAssertion(() => Assert.Equal("1 label stored, 1 fraud, 0 changed.", form.Find("[data-testid=label-result]").TextContent.Trim()));
    }

    [Fact]
    public async Task Upload_BadRows_EveryProblemListedByLineAndColumnAndNothingStored()
    {
        const string model = "labels-upload-bad";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 23);
        await using var context = new AppPageContext(fixture, Roles.Admin);
        var form = Render(context, model);

        Upload(form, $"""
            prediction_id,is_fraud,label_date
            {scored[0].Id},1,2026-03-09
            not-a-uuid,1,
            {scored[0].Id},maybe,
            {scored[0].Id},0,09/03/2026
            """);

        WaitFor(form, "refused");
        Assert.Equal("Some rows cannot be read; nothing was stored.", form.Find("[data-testid=label-error-title]").TextContent.Trim());
        Assert.Equal("3 problems:", form.Find("[data-testid=label-issue-count]").TextContent.Trim());
        var rows = form.FindAll("[data-testid=label-issues] tbody tr").Select(r => r.QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray()).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal(["3", "prediction_id", "'not-a-uuid' is not a prediction id (a UUID)."], rows[0]);
        Assert.Equal(["4", "is_fraud", "'maybe' is not a label: use 1 / 0, true / false or yes / no."], rows[1]);
        Assert.Equal(["5", "label_date", "'09/03/2026' is not a date as yyyy-MM-dd."], rows[2]);
        Assert.Null((await GetAsync(scored[0].Id))!.IsFraud); // the good first row was not stored either

        // A header without the label column names the problem as a file-wide one.
        Upload(form, $"prediction_id,verdict\n{scored[0].Id},1\n");
        form.WaitForAssertion(() => Assert.Equal("The header does not name the label columns. Nothing was stored.", form.Find("[data-testid=label-error-title]").TextContent.Trim()));
        var header = form.Find("[data-testid=label-issues] tbody tr").QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray();
        Assert.Equal(("", "header"), (header[0], header[1]));
        Assert.StartsWith("The label goes in an is_fraud column", header[2]);
        Assert.Empty(form.FindAll("[data-testid=label-result]"));
    }

    [Fact]
    public async Task Upload_TransactionScoredTwice_RefusedWithTheMessageAndNothingStored()
    {
        const string model = "labels-upload-twice";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 24, 25, 24);
        Assert.Equal(scored[0].TransactionId, scored[2].TransactionId);
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var form = Render(context, model);

        Upload(form, $"""
            transaction_id,is_fraud
            {scored[1].TransactionId},1
            {scored[0].TransactionId},1
            """);

        WaitFor(form, "refused");
        Assert.Contains("Some labels cannot be matched; nothing was stored.", form.Find("[data-testid=label-error]").TextContent);
        var row = Assert.Single(form.FindAll("[data-testid=label-issues] tbody tr")).QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray();
        Assert.Equal(("3", "transaction_id"), (row[0], row[1]));
        Assert.StartsWith($"Transaction '{scored[0].TransactionId}' was scored 2 times (predictions ", row[2]);
        Assert.EndsWith("); give the prediction id of the one this label is for.", row[2]);
        Assert.Contains(scored[0].Id.ToString(), row[2]);
        Assert.Contains(scored[2].Id.ToString(), row[2]);
        Assert.Null((await GetAsync(scored[1].Id))!.IsFraud);

        // Named by its prediction id the same label is taken.
        Upload(form, $"prediction_id,is_fraud\n{scored[2].Id},1\n");
        WaitFor(form, "stored");
        Assert.True((await GetAsync(scored[2].Id))!.IsFraud);
        Assert.Null((await GetAsync(scored[0].Id))!.IsFraud);
    }

    [Fact]
    public async Task Upload_ReversedChargeback_KeepsTheLatestAndAuditsTheReversal()
    {
        const string model = "labels-upload-reversal";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 26);
        var id = scored[0].Id;
        await using var context = new AppPageContext(fixture, Roles.DataScientist);
        var form = Render(context, model);

        Upload(form, $"transaction_id,is_fraud\n{scored[0].TransactionId},1\n");
        WaitFor(form, "stored");
        Assert.True((await GetAsync(id))!.IsFraud);
        Upload(form, $"transaction_id,is_fraud\n{scored[0].TransactionId},0\n");
        form.WaitForAssertion(() => Assert.Equal("1 label stored, 0 fraud, 1 changed.", form.Find("[data-testid=label-result]").TextContent.Trim()));

        Assert.False((await GetAsync(id))!.IsFraud);
        var audit = (await fixture.App.Get<AuditLog>().PageAsync(0, 10, new AuditFilter(Search: id.ToString(), Action: "prediction.feedback"))).Items;
        Assert.Equal(2, audit.Count);
        Assert.All(audit, e => Assert.Equal("user:" + AppPageContext.UserEmail, e.Actor));
        using var newest = JsonDocument.Parse(audit[0].Summary!);
        var reversed = Assert.Single(newest.RootElement.GetProperty("reversed").EnumerateArray());
        Assert.Equal((id, true, false), (reversed.GetProperty("prediction").GetGuid(), reversed.GetProperty("from").GetBoolean(), reversed.GetProperty("to").GetBoolean()));
        using var first = JsonDocument.Parse(audit[1].Summary!);
        Assert.Empty(first.RootElement.GetProperty("reversed").EnumerateArray());
    }

    [Fact]
    public async Task Render_Reviewer_FormDisabledWithTheReason()
    {
        const string model = "labels-upload-reviewer";
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);

        var form = Render(context, model);

        Assert.Equal("false", form.Find("[data-testid=label-upload]").GetAttribute("data-editable"));
        Assert.Contains("Only Admins and Data Scientists may upload labels", form.Find("[data-testid=label-read-only]").TextContent);
        Assert.True(form.Find("[data-testid=label-choose]").HasAttribute("disabled"));
        Assert.True(form.Find("input[type=file]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task Upload_ReviewerReachingTheDisabledInput_NothingStored()
    {
        const string model = "labels-upload-reviewer-forced";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 27);
        await using var context = new AppPageContext(fixture, Roles.Reviewer);
        var form = Render(context, model);

        // The disabled upload ignores a file sent to it anyway; the handler would refuse a Reviewer on the server besides.
        Upload(form, $"prediction_id,is_fraud\n{scored[0].Id},1\n");
        await Task.Delay(500);

        Assert.Equal("ready", form.Find("[data-testid=label-upload]").GetAttribute("data-state"));
        Assert.Empty(form.FindAll("[data-testid=label-result]"));
        Assert.Null((await GetAsync(scored[0].Id))!.IsFraud);
    }

    [Fact]
    public async Task Upload_DatabaseDown_ClearMessageAndNothingStored()
    {
        const string model = "labels-upload-database-down";
        var scored = await LabelScenario.ScoreAsync(fixture, model, 28);
        // Nothing listens on port 1: every query of this registry fails as a lost database does.
        await using var down = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=app;Database=app;Timeout=3;Pooling=false");
        var import = new LabelImport(fixture.App.Get<PredictionStore>(), new RegistryStore(down, TimeProvider.System), fixture.App.Get<PerformanceReferences>());
        await using var context = new AppPageContext(fixture, Roles.DataScientist, services => services.AddSingleton(import));
        var form = Render(context, model);

        Upload(form, $"prediction_id,is_fraud\n{scored[0].Id},1\n");

        WaitFor(form, "refused");
        Assert.Equal("The labels could not be stored because the database is unavailable; try again in a moment. Nothing was stored.",
            form.Find("[data-testid=label-error-title]").TextContent.Trim());
        Assert.Null((await GetAsync(scored[0].Id))!.IsFraud);
    }
}

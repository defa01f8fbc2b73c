using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Monitoring;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Monitoring;

/// <summary>
/// The month A model scores month B traffic (and, as a control, month A traffic under a second name): the drift
/// report computed from the counts the log wrote flags what the sample generator shifts and leaves the rest alone.
/// </summary>
[Trait("Category", "Database")]
public sealed class MonitoringScenarioTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    private static readonly string MonthB = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-b.csv");

    private async Task<ServingModel> ScoreAsync(string model, IReadOnlyList<string?[]> rows)
    {
        await fixture.RegisterAndPromoteAsync(model, fixture.StrongRun);
        var serving = await fixture.App.Get<ModelServer>().ResolveAsync(model, null);
        var inputs = rows.Select(r => JsonSerializer.SerializeToElement(ScoringFixture.Transaction(fixture.Schema, r))).ToList();
        var parsed = new List<string?[]>();
        foreach (var input in inputs)
        {
            var issues = new List<InputIssue>();
            parsed.Add(serving.Contract.Parse(input, "", issues) ?? throw new InvalidOperationException(string.Join("; ", issues)));
        }

        var scoring = fixture.App.Get<ScoringService>();
        for (var i = 0; i < parsed.Count; i += 500)
        {
            await scoring.PredictAsync(serving, parsed[i..Math.Min(i + 500, parsed.Count)], inputs[i..Math.Min(i + 500, inputs.Count)], "test", dryRun: false, default);
        }

        await fixture.App.Get<PredictionLog>().FlushAsync();
        return serving;
    }

    private static MonitoringRange ThisHour()
    {
        var now = DateTime.UtcNow;
        return MonitoringRange.Covering(now.AddMinutes(-1), now, WindowSize.Hour);
    }

    [Fact]
    public async Task DriftAsync_MonthBTrafficOnMonthAModel_FlagsTheShiftedInputsAndCountsUnseenCountries()
    {
        List<string?[]> monthB;
        await using (var file = File.OpenRead(MonthB)) monthB = DatasetRows.Read(file, fixture.Schema);
        var sample = monthB.Where((_, i) => i % 10 == 0).ToList(); // 4,000 rows spread over the month
        await ScoreAsync("drift-month-b", sample);
        var range = ThisHour();
        var report = (await fixture.App.Get<MonitoringService>().DriftAsync("drift-month-b", range))!;
        var window = report.Windows.Single(w => w.Predictions > 0);
        Assert.Equal(sample.Count, window.Predictions);

        var byName = window.Columns.ToDictionary(c => c.Column);
        var shown = string.Join("\n", window.Columns.Select(c => $"{c.Column} {c.Kind} {c.Method} {c.Value} {c.Drifted} {c.Status}"));
        // The reference has 40,000 rows: Evidently's choice is normed Wasserstein for numbers, Jensen-Shannon for categories, both at 0.1.
        // Expected values: scipy 1.10.1 on the raw files (month A against every 10th row of month B):
        // wasserstein_distance(a, b) / np.std(a), and jensenshannon of the category shares with empty ones at 1e-4.
        var expected = new Dictionary<string, double>
        {
            ["home_country"] = 0.14698429453266568, ["ip_country"] = 0.13856572012973978, ["device_type"] = 0.09330670432380447,
            ["payment_method"] = 0.029707317949069702, ["merchant_category"] = 0.015482047996714989, ["email_domain"] = 0.06575444579666899,
            ["customer_gender"] = 0.005606034404255915, ["shipping_address_new"] = 0.00390960103947702,
            ["customer_age"] = 0.08822399689377772, // 73 ages: counted per value, so exact
            ["amount"] = 0.1077922842579732, ["account_age_days"] = 0.08635434208378416, // quantile bins with their sums
        };
        foreach (var (column, value) in expected)
        {
            var tolerance = column is "amount" or "account_age_days" ? 1e-4 : 1e-12;
            Assert.True(Math.Abs(byName[column].Value!.Value - value) < tolerance, $"{column}: {byName[column].Value} vs scipy {value}");
        }

        Assert.Equal(DriftMethod.Wasserstein, byName["amount"].Method);
        Assert.Equal(DriftMethod.JensenShannon, byName["home_country"].Method);
        // Prices 15 % up, Poland and Portugal launched, fraudsters on domestic IPs: drifted at Evidently's thresholds.
        foreach (var shifted in new[] { "home_country", "ip_country", "amount" }) Assert.True(byName[shifted].Drifted == true, $"{shifted} should drift:\n{shown}");
        foreach (var stable in new[] { "merchant_category", "payment_method", "customer_gender", "email_domain", "shipping_address_new" })
        {
            Assert.True(byName[stable].Drifted == false, $"{stable} should not drift:\n{shown}");
        }

        // Identifiers, entity keys, the event time and the label are not monitored.
        Assert.DoesNotContain(window.Columns, c => c.Column is "transaction_id" or "event_time" or "customer_id" or "is_fraud");
        Assert.Equal(ColumnKind.Score, window.Columns[0].Kind);

        // PT is a new market in February: every PT transaction was scored (nothing refused) and counted as unseen.
        var portugal = sample.Count(r => r[fixture.Schema.IndexOf("home_country")] == "PT");
        Assert.True(portugal > 50, $"{portugal} PT rows");
        Assert.Equal(portugal, byName["home_country"].Unseen);
        var quality = (await fixture.App.Get<MonitoringService>().QualityAsync("drift-month-b", range))!.Windows.Single(w => w.Predictions > 0);
        var country = quality.Columns.Single(c => c.Column == "home_country");
        Assert.Equal(new ValueCount("PT", portugal), country.UnseenValues.Single());
        Assert.True(country.HasProblem);
        Assert.Equal(0, quality.Refused);

        // The mobile shift (48 % → 59 %) and the young accounts stay under the distances' 0.1; a p-value test on
        // 4,000 transactions sees them. Configured per column, the next report uses it.
        var monitoring = fixture.App.Get<MonitoringService>();
        var config = new MonitoringConfig(Columns: new Dictionary<string, ColumnDriftSettings>
        {
            ["device_type"] = new(DriftMethod.ChiSquare), ["account_age_days"] = new(DriftMethod.KolmogorovSmirnov, 0.01),
        });
        Assert.Empty((await monitoring.SaveConfigAsync("drift-month-b", config, "test"))!);
        var configured = (await monitoring.DriftAsync("drift-month-b", range))!.Windows.Single(w => w.Predictions > 0);
        Assert.Equal((DriftMethod.ChiSquare, true), (configured.Column("device_type")!.Method, configured.Column("device_type")!.Drifted));
        Assert.Equal((DriftMethod.KolmogorovSmirnov, 0.01, true), (configured.Column("account_age_days")!.Method, configured.Column("account_age_days")!.Threshold, configured.Column("account_age_days")!.Drifted));
    }

    [Fact]
    public async Task DriftAsync_MonthATrafficOnMonthAModel_FlagsNothing()
    {
        var sample = fixture.Rows.Where((_, i) => i % 10 == 3).ToList();
        await ScoreAsync("drift-month-a", sample);
        var window = (await fixture.App.Get<MonitoringService>().DriftAsync("drift-month-a", ThisHour()))!.Windows.Single(w => w.Predictions > 0);
        var shown = string.Join("\n", window.Columns.Select(c => $"{c.Column} {c.Kind} {c.Method} {c.Value} {c.Drifted} {c.Status}"));
        Assert.All(window.Columns.Where(c => c.Kind != ColumnKind.Score && c.Kind != ColumnKind.Decision), c => Assert.True(c.Drifted == false, $"{c.Column} drifted:\n{shown}"));
        Assert.False(window.DatasetDrift);
        Assert.Equal(0, window.DriftShare);
    }

    [Fact]
    public async Task TrafficReplay_MonthBDataset_ScoredAsTrafficCountedAndAudited()
    {
        await fixture.RegisterAndPromoteAsync("drift-replay", fixture.StrongRun);
        var ingestor = fixture.App.Get<DatasetIngestor>();
        IngestResult monthB;
        await using (var file = File.OpenRead(MonthB)) monthB = await ingestor.IngestAsync(await ingestor.StageAsync(file, "month-b.csv"), "replay-month-b", SchemaOverrides.None, "test");

        var job = await fixture.App.Get<Core.Jobs.JobStore>().EnqueueAsync(TrafficReplayJobHandler.KindName,
            new TrafficReplayRequest("drift-replay", monthB.Dataset.Id, 1, MaxRows: 1_500), "replayer@example.com");
        var done = await fixture.WaitForJobAsync(job.Id);
        Assert.True(done.Status == Core.Jobs.JobStatus.Succeeded, done.Error);

        var window = (await fixture.App.Get<MonitoringService>().DriftAsync("drift-replay", ThisHour()))!.Windows.Single(w => w.Predictions > 0);
        Assert.Equal(1_500, window.Predictions);
        var rows = await DatasetRows.ReadAsync(fixture.App.Get<Core.Artifacts.ArtifactStore>(), monthB.Version, default);
        var portugal = rows.Take(1_500).Count(r => r[monthB.Version.Schema.IndexOf("home_country")] == "PT");
        Assert.True(portugal > 0, "the first day of February already has Portuguese sign-ups");
        Assert.Equal(portugal, window.Column("home_country")!.Unseen);
        var recent = await fixture.App.Get<PredictionStore>().RecentAsync(window.VersionId!.Value, 1);
        Assert.Equal("replay:replayer@example.com", recent.Single().Actor);
        var (audit, _) = await fixture.App.Get<Core.Accounts.AuditLog>().PageAsync(0, 50, new Core.Accounts.AuditFilter(Action: "model.replay"));
        Assert.Contains(audit, a => a.ObjectId == "drift-replay" && a.Actor == "replayer@example.com");
    }

    [Fact]
    public async Task ComputeAsync_ClosedWindow_StoresTheHistoryAndAnnouncesIt()
    {
        var sample = fixture.Rows.Where((_, i) => i % 40 == 5).ToList();
        await ScoreAsync("drift-history", sample);
        var range = ThisHour();
        var heard = new List<MonitoringComputed>();
        using var subscription = fixture.App.Get<EventHub>().Subscribe<MonitoringComputed>(heard.Add);

        // At the top of the hour the range holds two hours and the predictions may be in either: compute both.
        for (var start = range.From; start < range.To; start += WindowSize.Of(WindowSize.Hour))
            await fixture.App.Get<MonitoringJobHandler>().ComputeAsync(WindowSize.Hour, start, default);

        var report = (await fixture.App.Get<MonitoringService>().DriftAsync("drift-history", range))!;
        var window = report.Windows.Single(w => w.Predictions > 0);
        Assert.Contains(new MonitoringComputed("drift-history", WindowSize.Hour, window.Start), heard);
        Assert.True(window.Stored);
        Assert.NotNull(report.LastComputed);
        Assert.Equal(sample.Count, window.Column(MonitoredColumns.Score)!.Rows);
    }
}

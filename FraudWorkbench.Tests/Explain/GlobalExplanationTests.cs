using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using FraudWorkbench.Api;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Tests.Scoring;

namespace FraudWorkbench.Tests.Explain;

[Trait("Category", "Database")]
public sealed class GlobalExplanationTests(ScoringFixture fixture) : IClassFixture<ScoringFixture>
{
    [Fact]
    public async Task Compute_Version_MeanAbsolutePerColumnFromTheHoldout_AndPermutationImportance()
    {
        await fixture.RegisterAsync("global-explain", fixture.StrongRun, ScoringFixture.LenientGate);
        using var client = fixture.App.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);

        var before = await client.GetAsync("/api/v1/models/global-explain/versions/1/explanations");
        var accepted = await client.PostAsync("/api/v1/models/global-explain/versions/1/explanations", null);

        Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var job = (await accepted.Content.ReadFromJsonAsync<RegistryApi.GlobalExplanationResponse>(DatasetSchema.Json))!;
        Assert.Equal(JobStatus.Succeeded, (await fixture.WaitForJobAsync(job.JobId)).Status);
        var stored = (await client.GetFromJsonAsync<RegistryApi.GlobalExplanationResponse>("/api/v1/models/global-explain/versions/1/explanations", DatasetSchema.Json))!;
        var result = stored.Result!;

        Assert.Equal(JobStatus.Succeeded, stored.Status);
        Assert.Equal("treeshap", result.Method);
        Assert.Equal(2_000, result.Rows); // the 12,000 labelled holdout rows, sampled evenly
        Assert.All(result.Columns, c => Assert.Equal(result.Rows, c.Points.Count));
        Assert.All(result.Columns, c => Assert.Equal(c.Points.Average(p => Math.Abs(p.Contribution)), c.MeanAbsolute, 9));
        Assert.Equal(result.Columns.OrderByDescending(c => c.MeanAbsolute).Select(c => c.Column), result.Columns.Select(c => c.Column));
        // The dependence plot's x values are the rows' own inputs.
        Assert.All(result.Columns.Single(c => c.Column == "amount").Points, p => Assert.True(double.TryParse(p.Value, System.Globalization.CultureInfo.InvariantCulture, out _)));
        // Every row's contributions add up to its score minus the base value: their mean is the mean score shift, finite and small next to the base.
        var shifts = Enumerable.Range(0, result.Rows).Select(k => result.Columns.Sum(c => c.Points[k].Contribution)).ToList();
        Assert.All(shifts, s => Assert.True(double.IsFinite(s)));
        Assert.NotEmpty(result.Permutation);
        Assert.True(result.Permutation[0].Drop > 0, $"top permutation drop {result.Permutation[0].Drop}");
        Assert.True(result.Columns.Single(c => c.Column == result.Permutation[0].Input).MeanAbsolute > 0); // what permutation finds decisive moves scores too
        Assert.Equal(result.Columns.Select(c => c.Column).Order(), result.Permutation.Select(p => p.Input).Order()); // one entry per input column
        // ML.NET's PFI as the second view: one entry per model input, sorted by drop, the strongest one decisive.
        var model = await fixture.App.Get<FraudWorkbench.Core.Scoring.ModelServer>().ResolveAsync("global-explain", 1);
        Assert.NotNull(result.MlNetPermutation);
        Assert.Equal(model.Features.SlotNames.Order(), result.MlNetPermutation.Select(p => p.Input).Order());
        Assert.Equal(result.MlNetPermutation.OrderByDescending(p => p.Drop).Select(p => p.Input), result.MlNetPermutation.Select(p => p.Input));
        Assert.True(result.MlNetPermutation[0].Drop > 0, $"top ML.NET PFI drop {result.MlNetPermutation[0].Drop}");
        Assert.All(result.MlNetPermutation, p => Assert.True(p.StandardDeviation >= 0));
        // The job rebuilt the holdout through the page's cache: explaining a validation row now rebuilds nothing.
        var holdouts = fixture.App.Get<FraudWorkbench.Core.Explain.HoldoutExplainer>();
        var builds = holdouts.Builds;
        var version = (await fixture.App.Get<FraudWorkbench.Core.Registry.RegistryStore>().GetVersionAsync("global-explain", 1))!;
        var row = await holdouts.RowAsync(version, model, 0);
        Assert.Equal(builds, holdouts.Builds);
        Assert.Equal(12_000, (await holdouts.LoadAsync(version, model)).Count);
        Assert.NotNull(row.Explanation);
    }
}

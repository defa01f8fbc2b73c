using System.Collections.Concurrent;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>
/// A test double for the metrics: readings the test sets (the lifecycle's input), everything else real. A reading is
/// looked up by model and metric kind; the time asked for is recorded so tests can check the reference windows.
/// </summary>
public sealed class ScriptedMetricSource : IAlertMetricSource
{
    private readonly ConcurrentDictionary<(string Model, string Kind), Func<DateTime, MetricPoint>> readings = new();

    /// <summary>The models a rule without a model covers.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Bands by metric kind.</summary>
    public ConcurrentDictionary<string, MetricBand> Bands { get; } = new();

    /// <summary>Metric kinds whose reading throws, as a broken query would.</summary>
    public ConcurrentDictionary<string, string> Failing { get; } = new();

    /// <summary>Every call: model, kind, window and times.</summary>
    public ConcurrentQueue<(string Model, string Kind, TimeSpan Window, IReadOnlyList<DateTime> Times)> Calls { get; } = new();

    /// <summary>When set, every read waits on it (after signalling <see cref="Entered"/>): holds an evaluation in the middle.</summary>
    public TaskCompletionSource? Gate { get; set; }

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The same reading at every time.</summary>
    public void Set(string model, string kind, double? value, long sample = 1000) => readings[(model, kind)] = at => new MetricPoint(at, value, sample);

    /// <summary>A reading that depends on the time asked for.</summary>
    public void Set(string model, string kind, Func<DateTime, MetricPoint> reading) => readings[(model, kind)] = reading;

    public async Task<IReadOnlyList<MetricPoint>> SeriesAsync(string model, AlertMetricSpec metric, TimeSpan window, IReadOnlyList<DateTime> times, CancellationToken cancellationToken)
    {
        Calls.Enqueue((model, metric.Kind, window, times));
        if (Gate is { } gate)
        {
            Entered.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (Failing.TryGetValue(metric.Kind, out var error)) throw new InvalidOperationException(error);
        return [.. times.Select(t => readings.TryGetValue((model, metric.Kind), out var read) ? read(t) : new MetricPoint(t, null, 0))];
    }

    public Task<MetricBand?> BandAsync(string model, AlertMetricSpec metric, CancellationToken cancellationToken) =>
        Task.FromResult(Bands.TryGetValue(metric.Kind, out var band) ? band : null);

    public Task<IReadOnlyList<string>> ModelsAsync(AlertMetricSpec metric, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. Models]);
}

/// <summary>A fresh migrated database per test and the lifecycle's parts over it, on a fake clock.</summary>
public sealed class AlertsWorld : IAsyncDisposable
{
    public static readonly DateTime Start = new(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);

    private AlertsWorld(string connectionString)
    {
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
        Hub = new EventHub(NullLogger<EventHub>.Instance);
        Rules = new AlertRuleStore(DataSource, Hub, Time);
        Alerts = new AlertStore(DataSource, Hub, Time);
        Evaluator = NewEvaluator(DataSource);
        Hub.Subscribe<AlertsChanged>(e => Changes.Enqueue(e));
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(Start));

    public EventHub Hub { get; }

    public ScriptedMetricSource Metrics { get; } = new();

    public AlertsOptions Options { get; } = new() { PublicUrl = "https://wb.example" };

    public AlertRuleStore Rules { get; }

    public AlertStore Alerts { get; }

    public AlertEvaluator Evaluator { get; }

    /// <summary>Every AlertsChanged published, in order.</summary>
    public ConcurrentQueue<AlertsChanged> Changes { get; } = new();

    public DateTime Now => Time.GetUtcNow().UtcDateTime;

    /// <summary>The models the tests' rules name: a rule must name a registered model.</summary>
    public static readonly IReadOnlyList<string> RegisteredModels = ["m1", "m2", "m-2"];

    public static async Task<AlertsWorld> CreateAsync()
    {
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        var world = new AlertsWorld(await PostgresServer.CreateDatabaseAsync());
        await world.RegisterModelsAsync([.. RegisteredModels]);
        return world;
    }

    /// <summary>Registers models by name only (no versions): enough for a rule to name them.</summary>
    public async Task RegisterModelsAsync(params string[] names)
    {
        const string sql = """
            INSERT INTO registered_models (id, name, gate, created_by, created_at)
            SELECT gen_random_uuid(), n, @gate::jsonb, 'test', now() FROM unnest(@names) AS n ON CONFLICT DO NOTHING
            """;
        var gate = System.Text.Json.JsonSerializer.Serialize(Core.Registry.GateSettings.Default, Core.Data.DatasetSchema.Json);
        await using var connection = await DataSource.OpenConnectionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, sql, new { names, gate });
    }

    /// <summary>An evaluator as another instance would have: its own data source (connections) and metric source, the same database and clock.</summary>
    public AlertEvaluator NewEvaluator(NpgsqlDataSource dataSource, IAlertMetricSource? metrics = null) =>
        new(dataSource, metrics ?? Metrics, Hub, Time, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<AlertEvaluator>.Instance);

    public void Advance(TimeSpan by) => Time.Advance(by);

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql, parameters) ?? default!;
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return [.. await Dapper.SqlMapper.QueryAsync<T>(connection, sql, parameters)];
    }

    public async ValueTask DisposeAsync() => await DataSource.DisposeAsync();

    /// <summary>A rule on scoring latency p99 of <paramref name="model"/>: above <paramref name="threshold"/>, evaluated every minute.</summary>
    public static AlertRuleSpec Latency(string name, string? model, double threshold = 50, string @for = "0s", string keep = "0s", long minSample = 0, string severity = AlertSeverity.Critical) =>
        new(name, model, new AlertMetricSpec(AlertMetricKind.LatencyP99), new AlertCondition(AlertConditionKind.Above, threshold),
            Window: "5m", MinSample: minSample, EvaluationInterval: "1m", For: @for, KeepFiringFor: keep, Severity: severity);
}

using System.Collections.Concurrent;
using Dapper;
using FraudWorkbench.Core.Alerts;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The delivery services over a test database, as <c>AddAlertDelivery</c> registers them, with options and time of the test's choosing.</summary>
public sealed class DeliveryHarness : IAsyncDisposable
{
    private readonly ServiceProvider provider;

    public DeliveryHarness(DatabaseFixture database, AlertsOptions? options = null, TimeProvider? time = null)
    {
        Options = options ?? new AlertsOptions();
        DataSource = database.DataSource;
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddProvider(new CapturingLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton(database.DataSource);
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton(Hub);
        services.AddSingleton<IOptions<AlertsOptions>>(Microsoft.Extensions.Options.Options.Create(Options));
        services.AddAlertDelivery(background: false);
        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        provider = services.BuildServiceProvider();
    }

    public AlertsOptions Options { get; }

    public NpgsqlDataSource DataSource { get; }

    public EventHub Hub { get; } = new(NullLogger<EventHub>.Instance);

    public ConcurrentQueue<string> Logs { get; } = new();

    public NotificationChannelStore Store => provider.GetRequiredService<NotificationChannelStore>();

    public AlertNotifier Notifier => provider.GetRequiredService<AlertNotifier>();

    public NotificationDispatcher Dispatcher => provider.GetRequiredService<NotificationDispatcher>();

    public WebhookUrlPolicy Policy => provider.GetRequiredService<WebhookUrlPolicy>();

    /// <summary>Empties the delivery tables (tests of a class share a database and each starts clean).</summary>
    public async Task ResetAsync()
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            DELETE FROM notification_deliveries; DELETE FROM notification_groups; DELETE FROM notification_channels;
            DELETE FROM alerts; DELETE FROM alert_silences; DELETE FROM alert_rules;
            """);
    }

    /// <summary>Sends every delivery due now, one at a time, until none is; returns how many were attempted.</summary>
    public async Task<int> DispatchDueAsync()
    {
        var sent = 0;
        while (await Dispatcher.DispatchOnceAsync(CancellationToken.None)) sent++;
        return sent;
    }

    /// <summary>A rule row as the lifecycle work stores it (the spec as camel-case JSON); only its name and channels matter here.</summary>
    public async Task<Guid> InsertRuleAsync(string name, IReadOnlyList<Guid>? channels = null, bool deleted = false)
    {
        var id = Guid.NewGuid();
        var spec = System.Text.Json.JsonSerializer.Serialize(new { name, model = (string?)null, channels = channels ?? [] });
        await using var connection = await DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO alert_rules (id, name, model_name, spec, enabled, created_by, created_at, updated_by, updated_at, deleted_at)
            VALUES (@id, @name, NULL, @spec::jsonb, true, 'test', now(), 'test', now(), CASE WHEN @deleted THEN now() END)
            """, new { id, name, spec, deleted });
        return id;
    }

    /// <summary>An alert episode as the evaluator writes it.</summary>
    public async Task<Guid> InsertAlertAsync(Guid ruleId, string rule, string model, string state, DateTime activeAt, DateTime? firedAt, string severity = AlertSeverity.Critical,
        double? value = 0.62, IReadOnlyDictionary<string, string>? ruleLabels = null, DateTime? resolvedAt = null)
    {
        var id = Guid.NewGuid();
        var labels = AlertLabels.Of(rule, model, severity, ruleLabels);
        var annotations = new Dictionary<string, string>
        {
            ["summary"] = $"{rule} on {model}",
            ["description"] = $"{rule}: drift share of {model} is {AlertTemplate.Number(value)} (threshold 0.5).",
            ["link"] = $"https://workbench.example.com/models/{model}/monitoring",
            ["threshold"] = "0.5",
        };
        await using var connection = await DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO alerts (id, rule_id, rule_name, model_name, fingerprint, state, severity, value, labels, annotations, active_at, fired_at, last_true_at,
                resolved_at, last_evaluated_at)
            VALUES (@id, @ruleId, @rule, @model, @fingerprint, @state, @severity, @value, @labels::jsonb, @annotations::jsonb, @activeAt, @firedAt, @activeAt,
                @resolvedAt, @activeAt)
            """, new
        {
            id, ruleId, rule, model, fingerprint = AlertLabels.Fingerprint(ruleId, model), state, severity, value,
            labels = System.Text.Json.JsonSerializer.Serialize(labels), annotations = System.Text.Json.JsonSerializer.Serialize(annotations), activeAt, firedAt, resolvedAt,
        });
        return id;
    }

    public async Task ResolveAlertAsync(Guid alertId, DateTime at)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE alerts SET state = 'resolved', resolved_at = @at, last_evaluated_at = @at WHERE id = @alertId", new { alertId, at });
    }

    public async Task<IReadOnlyList<(Guid Id, string Status, string AlertStatus, string Payload, int Attempts, string[] Fingerprints, string? LastError, int? LastStatus)>> DeliveryRowsAsync()
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        return [.. await connection.QueryAsync<(Guid, string, string, string, int, string[], string?, int?)>(
            "SELECT id, status, alert_status, payload, attempts, fingerprints, last_error, last_status FROM notification_deliveries ORDER BY created_at, id")];
    }

    public async ValueTask DisposeAsync() => await provider.DisposeAsync();
}

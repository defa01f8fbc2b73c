namespace FraudWorkbench.Core.Alerts;

/// <summary>Alert rules: created, edited, enabled, disabled and deleted, every change audited (STUB: implemented by the lifecycle work).</summary>
public sealed class AlertRuleStore
{
    public Task<IReadOnlyList<AlertRule>> ListAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<AlertRule?> GetAsync(Guid id, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <exception cref="AlertException">400 naming the bad fields; 409 for a name in use.</exception>
    public Task<AlertRule> CreateAsync(AlertRuleSpec spec, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <exception cref="AlertException">400, 404, 409.</exception>
    public Task<AlertRule> UpdateAsync(Guid id, AlertRuleSpec spec, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<AlertRule> SetEnabledAsync(Guid id, bool enabled, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Deletes the rule (its history stays) and resolves its open alerts.</summary>
    public Task DeleteAsync(Guid id, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The default rules for <paramref name="model"/> (dataset drift, estimated recall, p99 latency, label freshness).</summary>
    public static IReadOnlyList<AlertRuleSpec> Defaults(string model) => throw new NotImplementedException();

    /// <summary>Creates those of the default rules the model does not have yet; returns the ones created.</summary>
    public Task<IReadOnlyList<AlertRule>> AddDefaultsAsync(string model, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}

namespace FraudWorkbench.Core.Alerts;

/// <summary>Firing, pending and past alerts, acknowledgements and silences (STUB: implemented by the lifecycle work).</summary>
public sealed class AlertStore
{
    public Task<IReadOnlyList<Alert>> ListAsync(AlertFilter filter, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<Alert?> GetAsync(Guid id, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Open alerts for the bell: firing (silenced ones not counted), of which critical, and pending.</summary>
    public Task<AlertCounts> CountsAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <exception cref="AlertException">400 without a comment, 404, 409 when resolved.</exception>
    public Task<Alert> AcknowledgeAsync(Guid id, string comment, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<IReadOnlyList<Silence>> SilencesAsync(bool includeExpired, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <exception cref="AlertException">400 naming the bad fields.</exception>
    public Task<Silence> CreateSilenceAsync(SilenceSpec spec, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public Task<Silence> ExpireSilenceAsync(Guid id, string actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}

public sealed record AlertCounts(int Firing, int Critical, int Pending);

namespace FraudWorkbench.Core.Alerts;

/// <summary>Evaluates the rules that are due (STUB: implemented by the lifecycle work).</summary>
public sealed class AlertEvaluator
{
    /// <summary>Evaluates every enabled rule due now (all of them with <paramref name="force"/>) for every model it covers.</summary>
    public Task<AlertEvaluationSummary> EvaluateAsync(bool force, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}

/// <param name="Evaluated">Rule × model pairs evaluated.</param>
/// <param name="Changed">Alerts whose state changed.</param>
/// <param name="Skipped">True when another instance holds the evaluation lock.</param>
public sealed record AlertEvaluationSummary(int Evaluated, int Changed, bool Skipped);

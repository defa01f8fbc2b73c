namespace FraudWorkbench.Core.Features;

public sealed class EntityStateOptions
{
    public const string Section = "FraudWorkbench:EntityState";

    /// <summary>
    /// True (the default): a scoring answers once its transaction is in this instance's copy of the entity
    /// histories, and a writer stores the histories behind it, in batches. False: each scoring waits until its
    /// transaction is stored, and a history another instance changed meanwhile is read again and the features
    /// computed again, so features are exact across instances at the cost of a database round trip per scoring.
    /// </summary>
    public bool WriteBehind { get; set; } = true;

    /// <summary>Transactions that may wait in this instance's copy for their write; beyond it scoring answers 503.</summary>
    public int MaxUnwritten { get; set; } = 100_000;
}

namespace FraudWorkbench.Core.Retraining;

/// <summary>The payload of a <c>retraining.step</c> job: the workflow and the step it runs.</summary>
public sealed record RetrainingStepPayload(Guid WorkflowId, string Step);

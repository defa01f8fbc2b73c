using FraudWorkbench.Core.Registry;

namespace FraudWorkbench.Core.Explain;

public sealed class GlobalExplanationJobSubjects(RegistryStore registry)
    : VersionJobSubjects<GlobalExplanationPayload>(registry, GlobalExplanationJobHandler.KindName, "Global explanation", "explanations", p => p.VersionId);

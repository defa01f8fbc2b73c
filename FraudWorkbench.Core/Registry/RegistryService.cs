using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Events;
using FraudWorkbench.Core.Jobs;
using FraudWorkbench.Core.Scoring;
using FraudWorkbench.Core.Training;
using Npgsql;

namespace FraudWorkbench.Core.Registry;

public sealed record ModelValidationPayload(Guid VersionId);

/// <summary>
/// Registration, the validation gate, promotion and rollback. A version reaches production only through a
/// passed (or, by an Admin with a reason, overridden) gate whose champion is still the production version,
/// and only after its artifacts loaded and verified; serving switches once the change is committed.
/// </summary>
public sealed class RegistryService(NpgsqlDataSource dataSource, RegistryStore store, TrainingRunStore runs, ModelServer server, EventHub events, TimeProvider time)
{
    public const int MaxDescriptionLength = 2000;
    public const int MaxNotesLength = 10_000;
    public const int MaxReasonLength = 2000;
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;

    public static bool IsValidName(string? name) =>
        name is { Length: >= 1 and <= 100 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && char.IsAsciiLetterOrDigit(name[0]);

    /// <summary>Registers a succeeded training run as the next version (candidate) of <paramref name="name"/>, creating the model if needed, and queues its gate.</summary>
    public async Task<ModelVersion> RegisterAsync(string name, Guid runId, IReadOnlyList<string>? tags, string? notes, string actor, CancellationToken cancellationToken = default)
    {
        if (!IsValidName(name)) throw new RegistryException("A model name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit.", 400, "name");
        var run = await runs.GetAsync(runId, cancellationToken) ?? throw new RegistryException($"Training run {runId} does not exist.", 400, "runId");
        if (run.Status != JobStatus.Succeeded || run.Result?.Artifacts is null) throw new RegistryException($"Training run {runId} has not succeeded ({run.Status}); only a trained model can be registered.", 400, "runId");
        if (run.Result.Artifacts.Features is null) throw new RegistryException($"Training run {runId} predates stored feature fits; train it again to register it.", 400, "runId");
        var cleanTags = CleanTags(tags);
        CheckText(notes, MaxNotesLength, "notes");

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var model = await store.EnsureModelAsync(transaction, name, actor, cancellationToken);
        var versionId = Guid.CreateVersion7(time.GetUtcNow());
        var job = await JobStore.InsertAsync(transaction, ModelValidationJobHandler.KindName, new ModelValidationPayload(versionId), actor, 2, time, cancellationToken);
        var version = await store.InsertVersionAsync(transaction, model, versionId, runId, cleanTags, notes?.Trim() ?? "", job.Id, actor, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        return version;
    }

    /// <summary>Sets a model's description and validation gate; the page and the API both come through here.</summary>
    public async Task UpdateModelAsync(RegisteredModel model, string? description, GateSettings gate, string actor, CancellationToken cancellationToken = default)
    {
        var issues = gate.Validate().ToList();
        if (StoredText.Problem(description, MaxDescriptionLength, multiline: true) is { } problem) issues.Add(("description", problem));
        if (issues.Count > 0) throw RegistryException.Invalid(issues);
        await store.UpdateModelAsync(model.Id, description?.Trim() ?? model.Description, gate, actor, cancellationToken);
    }

    /// <summary>Replaces a version's tags and notes (null keeps what it has).</summary>
    public async Task UpdateVersionAsync(ModelVersion version, IReadOnlyList<string>? tags, string? notes, string actor, CancellationToken cancellationToken = default)
    {
        var cleanTags = CleanTags(tags ?? version.Tags);
        CheckText(notes, MaxNotesLength, "notes");
        await store.UpdateVersionAsync(version, cleanTags, notes?.Trim() ?? version.Notes, actor, cancellationToken);
    }

    /// <summary>Evaluates the gate again (for example after the production version changed).</summary>
    public async Task<ModelVersion> RevalidateAsync(ModelVersion version, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var job = await JobStore.InsertAsync(transaction, ModelValidationJobHandler.KindName, new ModelValidationPayload(version.Id), actor, 2, time, cancellationToken);
        await store.SetGatePendingAsync(transaction, version.Id, job.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync(JobChanged.From(job), CancellationToken.None);
        await events.PublishAsync(new ModelGateChanged(version.RegisteredModelId, version.Id, GateStatus.Pending), CancellationToken.None);
        return (await store.GetVersionAsync(version.Id, cancellationToken))!;
    }

    public async Task OverrideGateAsync(ModelVersion version, string reason, string actor, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Trim().Length < 10) throw new RegistryException("Overriding a failed gate needs a written reason (at least 10 characters).", 400, "reason");
        CheckText(reason, MaxReasonLength, "reason");
        await store.OverrideGateAsync(version, reason.Trim(), actor, cancellationToken);
        await events.PublishAsync(new ModelGateChanged(version.RegisteredModelId, version.Id, GateStatus.Overridden), CancellationToken.None);
    }

    /// <summary>Moves a version to a stage. Production needs the gate and verified artifacts; it replaces the current production version.</summary>
    public async Task<ModelVersion> PromoteAsync(ModelVersion version, string stage, string? reason, string actor, CancellationToken cancellationToken = default)
    {
        if (!ModelStage.All.Contains(stage)) throw new RegistryException($"'{stage}' is not one of {string.Join(", ", ModelStage.All)}.", 400, "stage");
        CheckText(reason, MaxReasonLength, "reason");
        if (version.Stage == stage) throw new RegistryException($"Version {version.Version} is already {stage}.");
        ServingModel? serving = null;
        if (stage == ModelStage.Production)
        {
            if (!GateStatus.AllowsProduction(version.GateStatus))
            {
                throw new RegistryException(version.GateStatus == GateStatus.Pending
                    ? $"Version {version.Version}'s validation gate is still running."
                    : $"Version {version.Version} did not pass its validation gate ({version.GateStatus}); an Admin may override it with a written reason.");
            }

            var current = await store.GetProductionAsync(version.ModelName, cancellationToken);
            if (version.GateStatus == GateStatus.Passed && version.GateResult?.ChampionVersionId != current?.Id)
            {
                throw new RegistryException($"The gate compared version {version.Version} with {(version.GateResult?.ChampionVersion is int v ? $"version {v}" : "no production version")}, "
                    + $"but production is now {(current is null ? "empty" : $"version {current.Version}")}; run the gate again.");
            }

            serving = await PrepareAsync(version, cancellationToken);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await store.ChangeStageAsync(transaction, version, stage, actor, reason, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        if (serving is not null) server.Activate(serving);
        await events.PublishAsync(new ModelStageChanged(version.RegisteredModelId, version.ModelName, version.Id, version.Version, stage), CancellationToken.None);
        return (await store.GetVersionAsync(version.Id, cancellationToken))!;
    }

    /// <summary>Returns production to the version that held it before the current one.</summary>
    public async Task<ModelVersion> RollbackAsync(RegisteredModel model, string? reason, string actor, CancellationToken cancellationToken = default)
    {
        CheckText(reason, MaxReasonLength, "reason");
        var current = await store.GetProductionAsync(model.Name, cancellationToken);
        var previous = await store.PreviousProductionAsync(model.Id, current?.Id, cancellationToken)
            ?? throw new RegistryException($"Model '{model.Name}' has no earlier production version to roll back to.");
        var serving = await PrepareAsync(previous, cancellationToken);
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await store.ChangeStageAsync(transaction, previous, ModelStage.Production, actor,
                "rollback" + (current is null ? "" : $" from version {current.Version}") + (string.IsNullOrWhiteSpace(reason) ? "" : ": " + reason.Trim()), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        server.Activate(serving);
        await events.PublishAsync(new ModelStageChanged(model.Id, model.Name, previous.Id, previous.Version, ModelStage.Production), CancellationToken.None);
        return (await store.GetVersionAsync(previous.Id, cancellationToken))!;
    }

    /// <summary>Trimmed, without blanks or repeats; refuses too many, too long or unstorable tags, naming the one.</summary>
    private static List<string> CleanTags(IReadOnlyList<string>? tags)
    {
        tags ??= [];
        for (var i = 0; i < tags.Count; i++) CheckText(tags[i]?.Trim(), MaxTagLength, $"tags[{i}]");
        var clean = tags.Where(t => t is not null).Select(t => t.Trim()).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (clean.Count > MaxTags) throw new RegistryException($"At most {MaxTags} tags of up to {MaxTagLength} characters each.", 400, "tags");
        return clean;
    }

    private static void CheckText(string? text, int maxLength, string field)
    {
        if (StoredText.Problem(text, maxLength, multiline: field is "notes" or "reason") is { } problem) throw new RegistryException(problem, 400, field);
    }

    private async Task<ServingModel> PrepareAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        try
        {
            return await server.PrepareAsync(version, cancellationToken);
        }
        catch (ModelLoadException ex)
        {
            // The load already recorded the incident; what serves now keeps serving.
            throw new RegistryException($"Version {version.Version} cannot be served: {ex.Message} The current production version keeps serving.");
        }
    }
}

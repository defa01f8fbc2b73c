using System.Security.Claims;
using System.Text.Json;
using FraudWorkbench.Core.Accounts;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FraudWorkbench.Api;

public sealed record DatasetColumnResponse(string Name, string Type, string Role);

public sealed record DatasetVersionResponse(
    Guid Id, string Name, int Version, long RowCount, IReadOnlyList<DatasetColumnResponse> Columns, string Checksum,
    string FileName, long SizeBytes, string? PositiveLabel, string CreatedBy, DateTime CreatedAt,
    int? BasedOnVersion = null, SchemaDiff? Changes = null)
{
    public static DatasetVersionResponse From(string name, DatasetVersion v, SchemaDiff? changes = null) => new(
        v.DatasetId, name, v.Version, v.RowCount, [.. v.Schema.Columns.Select(c => new DatasetColumnResponse(c.Name, c.Type, c.Role))],
        v.Checksum, v.FileName, v.SizeBytes, v.Schema.PositiveLabel, v.CreatedBy, v.CreatedAt, v.BasedOnVersion, changes);
}

public sealed record DatasetResponse(Guid Id, string Name, string CreatedBy, DateTime CreatedAt, DateTime? ArchivedAt, IReadOnlyList<DatasetVersionResponse> Versions);

public sealed record DatasetVersionDetail(DatasetVersionResponse Version, DatasetSchema Schema, DatasetProfile Profile, SchemaDiff? Changes = null);

public static class DatasetsApi
{
    private static readonly JsonSerializerOptions StrictSchemaJson = ApiInput.Strict(DatasetSchema.Json);

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/datasets").WithTags("Datasets");
        api.MapPost("/", UploadDataset).WithName("UploadDataset").RequireAuthorization(Policies.Write)
            .DisableRequestTimeout() // a 2 GB upload streams for minutes
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute()) // the ingestor enforces the configured limit while streaming
            .WithSummary("Uploads a CSV as a new version of the named dataset (multipart fields 'file', 'name', optional 'schema' JSON).");
        api.MapPost("/{id}/versions", UploadDatasetVersion).WithName("UploadDatasetVersion").RequireAuthorization(Policies.Write)
            .DisableRequestTimeout()
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute())
            .WithSummary("Uploads a CSV as the next version of this dataset (multipart fields 'file', optional 'schema' JSON); the previous version's roles carry over and the response says what changed.");
        api.MapPost("/{id}/versions/{version}/schema", ReviseDatasetVersion).WithName("ReviseDatasetVersion").RequireAuthorization(Policies.Write)
            .DisableRequestTimeout()
            .WithSummary("Corrects column roles, types or the positive label of a version: makes the dataset's next version from the same stored file, profiled again.");
        api.MapPost("/{id}/restore", RestoreDataset).WithName("RestoreDataset").RequireAuthorization(Policies.Write)
            .WithSummary("Restores an archived dataset.");
        api.MapGet("/", ListDatasets).WithName("ListDatasets");
        api.MapGet("/{id}", GetDataset).WithName("GetDataset");
        api.MapGet("/{id}/versions/{version}", GetDatasetVersion).WithName("GetDatasetVersion")
            .WithSummary("A version's schema, roles and profile.");
        api.MapDelete("/{id}", ArchiveDataset).WithName("ArchiveDataset").RequireAuthorization(Policies.Write)
            .WithSummary("Archives (soft-deletes) a dataset; its versions stay readable for lineage.");
        return app;
    }

    public static Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult>> UploadDataset(
        HttpRequest request, DatasetIngestor ingestor, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        UploadAsync(request, null, ingestor, user, cancellationToken);

    public static Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult>> UploadDatasetVersion(
        Guid id, HttpRequest request, DatasetIngestor ingestor, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        UploadAsync(request, id, ingestor, user, cancellationToken);

    public static async Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult>> ReviseDatasetVersion(
        Guid id, int version, HttpRequest request, DatasetIngestor ingestor, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        SchemaOverrides overrides;
        try
        {
            overrides = await JsonSerializer.DeserializeAsync<SchemaOverrides>(request.Body, StrictSchemaJson, cancellationToken) ?? SchemaOverrides.None;
        }
        catch (JsonException ex)
        {
            var (title, field, message) = ApiInput.Explain(ex, typeof(SchemaOverrides), StrictSchemaJson, "schema");
            return JobsApi.Invalid(title, [(field, message)]);
        }

        if ((overrides.Columns?.Count ?? 0) == 0 && overrides.PositiveLabel is null)
            return Problem(400, "Nothing to change", "Give 'columns' with a type and/or role per column name, or a 'positiveLabel'.", "columns");
        try
        {
            var result = await ingestor.ReviseAsync(id, version, overrides, WorkbenchClaims.Actor(user), cancellationToken: cancellationToken);
            return Written(result);
        }
        catch (DatasetValidationException ex)
        {
            return Refused(ex, "The schema change was refused");
        }
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RestoreDataset(Guid id, DatasetStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await store.RestoreAsync(id, WorkbenchClaims.Actor(user), cancellationToken) is not null) return TypedResults.NoContent();
        return await store.GetAsync(id, cancellationToken) is null
            ? Problem(404, "Dataset not found", $"No dataset has the id {id}.", "id")
            : Problem(409, "Not archived", "The dataset is not archived.", "id");
    }

    private static Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult> Written(IngestResult result)
    {
        var body = DatasetVersionResponse.From(result.Dataset.Name, result.Version, result.Diff);
        return result.Created ? TypedResults.Created($"/api/v1/datasets/{result.Dataset.Id}/versions/{result.Version.Version}", body) : TypedResults.Ok(body);
    }

    private static ProblemHttpResult Refused(DatasetValidationException ex, string title)
    {
        var status = ex.TooLarge ? StatusCodes.Status413PayloadTooLarge : (ex.Field == "id" && ex.Message.StartsWith("No dataset", StringComparison.Ordinal)) || (ex.Field == "version" && ex.Message.Contains("has no version", StringComparison.Ordinal)) ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest;
        var extensions = new Dictionary<string, object?>
        {
            ["field"] = ex.Field,
            ["errors"] = ex.Examples.Select(e => new { row = e.Row, line = e.Line, column = e.Column, value = e.Value, message = e.Message, text = e.ToString() }).ToList(),
        };
        if (ex.Column is not null) extensions["column"] = ex.Column;
        return TypedResults.Problem(ex.Message, statusCode: status, title: title, extensions: extensions);
    }

    private static async Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult>> UploadAsync(
        HttpRequest request, Guid? datasetId, DatasetIngestor ingestor, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return Problem(400, "Expected multipart/form-data", "Send the CSV as multipart/form-data with the fields 'file' and 'name'.", "file");
        }

        // Stream the parts: the file goes straight to the staging folder, never whole into memory.
        var reader = new MultipartReader(boundary, request.Body);
        string? name = null;
        string? schemaJson = null;
        StagedUpload? staged = null;
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                var field = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (field == "file" && staged is null)
                {
                    var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName.HasValue ? disposition.FileName : disposition.FileNameStar).Value ?? "upload.csv";
                    staged = await ingestor.StageAsync(section.Body, fileName, cancellationToken: cancellationToken);
                }
                else if ((field == "name" && datasetId is null) || field == "schema")
                {
                    using var text = new StreamReader(section.Body);
                    var value = await ReadLimitedAsync(text, 1 << 20, field, cancellationToken);
                    if (field == "name") name = value; else schemaJson = value;
                }
                else
                {
                    // Ignored, a misspelt 'schema' would upload with the inferred schema and say nothing.
                    return Problem(400, "Unknown field", $"The upload has no field '{field}' (or a second '{field}'); send one 'file', a 'name' and optionally 'schema'.", field ?? "file");
                }
            }

            if (staged is null) return Problem(400, "No file", "The multipart field 'file' is missing.", "file");
            var overrides = SchemaOverrides.None;
            if (!string.IsNullOrWhiteSpace(schemaJson))
            {
                try
                {
                    overrides = JsonSerializer.Deserialize<SchemaOverrides>(schemaJson, StrictSchemaJson) ?? SchemaOverrides.None;
                }
                catch (JsonException ex)
                {
                    var (title, field, message) = ApiInput.Explain(ex, typeof(SchemaOverrides), StrictSchemaJson, "schema");
                    return JobsApi.Invalid(title, [(field, message)]);
                }
            }

            var result = datasetId is Guid id
                ? await ingestor.AddVersionAsync(id, staged, overrides, WorkbenchClaims.Actor(user), cancellationToken: cancellationToken)
                : await ingestor.IngestAsync(staged, name ?? "", overrides, WorkbenchClaims.Actor(user), cancellationToken: cancellationToken);
            staged = null; // ingested: the ingestor removed the staged file
            return Written(result);
        }
        catch (DatasetValidationException ex)
        {
            return Refused(ex, "The upload was refused");
        }
        catch (IOException ex) when (ex is not FileNotFoundException)
        {
            return Problem(400, "Upload interrupted", "The upload ended before it was complete: " + ex.Message, "file");
        }
        finally
        {
            if (staged is not null) ingestor.Discard(staged);
        }
    }

    public static async Task<Ok<IReadOnlyList<DatasetSummary>>> ListDatasets(DatasetStore store, bool? includeArchived, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(includeArchived ?? false, cancellationToken));

    public static async Task<Results<Ok<DatasetResponse>, ProblemHttpResult>> GetDataset(Guid id, DatasetStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } dataset) return Problem(404, "Dataset not found", $"No dataset has the id {id}.", "id");
        var versions = await store.ListVersionsAsync(id, cancellationToken);
        return TypedResults.Ok(new DatasetResponse(dataset.Id, dataset.Name, dataset.CreatedBy, dataset.CreatedAt, dataset.ArchivedAt,
            [.. versions.Select(v => DatasetVersionResponse.From(dataset.Name, v))]));
    }

    public static async Task<Results<Ok<DatasetVersionDetail>, ProblemHttpResult>> GetDatasetVersion(Guid id, int version, DatasetStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } dataset) return Problem(404, "Dataset not found", $"No dataset has the id {id}.", "id");
        if (await store.GetVersionAsync(id, version, cancellationToken) is not { } v) return Problem(404, "Version not found", $"Dataset '{dataset.Name}' has no version {version}.", "version");
        var changes = await store.DiffAsync(v, cancellationToken);
        return TypedResults.Ok(new DatasetVersionDetail(DatasetVersionResponse.From(dataset.Name, v, changes), v.Schema, v.Profile, changes));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> ArchiveDataset(Guid id, DatasetStore store, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        if (await store.ArchiveAsync(id, WorkbenchClaims.Actor(user), cancellationToken) is not null) return TypedResults.NoContent();
        return await store.GetAsync(id, cancellationToken) is null
            ? Problem(404, "Dataset not found", $"No dataset has the id {id}.", "id")
            : Problem(409, "Already archived", "The dataset is already archived.", "id");
    }

    private static async Task<string> ReadLimitedAsync(StreamReader reader, int limit, string field, CancellationToken cancellationToken)
    {
        var buffer = new char[limit + 1];
        var read = await reader.ReadBlockAsync(buffer.AsMemory(), cancellationToken);
        if (read > limit) throw new DatasetValidationException($"The form field '{field}' is larger than 1 MB.", field: field);
        return new string(buffer, 0, read);
    }

    private static ProblemHttpResult Problem(int status, string title, string detail, string field) => JobsApi.Problem(status, title, detail, field);
}

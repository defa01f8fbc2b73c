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
    string FileName, long SizeBytes, string? PositiveLabel, string CreatedBy, DateTime CreatedAt)
{
    public static DatasetVersionResponse From(string name, DatasetVersion v) => new(
        v.DatasetId, name, v.Version, v.RowCount, [.. v.Schema.Columns.Select(c => new DatasetColumnResponse(c.Name, c.Type, c.Role))],
        v.Checksum, v.FileName, v.SizeBytes, v.Schema.PositiveLabel, v.CreatedBy, v.CreatedAt);
}

public sealed record DatasetResponse(Guid Id, string Name, string CreatedBy, DateTime CreatedAt, DateTime? ArchivedAt, IReadOnlyList<DatasetVersionResponse> Versions);

public sealed record DatasetVersionDetail(DatasetVersionResponse Version, DatasetSchema Schema, DatasetProfile Profile);

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
        api.MapGet("/", ListDatasets).WithName("ListDatasets");
        api.MapGet("/{id}", GetDataset).WithName("GetDataset");
        api.MapGet("/{id}/versions/{version}", GetDatasetVersion).WithName("GetDatasetVersion")
            .WithSummary("A version's schema, roles and profile.");
        api.MapDelete("/{id}", ArchiveDataset).WithName("ArchiveDataset").RequireAuthorization(Policies.Write)
            .WithSummary("Archives (soft-deletes) a dataset; its versions stay readable for lineage.");
        return app;
    }

    public static async Task<Results<Created<DatasetVersionResponse>, Ok<DatasetVersionResponse>, ProblemHttpResult>> UploadDataset(
        HttpRequest request, DatasetIngestor ingestor, ClaimsPrincipal user, CancellationToken cancellationToken)
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
                else if (field is "name" or "schema")
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

            var result = await ingestor.IngestAsync(staged, name ?? "", overrides, WorkbenchClaims.Actor(user), cancellationToken: cancellationToken);
            staged = null; // ingested: the ingestor removed the staged file
            var body = DatasetVersionResponse.From(result.Dataset.Name, result.Version);
            return result.Created ? TypedResults.Created($"/api/v1/datasets/{result.Dataset.Id}/versions/{result.Version.Version}", body) : TypedResults.Ok(body);
        }
        catch (DatasetValidationException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: ex.TooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, title: "The upload was refused",
                extensions: new Dictionary<string, object?>
                {
                    ["field"] = ex.Field,
                    ["errors"] = ex.Examples.Select(e => new { row = e.Row, line = e.Line, column = e.Column, value = e.Value, message = e.Message, text = e.ToString() }).ToList(),
                });
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
        return TypedResults.Ok(new DatasetVersionDetail(DatasetVersionResponse.From(dataset.Name, v), v.Schema, v.Profile));
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

using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace FraudWorkbench.Api;

/// <summary>
/// One rule for the input of every endpoint bound by minimal APIs: JSON is read strictly (numbers as JSON
/// numbers, finite; no field the request type does not have; no string PostgreSQL cannot store), and
/// anything the binder refuses (malformed JSON, a wrong type, a number out of range, a bad GUID in the body,
/// route or query) answers a ProblemDetails naming the field, as the hand-parsed scoring API does.
/// Route values are therefore bound, not constrained (<c>{id}</c>, not <c>{id:guid}</c>): a bad GUID in the
/// path is a 400 naming it rather than a 404 that names nothing.
/// </summary>
public static partial class ApiInput
{
    public static IServiceCollection AddApiInputRules(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => Apply(o.SerializerOptions));
        // Without this the binder answers a bare 400 and drops the reason; thrown, the middleware below can name the field.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>Answers a request the binder refused with a ProblemDetails naming the field.</summary>
    public static IApplicationBuilder UseApiInputRules(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
            // The binder sets 415 itself rather than throwing.
            if (context.Response is { StatusCode: StatusCodes.Status415UnsupportedMediaType, HasStarted: false })
                await JobsApi.Invalid("Unsupported media type", [("Content-Type", "Send the body as application/json.")], 415).ExecuteAsync(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var (title, field, message) = Explain(ex, context);
            context.Response.Clear();
            await JobsApi.Invalid(title, [(field, message)], ex.StatusCode).ExecuteAsync(context);
        }
    });

    /// <summary>A copy of <paramref name="options"/> that reads as strictly as the API's bodies (for JSON inside a multipart form).</summary>
    public static JsonSerializerOptions Strict(JsonSerializerOptions options)
    {
        var strict = new JsonSerializerOptions(options);
        Apply(strict);
        return strict;
    }

    private static void Apply(JsonSerializerOptions options)
    {
        // The web default also reads numbers from strings, and with them "NaN" and "Infinity".
        options.NumberHandling = JsonNumberHandling.Strict;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.Converters.Insert(0, new StorableStringConverter());
    }

    /// <summary>The field and the problem of a JSON body of type <paramref name="root"/> that the serializer refused;
    /// <paramref name="prefix"/> names where the JSON came from.</summary>
    public static (string Title, string Field, string Message) Explain(JsonException ex, Type? root, JsonSerializerOptions options, string? prefix = null)
    {
        var path = ex.Path is null or "$" ? "" : ex.Path.StartsWith("$.", StringComparison.Ordinal) ? ex.Path[2..] : ex.Path[1..];
        var message = ex.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];

        if (UnmappedMember().Match(ex.Message) is { Success: true } unmapped)
        {
            // The path may or may not end with the unknown property's own name.
            var name = unmapped.Groups["name"].Value;
            if (!path.EndsWith(name, StringComparison.Ordinal)) path = path.Length == 0 ? name : $"{path}.{name}";
            return ("Unknown field", Join(prefix, path), $"The request has no field '{name}'; check its spelling against the API docs.");
        }

        // The message names the type being read, which for a constructor parameter is the enclosing record: walk the path instead.
        if (ex.Message.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal))
            return ("Wrong type", Join(prefix, path), $"Expected {Expected(root is null ? null : TypeAt(root, path, options))}.");

        return ex.InnerException is JsonException or null && ex.Message.Contains("LineNumber", StringComparison.Ordinal)
            ? ("Malformed JSON", Join(prefix, path), $"The body is not valid JSON: {message}")
            : ("Invalid value", Join(prefix, path), message);
    }

    private static (string Title, string Field, string Message) Explain(BadHttpRequestException ex, HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (ex.InnerException is JsonException json)
        {
            var body = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
            return Explain(json, body, context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
        }

        if (BindFailure().Match(ex.Message) is { Success: true } bind)
        {
            var name = bind.Groups["name"].Value;
            var value = bind.Groups["value"].Value;
            var type = endpoint?.Metadata.GetMetadata<MethodInfo>()?.GetParameters().FirstOrDefault(p => p.Name == name)?.ParameterType;
            return ("Wrong type", name, $"'{(value.Length > 100 ? value[..100] + "…" : value)}' is not {Expected(type)}.");
        }

        if (Missing().Match(ex.Message) is { Success: true } missing)
        {
            return missing.Groups["source"].Value == "body"
                ? ("Missing body", "body", "The request needs a JSON body.")
                : ("Missing value", missing.Groups["name"].Value, $"'{missing.Groups["name"].Value}' is required.");
        }

        return ex.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => ("Body too large", "body", ex.Message),
            _ when ex.Message.Contains("no body was provided", StringComparison.Ordinal) => ("Missing body", "body", "The request needs a JSON body."),
            _ => ("Bad request", "body", ex.Message),
        };
    }

    private static string Join(string? prefix, string path) => prefix is null ? (path.Length == 0 ? "body" : path) : path.Length == 0 ? prefix : $"{prefix}.{path}";

    /// <summary>The .NET type the serializer reads at <paramref name="path"/> (e.g. <c>features[0].imputeValue</c>), or null when the path leaves the contract.</summary>
    private static Type? TypeAt(Type root, string path, JsonSerializerOptions options)
    {
        Type? type = root;
        foreach (Match segment in PathSegment().Matches(path))
        {
            if (type is null) return null;
            var info = options.GetTypeInfo(type);
            type = segment.Groups["index"].Success || info.Kind == JsonTypeInfoKind.Dictionary
                ? info.ElementType
                : info.Properties.FirstOrDefault(p => string.Equals(p.Name, segment.Groups["name"].Value, StringComparison.OrdinalIgnoreCase))?.PropertyType;
        }

        return type;
    }

    /// <summary>What a value of <paramref name="type"/> looks like in JSON or a URL.</summary>
    private static string Expected(Type? type)
    {
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            null => "a value of the documented type",
            _ when type == typeof(string) => "a string",
            _ when type == typeof(Guid) => "a GUID such as \"0190d5e0-8b5c-7c3e-9f1a-2b4c6d8e0f12\"",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a finite number",
            _ when type == typeof(int) => "a whole number from -2147483648 to 2147483647",
            _ when type == typeof(long) => "a whole number",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(DateTime) || type == typeof(DateTimeOffset) => "an ISO 8601 date and time",
            _ when typeof(System.Collections.IDictionary).IsAssignableFrom(type) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)) => "an object",
            _ when typeof(System.Collections.IEnumerable).IsAssignableFrom(type) => "an array",
            _ => "an object",
        };
    }

    [GeneratedRegex("""^The JSON property '(?<name>.*)' could not be mapped to any \.NET member""", RegexOptions.Singleline)]
    private static partial Regex UnmappedMember();

    [GeneratedRegex("""(?<name>[^.\[\]]+)|\[(?<index>\d+)\]""")]
    private static partial Regex PathSegment();

    [GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>[^ "]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    [GeneratedRegex("""^Required parameter "(?<type>.+) (?<name>[^ "]+)" was not provided from (?<source>.+)\.$""", RegexOptions.Singleline)]
    private static partial Regex Missing();

    /// <summary>Refuses, at its place in the body, a string PostgreSQL cannot store (its text and jsonb refuse U+0000).</summary>
    private sealed class StorableStringConverter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Check(reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new JsonException("Expected a string."));

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Check(reader.GetString())!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);

        private static string? Check(string? value) =>
            value is not null && value.Contains('\0') ? throw new JsonException("Contains a NUL character (U+0000), which cannot be stored.") : value;
    }
}

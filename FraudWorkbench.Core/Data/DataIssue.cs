namespace FraudWorkbench.Core.Data;

/// <summary>One bad spot in an uploaded file. Row is the 1-based data row (the header is row 0); Line is the file's line.</summary>
public sealed record DataIssue(long? Row, long? Line, string? Column, string? Value, string Message)
{
    public override string ToString()
    {
        var where = string.Join(", ", new[]
        {
            Row is null ? null : $"row {Row}",
            Line is null ? null : $"line {Line}",
            Column is null ? null : $"column '{Column}'",
        }.Where(s => s is not null));
        var value = Value is null ? "" : $" (value '{(Value.Length > 40 ? Value[..40] + "…" : Value)}')";
        return where.Length == 0 ? Message + value : $"{where}: {Message}{value}";
    }
}

/// <summary>The file cannot become a dataset version. Nothing was stored.</summary>
public sealed class DatasetValidationException(string message, IReadOnlyList<DataIssue>? examples = null, string? field = null, bool tooLarge = false, string? column = null)
    : Exception(message)
{
    /// <summary>The schema column at fault, when the problem is one column's type or role.</summary>
    public string? Column { get; } = column;

    /// <summary>The content went over the size limit (HTTP 413 rather than 400).</summary>
    public bool TooLarge { get; } = tooLarge;

    /// <summary>Up to ten examples, each naming row and column.</summary>
    public IReadOnlyList<DataIssue> Examples { get; } = examples ?? [];

    /// <summary>The request field at fault (<c>file</c>, <c>name</c>, <c>schema</c>).</summary>
    public string Field { get; } = field ?? "file";

    public string Describe() => Examples.Count == 0 ? Message : Message + "\n" + string.Join("\n", Examples.Select(e => "  " + e));
}

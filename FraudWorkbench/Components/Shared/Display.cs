namespace FraudWorkbench.Components.Shared;

/// <summary>How ids and actors read on a page.</summary>
public static class Display
{
    /// <summary>"user:ana@example.com" reads as "ana@example.com"; "system:retention", "cli:ops", "test" stay as they are.</summary>
    public static string Actor(string actor) => actor.StartsWith("user:", StringComparison.Ordinal) ? actor[5..] : actor;

    /// <summary>
    /// Eight hex digits that tell ids apart. Ids are UUIDv7, whose first digits are a timestamp shared by
    /// everything made in the same minute; the last digits are random.
    /// </summary>
    public static string ShortId(Guid id) => id.ToString("N")[^8..];

    /// <inheritdoc cref="ShortId(Guid)"/>
    public static string ShortId(string? id) => id is null ? "—" : Guid.TryParse(id, out var guid) ? ShortId(guid) : id;
}

using PdfSharp.Fonts;

namespace FraudWorkbench.Reports;

/// <summary>The machine has none of the fonts the PDF report embeds.</summary>
public sealed class PdfFontsMissingException(string message) : Exception(message);

/// <summary>
/// PDFsharp embeds the fonts it draws with and, off Windows, finds none by itself: this resolver finds DejaVu Sans (Debian's
/// fonts-dejavu-core, which the charts already measure with) or else Liberation Sans in the usual font folders (the XDG
/// data folders, ~/.fonts, the system's font folder), searched below each one, so no machine's layout is written here.
/// </summary>
public sealed class PdfFonts : IFontResolver
{
    /// <summary>The family the report asks for; whichever font was found answers to it.</summary>
    public const string Family = "Workbench Sans";

    private const string RegularFace = "workbench-sans";
    private const string BoldFace = "workbench-sans-bold";

    private static readonly (string Regular, string Bold)[] Candidates =
        [("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf")];

    private static readonly Lock Gate = new();
    private static readonly Lazy<(string Regular, string Bold)?> Files = new(Find);
    private static bool installed;

    /// <summary>Makes PDFsharp use these fonts (once per process: PDFsharp refuses a second resolver after it has drawn text).</summary>
    /// <exception cref="PdfFontsMissingException">No candidate font is installed.</exception>
    public static void Install()
    {
        if (Files.Value is null)
            throw new PdfFontsMissingException(
                "No font for the PDF report was found: install DejaVu Sans (Debian: apt-get install fonts-dejavu-core) or Liberation Sans (fonts-liberation).");
        lock (Gate)
        {
            if (installed) return;
            GlobalFontSettings.FontResolver = new PdfFonts();
            installed = true;
        }
    }

    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic) =>
        // Any family the report names maps to the one found; italic is slanted by PDFsharp, as only upright faces are looked for.
        new(bold ? BoldFace : RegularFace, false, italic);

    public byte[]? GetFont(string faceName) => Files.Value is { } files ? File.ReadAllBytes(faceName == BoldFace ? files.Bold : files.Regular) : null;

    private static (string Regular, string Bold)? Find()
    {
        var folders = Folders().Where(Directory.Exists).Distinct().ToList();
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive };
        foreach (var (regular, bold) in Candidates)
        {
            var r = folders.Select(f => Directory.EnumerateFiles(f, regular, options).FirstOrDefault()).FirstOrDefault(p => p is not null);
            var b = folders.Select(f => Directory.EnumerateFiles(f, bold, options).FirstOrDefault()).FirstOrDefault(p => p is not null);
            // Without its bold face a family is still better than none: headings then come out regular.
            if (r is not null) return (r, b ?? r);
        }

        return null;
    }

    private static IEnumerable<string> Folders()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } d ? d : Path.Combine(home, ".local", "share");
        yield return Path.Combine(dataHome, "fonts");
        var dataDirs = Environment.GetEnvironmentVariable("XDG_DATA_DIRS") is { Length: > 0 } x ? x : "/usr/local/share:/usr/share";
        foreach (var dir in dataDirs.Split(':', StringSplitOptions.RemoveEmptyEntries)) yield return Path.Combine(dir, "fonts");
        // The XDG defaults again, for an environment whose XDG_DATA_DIRS leaves them out.
        yield return "/usr/local/share/fonts";
        yield return "/usr/share/fonts";
        yield return Path.Combine(home, ".fonts");
        if (Environment.GetFolderPath(Environment.SpecialFolder.Fonts) is { Length: > 0 } system) yield return system;
        yield return "/Library/Fonts";
    }
}

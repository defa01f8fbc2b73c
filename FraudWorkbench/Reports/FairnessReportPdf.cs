using System.Globalization;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace FraudWorkbench.Reports;

/// <summary>
/// The fairness report as a PDF (PDFsharp, MIT) with the same content as <see cref="FairnessReportHtml"/>: the version, the
/// holdout, the reviewer's sign-off, the protected columns and method notes, then per grouping (each column alone and
/// crossed) its chart, every group's metrics with intervals, and the disparities. A4 landscape, so the nine metrics fit
/// side by side as in the HTML table.
/// </summary>
public static class FairnessReportPdf
{
    public static byte[] Render(FairnessReport report, FairnessSignOff? signOff, DateTime exportedAt, string exportedBy)
    {
        PdfFonts.Install();
        using var document = new PdfDocument();
        document.Info.Title = FairnessReportText.Title(report);
        document.Info.Author = exportedBy;
        document.Info.Subject = "Fairness of a model version on its validation holdout";
        document.Info.Creator = "FraudWorkbench";

        var layout = new PdfLayout(document);
        layout.Heading(FairnessReportText.Title(report), 15);
        layout.Paragraph(FairnessReportText.Summary(report, exportedAt, exportedBy));
        layout.Paragraph("Reviewer's sign-off. " + FairnessReportText.SignOff(report, signOff), bold: signOff is not null,
            bar: signOff is null ? PdfLayout.Grey : signOff.Decision == SignOffDecision.Approve ? PdfLayout.Green : PdfLayout.Red);
        layout.Paragraph(FairnessReportText.Columns(report));
        layout.Paragraph(FairnessReportText.Method(report), size: 7.5, color: PdfLayout.Grey);

        foreach (var grouping in report.Groupings)
        {
            // A grouping starts with its chart: on a fresh page when the heading and chart would not fit together.
            layout.Heading(grouping.Name, 11.5, keepWith: 250);
            if (grouping.Bucketed > 0) layout.Paragraph(FairnessReportText.Bucketed(grouping), size: 7.5, color: PdfLayout.Grey);
            if (grouping.FourFifths == true) layout.Paragraph(FairnessReportText.FourFifthsFlag, bar: PdfLayout.Orange);
            layout.Image(Charts.FairnessGroupsPng(grouping, FairnessMetric.SelectionRate, 960, 300), 960, 300);

            // Group, rows, share, fraud, then each metric with its interval on a second line.
            var columns = new List<PdfLayout.Column> { new("Group", 112), new("Rows", 44, true), new("Share", 34, true), new("Fraud", 36, true) };
            var metricWidth = (layout.Width - columns.Sum(c => c.Width)) / FairnessMetric.All.Count;
            columns.AddRange(FairnessMetric.All.Select(m => new PdfLayout.Column(FairnessMetric.Title(m), metricWidth, true)));
            var rows = grouping.Groups.Append(grouping.Overall).Select(group =>
            {
                var overall = ReferenceEquals(group, grouping.Overall);
                string[] cells =
                [
                    (overall ? "All rows" : group.Group) + (group.TooSmall is null ? "" : "\n(too small to judge)"),
                    group.Count.ToString("N0", CultureInfo.InvariantCulture),
                    group.Share.ToString("0.0 %", CultureInfo.InvariantCulture),
                    group.Fraud.ToString("N0", CultureInfo.InvariantCulture),
                    .. FairnessMetric.All.Select(m => FairnessReportText.Value(group.Metrics[m]).Replace(" [", "\n[", StringComparison.Ordinal)),
                ];
                return cells;
            });
            layout.Table(columns, rows, size: 6.5);

            var disparities = new List<PdfLayout.Column>
            {
                new("Disparity", 170), new("Kind", 70), new("Method", 90), new("Value (interval)", 170, true), new("Highest · lowest", layout.Width - 500),
            };
            layout.Table(disparities, grouping.Disparities.Select(d => new[]
            {
                FairnessReportText.Disparity(d), d.Kind, d.Method, FairnessReportText.DisparityValue(d), d.Highest is null ? "" : $"{d.Highest} · {d.Lowest}",
            }), size: 7);
        }

        layout.Paragraph("Produced by FraudWorkbench. A figure is its value, then its interval in brackets.", size: 7.5, color: PdfLayout.Grey);
        layout.Finish(FairnessReportText.Title(report));
        using var stream = new MemoryStream();
        document.Save(stream, false);
        return stream.ToArray();
    }
}

/// <summary>
/// The little layout the report needs on top of PDFsharp's drawing (PDFsharp has no flowing text or tables of its own;
/// MigraDoc would, but is not served here): paragraphs that wrap, images scaled to the width, and tables whose rows
/// wrap their cells and whose header repeats on every page a table runs onto.
/// </summary>
internal sealed class PdfLayout(PdfDocument document)
{
    public static readonly XColor Grey = XColor.FromArgb(0x61, 0x61, 0x61);
    public static readonly XColor Green = XColor.FromArgb(0x2e, 0x7d, 0x32);
    public static readonly XColor Red = XColor.FromArgb(0xc6, 0x28, 0x28);
    public static readonly XColor Orange = XColor.FromArgb(0xef, 0x6c, 0x00);
    private static readonly XColor Ink = XColor.FromArgb(0x21, 0x21, 0x21);
    private static readonly XColor Rule = XColor.FromArgb(0xe0, 0xe0, 0xe0);
    private static readonly XColor Accent = XColor.FromArgb(0x1f, 0x4e, 0x79);

    // A4 landscape in points, with 36 pt (half an inch) margins and room for the footer.
    private const double PageWidth = 842, PageHeight = 595, Margin = 36, Footer = 20;

    private XGraphics? graphics;
    private double y;

    public sealed record Column(string Title, double Width, bool Right = false);

    public double Width => PageWidth - 2 * Margin;

    private XGraphics Graphics => graphics ?? NewPage();

    private double Bottom => PageHeight - Margin - Footer;

    public void Heading(string text, double size, double keepWith = 0)
    {
        var font = Font(size, bold: true);
        var lines = Wrap(text, font, Width);
        var height = lines.Count * size * 1.3 + 6;
        if (graphics is not null && y > Margin) y += size * 0.6;
        Ensure(height + keepWith);
        foreach (var line in lines)
        {
            Graphics.DrawString(line, font, new XSolidBrush(Accent), new XRect(Margin, y, Width, size * 1.3), XStringFormats.TopLeft);
            y += size * 1.3;
        }

        Graphics.DrawLine(new XPen(Accent, 1), Margin, y + 1, Margin + Width, y + 1);
        y += 6;
    }

    /// <summary>Wrapped text; with <paramref name="bar"/> a coloured bar on its left, as the HTML marks flags and the sign-off.</summary>
    public void Paragraph(string text, double size = 8.5, bool bold = false, XColor? color = null, XColor? bar = null)
    {
        var font = Font(size, bold);
        var indent = bar is null ? 0 : 8;
        var lineHeight = size * 1.35;
        foreach (var part in text.Split('\n'))
        {
            var lines = Wrap(part, font, Width - indent);
            for (var i = 0; i < lines.Count; i++)
            {
                Ensure(lineHeight);
                if (bar is { } b) Graphics.DrawRectangle(new XSolidBrush(b), Margin, y, 3, lineHeight);
                Graphics.DrawString(lines[i], font, new XSolidBrush(color ?? Ink), new XRect(Margin + indent, y, Width - indent, lineHeight), XStringFormats.TopLeft);
                y += lineHeight;
            }
        }

        y += size * 0.6;
    }

    /// <summary>A PNG scaled to the text width.</summary>
    public void Image(byte[] png, int pixelWidth, int pixelHeight)
    {
        var height = Width * pixelHeight / pixelWidth;
        Ensure(height);
        using var stream = new MemoryStream(png);
        using var image = XImage.FromStream(stream);
        Graphics.DrawImage(image, new XRect(Margin, y, Width, height));
        y += height + 4;
    }

    public void Table(IReadOnlyList<Column> columns, IEnumerable<string[]> rows, double size)
    {
        var font = Font(size, bold: false);
        var headerFont = Font(size, bold: true);
        var lineHeight = size * 1.3;
        const double pad = 2;

        List<string>[] Lines(IReadOnlyList<string> cells, XFont f) =>
            [.. cells.Select((cell, i) => cell.Split('\n').SelectMany(part => Wrap(part, f, columns[i].Width - 2 * pad)).ToList())];

        double Height(List<string>[] lines) => lines.Max(l => Math.Max(1, l.Count)) * lineHeight + 2 * pad;

        var header = Lines([.. columns.Select(c => c.Title)], headerFont);
        var headerHeight = Height(header);

        void DrawRow(List<string>[] lines, XFont f, double height, bool isHeader)
        {
            var x = Margin;
            if (isHeader) Graphics.DrawRectangle(new XSolidBrush(XColor.FromArgb(0xf5, 0xf5, 0xf5)), Margin, y, Width, height);
            for (var i = 0; i < columns.Count; i++)
            {
                var format = columns[i].Right ? XStringFormats.TopRight : XStringFormats.TopLeft;
                for (var k = 0; k < lines[i].Count; k++)
                    Graphics.DrawString(lines[i][k], f, new XSolidBrush(Ink), new XRect(x + pad, y + pad + k * lineHeight, columns[i].Width - 2 * pad, lineHeight), format);
                x += columns[i].Width;
            }

            y += height;
            Graphics.DrawLine(new XPen(Rule, 0.5), Margin, y, Margin + Width, y);
        }

        var first = true;
        foreach (var row in rows)
        {
            var lines = Lines(row, font);
            var height = Height(lines);
            // The header stays with the first row; a row never splits across pages; the header repeats after a break.
            if (first || y + height > Bottom)
            {
                Ensure(headerHeight + height);
                DrawRow(header, headerFont, headerHeight, isHeader: true);
                first = false;
            }

            DrawRow(lines, font, height, isHeader: false);
        }

        y += 8;
    }

    /// <summary>Closes the last page and writes "title · page n of m" at the foot of every page.</summary>
    public void Finish(string title)
    {
        graphics?.Dispose();
        graphics = null;
        var font = Font(7, bold: false);
        for (var i = 0; i < document.PageCount; i++)
        {
            using var g = XGraphics.FromPdfPage(document.Pages[i], XGraphicsPdfPageOptions.Append);
            g.DrawString(string.Create(CultureInfo.InvariantCulture, $"{title} · page {i + 1} of {document.PageCount}"), font, new XSolidBrush(Grey),
                new XRect(Margin, PageHeight - Margin - 10, Width, 10), XStringFormats.TopRight);
        }
    }

    private void Ensure(double height)
    {
        if (graphics is null || y + height > Bottom) NewPage();
    }

    private XGraphics NewPage()
    {
        graphics?.Dispose();
        var page = document.AddPage();
        page.Width = XUnit.FromPoint(PageWidth);
        page.Height = XUnit.FromPoint(PageHeight);
        graphics = XGraphics.FromPdfPage(page);
        y = Margin;
        return graphics;
    }

    private static XFont Font(double size, bool bold) =>
        new(PdfFonts.Family, size, bold ? XFontStyleEx.Bold : XFontStyleEx.Regular, new XPdfFontOptions(PdfFontEncoding.Unicode));

    /// <summary>Words to lines no wider than <paramref name="width"/>; a word wider than a line is cut where it must be.</summary>
    private List<string> Wrap(string text, XFont font, double width)
    {
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = line.Length == 0 ? word : line + " " + word;
            if (Measure(candidate, font) <= width)
            {
                line = candidate;
                continue;
            }

            if (line.Length > 0) lines.Add(line);
            line = word;
            while (line.Length > 1 && Measure(line, font) > width)
            {
                var cut = line.Length - 1;
                while (cut > 1 && Measure(line[..cut], font) > width) cut--;
                lines.Add(line[..cut]);
                line = line[cut..];
            }
        }

        if (line.Length > 0 || lines.Count == 0) lines.Add(line);
        return lines;
    }

    private double Measure(string text, XFont font) => Graphics.MeasureString(text, font).Width;
}

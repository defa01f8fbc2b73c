using System.Globalization;
using System.Text;
using ScottPlot;

namespace FraudWorkbench.Components.Shared;

/// <summary>
/// Server-side ScottPlot charts rendered to inline SVG (a new Plot per render, as ScottPlot requires). Every chart comes
/// back as a figure: the SVG, optional hover titles on the values people read off, and links to download it as SVG or PNG.
/// </summary>
public static partial class Charts
{
    // Text is measured with a sans font on disk (Debian's fonts-dejavu-core) and drawn by the browser in the UI's
    // stack, with the measuring font as the fallback so the layout holds where the UI's font is missing.
    private const string MeasuringFont = "DejaVu Sans";
    private const string UiFonts = "Roboto, Helvetica, Arial, 'DejaVu Sans', sans-serif";

    private static readonly ScottPlot.Color Bars = ScottPlot.Color.FromHex("#1f4e79");
    private static readonly ScottPlot.Color Fraud = ScottPlot.Color.FromHex("#b23a48");
    private static readonly ScottPlot.Color[] Series = [Bars, Fraud, ScottPlot.Color.FromHex("#2e7d32"), ScottPlot.Color.FromHex("#ef6c00")];

    /// <summary>
    /// Something a reader can point at for its value: a point or a rectangle in the chart's data coordinates (on the
    /// given y axis, the left one by default), titled with the text the browser shows on hover.
    /// </summary>
    public sealed record Hover(string Title, Coordinates? Point = null, CoordinateRect? Rect = null, IYAxis? YAxis = null)
    {
        public static Hover At(double x, double y, string title, IYAxis? yAxis = null) => new(title, new Coordinates(x, y), YAxis: yAxis);

        public static Hover Box(double left, double right, double bottom, double top, string title) => new(title, Rect: new CoordinateRect(left, right, bottom, top));
    }

    /// <summary>
    /// The plot as a figure: inline SVG that scales with its container (a viewBox, so CSS width 100% shrinks or grows the
    /// whole drawing; without one the browser crops it at the container's edge, axis labels and legends first), invisible
    /// shapes carrying <c>&lt;title&gt;</c>s for <paramref name="hovers"/>, and SVG / PNG download links named <paramref name="name"/>.
    /// </summary>
    public static string Svg(Plot plot, int width, int height, string name = "chart", IReadOnlyList<Hover>? hovers = null)
    {
        var svg = DrawSvg(plot, width, height, hovers);
        return Figure(svg, name);
    }

    /// <summary>The bare SVG of <see cref="Svg"/>, without the figure and its download links.</summary>
    public static string DrawSvg(Plot plot, int width, int height, IReadOnlyList<Hover>? hovers = null)
    {
        plot.Font.Set(MeasuringFont);
        plot.Legend.FontName = MeasuringFont;
        var svg = plot.GetSvgXml(width, height);
        // Inline in HTML an XML declaration is junk, and a file without one is still UTF-8 SVG.
        svg = svg[svg.IndexOf("<svg", StringComparison.Ordinal)..];
        svg = SvgRoot().Replace(svg, m => $"{m.Value[..^1]} viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMidYMid meet\">", 1);
        svg = svg.Replace($"font-family=\"{MeasuringFont}\"", $"font-family=\"{UiFonts}\"", StringComparison.Ordinal);
        if (hovers is { Count: > 0 })
        {
            // Pixel positions are only known after the render above laid out the axes.
            var marks = new StringBuilder("<g class=\"fw-hover\">");
            foreach (var hover in hovers) marks.Append(HoverShape(plot, hover));
            marks.Append("</g>");
            var end = svg.LastIndexOf("</svg>", StringComparison.Ordinal);
            svg = svg.Insert(end, marks.ToString());
        }

        return svg;
    }

    /// <summary>
    /// The plot as a PNG with the measuring font (a raster has no browser to substitute the UI's fonts), laid out at
    /// <paramref name="width"/> × <paramref name="height"/> like the SVG and drawn at <paramref name="scale"/> times the pixels, so
    /// text keeps its proportions and stays sharp when a document shrinks the image to its column.
    /// </summary>
    public static byte[] Png(Plot plot, int width, int height, float scale = 2)
    {
        plot.Font.Set(MeasuringFont);
        plot.Legend.FontName = MeasuringFont;
        plot.ScaleFactor = scale;
        return plot.GetImageBytes((int)(width * scale), (int)(height * scale), ImageFormat.Png);
    }

    private static string HoverShape(Plot plot, Hover hover)
    {
        var title = $"<title>{Escape(hover.Title)}</title>";
        var y = hover.YAxis ?? plot.Axes.Left;
        if (hover.Rect is CoordinateRect r)
        {
            var a = plot.GetPixel(new Coordinates(r.Left, r.Bottom), plot.Axes.Bottom, y);
            var b = plot.GetPixel(new Coordinates(r.Right, r.Top), plot.Axes.Bottom, y);
            double left = Math.Min(a.X, b.X), top = Math.Min(a.Y, b.Y), w = Math.Abs(a.X - b.X), h = Math.Abs(a.Y - b.Y);
            return $"<rect x=\"{N(left)}\" y=\"{N(top)}\" width=\"{N(Math.Max(w, 2))}\" height=\"{N(Math.Max(h, 2))}\" fill=\"#000\" fill-opacity=\"0\">{title}</rect>";
        }

        var p = plot.GetPixel(hover.Point ?? default, plot.Axes.Bottom, y);
        return $"<circle cx=\"{N(p.X)}\" cy=\"{N(p.Y)}\" r=\"5\" fill=\"#000\" fill-opacity=\"0\">{title}</circle>";
    }

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>A value for a hover title: three significant decimals for small numbers, thousands separators for large.</summary>
    public static string Value(double value) => Math.Abs(value) >= 1000
        ? value.ToString("#,0", CultureInfo.InvariantCulture)
        : value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    /// <summary>
    /// The SVG inside a figure with its downloads: SVG and PNG buttons that <c>wwwroot/js/fraudworkbench.js</c> answers
    /// from the drawing already on the page (serialised, or drawn on a canvas). A server-made data URI would send
    /// every chart over the circuit twice and a third bigger; a page of fifteen charts felt it.
    /// </summary>
    public static string Figure(string svg, string name)
    {
        var file = FileName(name);
        return $"<figure class=\"fw-figure\" data-chart=\"{Escape(file)}\">{svg}" +
               "<figcaption class=\"fw-chart-actions\">" +
               $"<button type=\"button\" class=\"fw-chart-action\" data-chart-svg=\"{Escape(file)}.svg\" title=\"Download this chart as SVG\">SVG</button>" +
               $"<button type=\"button\" class=\"fw-chart-action\" data-chart-png=\"{Escape(file)}.png\" title=\"Download this chart as PNG\">PNG</button>" +
               "</figcaption></figure>";
    }

    /// <summary>A download name from a chart's name: lower-case letters, digits and dashes.</summary>
    public static string FileName(string name)
    {
        var slug = new StringBuilder();
        foreach (var c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c)) slug.Append(c);
            else if (slug.Length > 0 && slug[^1] != '-') slug.Append('-');
        }

        var text = slug.ToString().Trim('-');
        return text.Length == 0 ? "chart" : text.Length > 60 ? text[..60].TrimEnd('-') : text;
    }

    /// <summary>
    /// A legend above the data area (outside it, so it never covers a curve or bar, and inside the viewBox), laid out in a
    /// row that wraps.
    /// </summary>
    private static void LegendAbove(Plot plot)
    {
        var panel = plot.ShowLegend(Edge.Top);
        // ScottPlot pads an edge legend by 20 px on each side: a fifth of a 260 px chart's height.
        panel.Padding = new PixelPadding(0, 0, 4, 8);
        plot.Legend.Orientation = Orientation.Horizontal;
    }

    [System.Text.RegularExpressions.GeneratedRegex("<svg [^>]*>")]
    private static partial System.Text.RegularExpressions.Regex SvgRoot();

    private static string ShortName(string name, int length = 28) => name.Length > length ? name[..length] + "…" : name;
}

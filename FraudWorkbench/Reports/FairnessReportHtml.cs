using System.Globalization;
using System.Net;
using System.Text;
using FraudWorkbench.Components.Shared;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Reports;

/// <summary>
/// A fairness report as one standalone HTML file for team leads: every group's numbers with their intervals, the
/// disparities and flags, each grouping's chart inline as SVG, and the method notes. Nothing is fetched from anywhere.
/// </summary>
public static class FairnessReportHtml
{
    public static string Render(FairnessReport report, DateTime exportedAt, string exportedBy)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(E($"Fairness report · {report.Model} version {report.Version}")).Append("</title><style>")
            .Append("body{font-family:Roboto,Helvetica,Arial,'DejaVu Sans',sans-serif;max-width:1000px;margin:24px auto;color:#212121;line-height:1.4}")
            .Append("table{border-collapse:collapse;margin:8px 0 16px;width:100%}th,td{border-bottom:1px solid #e0e0e0;padding:4px 6px;text-align:left;font-size:14px}")
            .Append("td.n,th.n{text-align:right}.note{color:#616161;font-size:13px}.flag{background:#fff4e5;padding:8px;border-left:4px solid #ef6c00}")
            .Append("svg{width:100%;height:auto}h2{margin-top:32px;border-bottom:2px solid #1f4e79}</style></head><body>");
        html.Append("<h1>").Append(E($"Fairness report · {report.Model} version {report.Version}")).Append("</h1>");
        html.Append("<p>").Append(E(FormattableString.Invariant(
            $"On the version's validation holdout: {report.Rows:N0} rows, {report.Fraud:N0} fraud, flagged when the score is at or above {report.Threshold:0.####}. Computed {report.ComputedAt:yyyy-MM-dd HH:mm} UTC; exported {exportedAt:yyyy-MM-dd HH:mm} UTC by {exportedBy}.")))
            .Append("</p>");
        html.Append("<p>Protected columns: ").Append(E(string.Join("; ", report.Columns.Select(c => c.Bands is { } b ? $"{c.Name} (bands {string.Join(", ", b)})" : c.Name)))).Append(".</p>");
        html.Append("<p class=\"note\">").Append(E(FormattableString.Invariant(
            $"Metrics and disparities as Fairlearn defines them. Intervals: {report.Settings.Confidence:0 %} percentile bootstrap, {report.Settings.Resamples:N0} resamples, seed {report.Settings.Seed}, each group resampled within itself so it keeps its size. Groups under {report.Settings.MinGroupSize:N0} rows are shown but left out of the disparities; a metric a group cannot have (no fraud for the true positive rate) is left empty.")))
            .Append(" The four-fifths rule (demographic parity ratio under 0.8) is a rule of thumb that is often misapplied: read it with the intervals, the group sizes and the fraud rates.</p>");

        foreach (var grouping in report.Groupings)
        {
            html.Append("<h2>").Append(E(grouping.Name)).Append("</h2>");
            if (grouping.Bucketed > 0)
                html.Append("<p class=\"note\">").Append(E($"The {FairnessGroups.MaxGroups} most frequent values are their own groups; {grouping.Bucketed:N0} others are together as \"{FairnessGroups.Other}\".")).Append("</p>");
            if (grouping.FourFifths == true)
                html.Append("<p class=\"flag\">Demographic parity ratio under 0.8 (four-fifths rule; a rule of thumb, see the note above).</p>");
            html.Append(Charts.FairnessGroups(grouping, FairnessMetric.SelectionRate, figure: false));
            html.Append("<table><thead><tr><th>Group</th><th class=\"n\">Rows</th><th class=\"n\">Share</th><th class=\"n\">Fraud</th>");
            foreach (var metric in FairnessMetric.All) html.Append("<th class=\"n\">").Append(E(FairnessMetric.Title(metric))).Append("</th>");
            html.Append("</tr></thead><tbody>");
            foreach (var group in grouping.Groups.Append(grouping.Overall))
            {
                var overall = ReferenceEquals(group, grouping.Overall);
                html.Append("<tr data-group=\"").Append(E(group.Group)).Append("\"><td>").Append(E(overall ? "All rows" : group.Group))
                    .Append(group.TooSmall is null ? "" : " <span class=\"note\">(too small to judge)</span>").Append("</td>")
                    .Append("<td class=\"n\">").Append(group.Count.ToString("N0", CultureInfo.InvariantCulture)).Append("</td>")
                    .Append("<td class=\"n\">").Append(group.Share.ToString("0.0 %", CultureInfo.InvariantCulture)).Append("</td>")
                    .Append("<td class=\"n\">").Append(group.Fraud.ToString("N0", CultureInfo.InvariantCulture)).Append("</td>");
                foreach (var metric in FairnessMetric.All) html.Append("<td class=\"n\">").Append(E(Value(group.Metrics[metric]))).Append("</td>");
                html.Append("</tr>");
            }

            html.Append("</tbody></table><table><thead><tr><th>Disparity</th><th>Kind</th><th>Method</th><th class=\"n\">Value (interval)</th><th>Highest · lowest</th></tr></thead><tbody>");
            foreach (var d in grouping.Disparities)
            {
                html.Append("<tr><td>").Append(E(d.Name + (d.Aggregation is null ? "" : $" ({d.Aggregation})"))).Append("</td><td>").Append(E(d.Kind)).Append("</td><td>")
                    .Append(E(d.Method)).Append("</td><td class=\"n\">").Append(E(d.Value.Value is null ? "fewer than two groups to compare" : Value(d.Value))).Append("</td><td>")
                    .Append(E(d.Highest is null ? "" : $"{d.Highest} · {d.Lowest}")).Append("</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("<p class=\"note\">Produced by FraudWorkbench. A figure is its value, then its interval in brackets.</p></body></html>");
        return html.ToString();
    }

    private static string Value(FairnessValue value) => value.Value is not { } v ? "—"
        : value.Lower is { } low && value.Upper is { } high
            ? string.Create(CultureInfo.InvariantCulture, $"{v:0.0000} [{low:0.0000}, {high:0.0000}]")
            : v.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

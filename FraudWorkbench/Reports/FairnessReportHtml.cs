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
    public static string Render(FairnessReport report, DateTime exportedAt, string exportedBy, FairnessSignOff? signOff = null)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(E(FairnessReportText.Title(report))).Append("</title><style>")
            .Append("body{font-family:Roboto,Helvetica,Arial,'DejaVu Sans',sans-serif;max-width:1000px;margin:24px auto;color:#212121;line-height:1.4}")
            .Append("table{border-collapse:collapse;margin:8px 0 16px;width:100%}th,td{border-bottom:1px solid #e0e0e0;padding:4px 6px;text-align:left;font-size:14px}")
            .Append("td.n,th.n{text-align:right}.note{color:#616161;font-size:13px}.flag{background:#fff4e5;padding:8px;border-left:4px solid #ef6c00}")
            .Append(".signoff{padding:8px;border-left:4px solid #9e9e9e}.signoff.approve{border-color:#2e7d32}.signoff.reject{border-color:#c62828}")
            .Append("svg{width:100%;height:auto}h2{margin-top:32px;border-bottom:2px solid #1f4e79}</style></head><body>");
        html.Append("<h1>").Append(E(FairnessReportText.Title(report))).Append("</h1>");
        html.Append("<p>").Append(E(FairnessReportText.Summary(report, exportedAt, exportedBy))).Append("</p>");
        html.Append("<p class=\"signoff").Append(signOff is null ? "" : " " + signOff.Decision).Append("\" data-signoff=\"").Append(signOff?.Decision ?? "none")
            .Append("\"><b>Reviewer's sign-off.</b> ").Append(E(FairnessReportText.SignOff(report, signOff))).Append("</p>");
        html.Append("<p>").Append(E(FairnessReportText.Columns(report))).Append("</p>");
        html.Append("<p class=\"note\">").Append(E(FairnessReportText.Method(report))).Append("</p>");

        foreach (var grouping in report.Groupings)
        {
            html.Append("<h2>").Append(E(grouping.Name)).Append("</h2>");
            if (grouping.Bucketed > 0)
                html.Append("<p class=\"note\">").Append(E(FairnessReportText.Bucketed(grouping))).Append("</p>");
            if (grouping.FourFifths == true)
                html.Append("<p class=\"flag\">").Append(E(FairnessReportText.FourFifthsFlag)).Append("</p>");
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
                foreach (var metric in FairnessMetric.All) html.Append("<td class=\"n\">").Append(E(FairnessReportText.Value(group.Metrics[metric]))).Append("</td>");
                html.Append("</tr>");
            }

            html.Append("</tbody></table><table><thead><tr><th>Disparity</th><th>Kind</th><th>Method</th><th class=\"n\">Value (interval)</th><th>Highest · lowest</th></tr></thead><tbody>");
            foreach (var d in grouping.Disparities)
            {
                html.Append("<tr><td>").Append(E(FairnessReportText.Disparity(d))).Append("</td><td>").Append(E(d.Kind)).Append("</td><td>")
                    .Append(E(d.Method)).Append("</td><td class=\"n\">").Append(E(FairnessReportText.DisparityValue(d))).Append("</td><td>")
                    .Append(E(d.Highest is null ? "" : $"{d.Highest} · {d.Lowest}")).Append("</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        html.Append("<p class=\"note\">Produced by FraudWorkbench. A figure is its value, then its interval in brackets.</p></body></html>");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

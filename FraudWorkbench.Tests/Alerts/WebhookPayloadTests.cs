using System.Text.Json;
using FraudWorkbench.Core.Alerts;

namespace FraudWorkbench.Tests.Alerts;

/// <summary>The webhook bodies (Alertmanager v4, Slack) and their signature, checked field by field.</summary>
public sealed class WebhookPayloadTests
{
    private static readonly DateTime Fired = new(2026, 12, 7, 9, 30, 0, DateTimeKind.Utc);

    private static NotificationAlert Alert(string status, string model, double? value, DateTime? ended = null, string severity = AlertSeverity.Critical) =>
        new(status, AlertLabels.Of("Dataset drift", model, severity, new Dictionary<string, string> { ["team"] = "risk" }),
            new Dictionary<string, string> { ["summary"] = $"Drift on {model}", ["link"] = $"https://wb.example.com/models/{model}" },
            Fired, ended, "https://wb.example.com/alerts", $"fp-{model}", "Dataset drift", model, severity, value);

    private static NotificationMessage Message(params NotificationAlert[] alerts) =>
        new("ops-webhook", alerts.Any(a => a.Status == AlertState.Firing) ? AlertState.Firing : AlertState.Resolved,
            AlertNotifier.GroupKey("Dataset drift", "card-fraud"),
            new SortedDictionary<string, string> { ["alertname"] = "Dataset drift", ["model"] = "card-fraud" }, alerts, "https://wb.example.com");

    [Fact]
    public void Alertmanager_FiringAndResolved_Version4FieldsAsAlertmanagerWritesThem()
    {
        var message = Message(Alert(AlertState.Firing, "card-fraud", 0.62), Alert(AlertState.Resolved, "card-fraud-b", 0.31, Fired.AddMinutes(90).AddMilliseconds(250)));

        var body = JsonDocument.Parse(AlertPayloads.Alertmanager(message)).RootElement;

        Assert.Equal(
            ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"],
            body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("4", body.GetProperty("version").GetString());
        Assert.Equal("{}:{alertname=\"Dataset drift\", model=\"card-fraud\"}", body.GetProperty("groupKey").GetString());
        Assert.Equal(0, body.GetProperty("truncatedAlerts").GetInt32());
        Assert.Equal("firing", body.GetProperty("status").GetString());
        Assert.Equal("ops-webhook", body.GetProperty("receiver").GetString());
        Assert.Equal("https://wb.example.com", body.GetProperty("externalURL").GetString());
        // Common: what both alerts share (alertname, severity, team), not the model nor the summary.
        Assert.Equal("""{"alertname":"Dataset drift","severity":"critical","team":"risk"}""", body.GetProperty("commonLabels").GetRawText());
        Assert.Equal("{}", body.GetProperty("commonAnnotations").GetRawText());
        var alerts = body.GetProperty("alerts");
        Assert.Equal(2, alerts.GetArrayLength());
        var firing = alerts[0];
        Assert.Equal(["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"], firing.EnumerateObject().Select(p => p.Name));
        Assert.Equal("firing", firing.GetProperty("status").GetString());
        Assert.Equal("""{"alertname":"Dataset drift","model":"card-fraud","severity":"critical","team":"risk"}""", firing.GetProperty("labels").GetRawText());
        Assert.Equal("2026-12-07T09:30:00Z", firing.GetProperty("startsAt").GetString());
        Assert.Equal("0001-01-01T00:00:00Z", firing.GetProperty("endsAt").GetString());
        Assert.Equal("https://wb.example.com/alerts", firing.GetProperty("generatorURL").GetString());
        Assert.Equal("fp-card-fraud", firing.GetProperty("fingerprint").GetString());
        Assert.Equal("resolved", alerts[1].GetProperty("status").GetString());
        Assert.Equal("2026-12-07T11:00:00.25Z", alerts[1].GetProperty("endsAt").GetString());
        Assert.Equal(new DateTime(2026, 12, 7, 11, 0, 0, 250, DateTimeKind.Utc), alerts[1].GetProperty("endsAt").GetDateTime().ToUniversalTime());
    }

    [Fact]
    public void Alertmanager_MoreThanTheLimit_TruncatedAndCounted()
    {
        var many = Enumerable.Range(0, AlertPayloads.MaxAlerts + 7).Select(i => Alert(AlertState.Firing, $"m{i}", i)).ToArray();

        var body = JsonDocument.Parse(AlertPayloads.Alertmanager(Message(many))).RootElement;

        Assert.Equal(AlertPayloads.MaxAlerts, body.GetProperty("alerts").GetArrayLength());
        Assert.Equal(7, body.GetProperty("truncatedAlerts").GetInt32());
    }

    [Fact]
    public void Slack_FiringCritical_TextBlocksAndSeverityColour()
    {
        var message = Message(Alert(AlertState.Firing, "card-fraud", 0.62), Alert(AlertState.Firing, "card-fraud", 0.4, severity: AlertSeverity.Warning),
            Alert(AlertState.Resolved, "card-<b>", null, Fired.AddHours(1)));

        var body = JsonDocument.Parse(AlertPayloads.Slack(message)).RootElement;

        Assert.Equal("[FIRING:2] Dataset drift · card-fraud", body.GetProperty("text").GetString());
        Assert.Equal("*[FIRING:2] Dataset drift · card-fraud*", body.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString());
        var attachments = body.GetProperty("attachments");
        Assert.Equal(["#d32f2f", "#f9a825", "#2e7d32"], attachments.EnumerateArray().Select(a => a.GetProperty("color").GetString()));
        var section = attachments[0].GetProperty("blocks")[0];
        Assert.Equal("*Firing: Dataset drift* · card-fraud\nDrift on card-fraud", section.GetProperty("text").GetProperty("text").GetString());
        Assert.Equal(["*Model*\ncard-fraud", "*Severity*\ncritical", "*Value*\n0.62", "*Since*\n2026-12-07T09:30:00Z"],
            section.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()));
        Assert.Equal("<https://wb.example.com/models/card-fraud|Open in FraudWorkbench>",
            attachments[0].GetProperty("blocks")[1].GetProperty("elements")[0].GetProperty("text").GetString());
        // Slack's mrkdwn control characters are escaped; a missing value says so.
        var resolved = attachments[2].GetProperty("blocks")[0];
        Assert.StartsWith("*Resolved: Dataset drift* · card-&lt;b&gt;", resolved.GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("*Value*\nno value", resolved.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()));
    }

    [Fact]
    public void Slack_RuleNamedLikeAMention_TopLevelTextEscapedSoNobodyIsPinged()
    {
        var message = Message(Alert(AlertState.Firing, "card-fraud", 0.62)) with
        {
            GroupLabels = new SortedDictionary<string, string> { ["alertname"] = "<!channel> drift", ["model"] = "card-fraud" },
        };

        var text = JsonDocument.Parse(AlertPayloads.Slack(message)).RootElement.GetProperty("text").GetString();

        Assert.Equal("[FIRING:1] &lt;!channel&gt; drift · card-fraud", text);
    }

    [Fact]
    public void Title_ResolvedAndTest_AsAlertmanagerNamesThem()
    {
        Assert.Equal("[RESOLVED] Dataset drift · card-fraud", Message(Alert(AlertState.Resolved, "card-fraud", 0.1, Fired)).Title);
        Assert.Equal("[TEST] [FIRING:1] Test notification", NotificationChannelStore.TestMessage("ops", Fired, new AlertsOptions()).Title);
    }

    [Fact]
    public void Title_GroupOfSeveralModelsOrRules_SaysHowMany()
    {
        var byRule = Message(Alert(AlertState.Firing, "card-fraud", 0.62), Alert(AlertState.Firing, "loan-default", 0.7)) with
        {
            GroupLabels = new SortedDictionary<string, string> { ["alertname"] = "Dataset drift" },
        };
        var latency = Alert(AlertState.Firing, "card-fraud", 81) with { Rule = "Scoring latency", Labels = AlertLabels.Of("Scoring latency", "card-fraud", AlertSeverity.Critical, null) };
        var byModel = Message(Alert(AlertState.Firing, "card-fraud", 0.62), latency) with
        {
            GroupLabels = new SortedDictionary<string, string> { ["model"] = "card-fraud" },
        };
        var oneGroup = Message(Alert(AlertState.Firing, "card-fraud", 0.62), Alert(AlertState.Resolved, "card-fraud", 0.1, Fired)) with { GroupLabels = new Dictionary<string, string>() };

        Assert.Equal("[FIRING:2] Dataset drift · 2 models", byRule.Title);
        Assert.Equal("[FIRING:2] 2 rules · card-fraud", byModel.Title);
        // Not grouped by anything: what the alerts share still names them.
        Assert.Equal("[FIRING:1] Dataset drift · card-fraud", oneGroup.Title);
    }

    [Fact]
    public void GroupKey_LabelsSortedAndQuotedAsAlertmanager()
    {
        Assert.Equal("{}:{}", AlertGrouping.Key(new Dictionary<string, string>()));
        Assert.Equal("{}:{alertname=\"Dataset drift\", team=\"a\\\\b \\\"c\\\"\"}",
            AlertGrouping.Key(new Dictionary<string, string> { ["team"] = "a\\b \"c\"", ["alertname"] = "Dataset drift" }));
    }

    [Fact]
    public void GroupLabels_ListedLabelsTheAlertHas_OrEveryLabel()
    {
        var labels = AlertLabels.Of("Dataset drift", "card-fraud", AlertSeverity.Warning, new Dictionary<string, string> { ["team"] = "risk", ["empty"] = "" });

        Assert.Equal(["alertname"], AlertGrouping.Labels(AlertGrouping.Default, labels).Keys);
        Assert.Equal(["model", "team"], AlertGrouping.Labels(["team", "model", "missing", "empty"], labels).Keys);
        Assert.Equal(["alertname", "model", "severity", "team"], AlertGrouping.Labels(["..."], labels).Keys);
        Assert.Empty(AlertGrouping.Labels([], labels));
    }

    [Theory]
    // Expected values computed independently with Python's hmac module: hmac.new(secret, f"{ts}.{body}".encode(), sha256).hexdigest().
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1765100000L, """{"version":"4","status":"firing"}""",
        "sha256=0e087db18e566031875cc0b7500ac39cbd4c1151b8aa9aa0248370ac58df8503")]
    [InlineData("kéy", 1L, """{"a":"café"}""", "sha256=13624d4a685386f9591c4aac6f0c8b686f2e3684732f992f8c15980120e9d48b")]
    public void Sign_KnownVectors_MatchAnIndependentHmac(string secret, long timestamp, string body, string expected)
    {
        Assert.Equal(expected, WebhookSigner.Sign(secret, timestamp, body));
        Assert.True(WebhookSigner.Verify(secret, timestamp, body, expected));
        Assert.False(WebhookSigner.Verify(secret, timestamp + 1, body, expected));
        Assert.False(WebhookSigner.Verify(secret, timestamp, body + " ", expected));
    }

    [Fact]
    public void NewSecret_32RandomBytes_EachOneDifferent()
    {
        var secrets = Enumerable.Range(0, 50).Select(_ => WebhookSigner.NewSecret()).ToList();

        Assert.All(secrets, s => Assert.Matches("^[0-9a-f]{64}$", s));
        Assert.Equal(50, secrets.Distinct().Count());
    }
}

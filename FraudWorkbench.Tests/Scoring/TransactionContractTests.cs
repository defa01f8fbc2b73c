using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;
using FraudWorkbench.Core.Scoring;

namespace FraudWorkbench.Tests.Scoring;

public sealed class TransactionContractTests
{
    private static readonly DatasetSchema Schema = new(',',
    [
        new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso),
        new DatasetColumn("customer_id", ColumnType.Categorical, ColumnRole.EntityKey),
        new DatasetColumn("merchant", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("channel", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("flag", ColumnType.Boolean, ColumnRole.Feature),
        new DatasetColumn("note", ColumnType.Text, ColumnRole.Feature),
        new DatasetColumn("is_fraud", ColumnType.Boolean, ColumnRole.Label),
    ], "1");

    private static readonly string?[][] Rows =
    [
        ["2026-01-01T10:00:00Z", "c1", "shoes", "web", "Yes", "x", "1"],
        ["2026-01-01T11:00:00Z", "c2", "shoes", "web", "No", "x", "0"],
        ["2026-01-01T12:00:00Z", "c1", "books", "app", "No", "x", "0"],
    ];

    private static readonly FittedFeatureSet Fitted = FeatureSetFitter.Fit(new FeatureSetDefinition(
    [
        new FeatureSpec(FeatureKind.OneHot, Column: "merchant", TopK: 1),
        new FeatureSpec(FeatureKind.Frequency, Column: "channel"),
        new FeatureSpec(FeatureKind.TargetEncoding, Column: "channel"),
        new FeatureSpec(FeatureKind.OneHot, Column: "flag"),
        new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["1h"]),
    ]), Schema, Rows);

    /// <summary>The training profile: every merchant counted ('books' is rare: outside the one-hot's top 1).</summary>
    private static readonly DatasetProfile Profile = new(3,
    [
        new ColumnProfile("merchant", ColumnType.Categorical, ColumnRole.Feature, 0, 0, 2, false, null, null, [new CategoryCount("shoes", 2, 1, 2), new CategoryCount("books", 1, 0, 1)], null),
        new ColumnProfile("flag", ColumnType.Boolean, ColumnRole.Feature, 0, 0, 2, false, null, null, [new CategoryCount("false", 2, 0, 2), new CategoryCount("true", 1, 1, 1)], null),
    ], null, null, 3);

    private static readonly TransactionContract Contract = new(Fitted, Profile);

    private static string?[]? Parse(string members, List<InputIssue> issues, TransactionContract? contract = null)
    {
        var valid = new Dictionary<string, string>
        {
            ["event_time"] = "\"2026-02-01T09:00:00Z\"", ["customer_id"] = "\"c1\"", ["merchant"] = "\"shoes\"", ["channel"] = "\"web\"", ["flag"] = "true",
        };
        using var changes = JsonDocument.Parse("{" + members + "}");
        foreach (var change in changes.RootElement.EnumerateObject()) valid[change.Name] = change.Value.GetRawText();
        using var document = JsonDocument.Parse("{" + string.Join(",", valid.Select(kv => $"\"{kv.Key}\":{kv.Value}")) + "}");
        return (contract ?? Contract).Parse(document.RootElement, "transaction.", issues);
    }

    [Fact]
    public void Parse_CategoriesTrainingNeverSaw_ScoredAndNamedWithHowTheyWereScored()
    {
        var issues = new List<InputIssue>();

        var row = Parse("\"merchant\": \"crypto\", \"channel\": \" phone \"", issues);

        Assert.Empty(issues);
        Assert.Equal(
        [
            new UnseenValue("merchant", "crypto", "not seen in training; scored as 'other'"),
            new UnseenValue("channel", "phone", "not seen in training; scored as frequency 0, weight of evidence 0 (the training prior)"),
        ], Contract.Unseen(row!));
        // Scored as the warnings say: 'other', frequency 0, weight of evidence 0.
        var features = new float[Fitted.SlotCount];
        new Featurizer(Fitted).ComputeRowFeatures(row!, features);
        Assert.Equal(["merchant=shoes", "merchant=(other)", "channel__freq", "channel__woe"], Fitted.SlotNames.Take(4));
        Assert.Equal([0, 1, 0, 0], features[..4]);
    }

    [Fact]
    public void Unseen_RareKnownMissingOrOpenVocabulary_NoWarning()
    {
        var issues = new List<InputIssue>();

        // 'books' was in training, outside the top 1: scored as 'other' just as in training. 'app' is in the encodings.
        var rare = Parse("\"merchant\": \"books\", \"channel\": \"app\"", issues);
        var missing = Parse("\"merchant\": null, \"channel\": null", issues);
        var trueFlag = Parse("\"flag\": \"Y\"", issues); // the file spelled it Yes: the same category
        // Without a profile that counted every merchant, a value outside the top K may be a rare one: no warning.
        var open = Parse("\"merchant\": \"crypto\"", issues, new TransactionContract(Fitted, null));

        Assert.Empty(issues);
        Assert.Empty(Contract.Unseen(rare!));
        Assert.Empty(Contract.Unseen(missing!));
        Assert.Empty(Contract.Unseen(trueFlag!));
        Assert.Empty(new TransactionContract(Fitted, null).Unseen(open!));
    }

    [Theory]
    [InlineData("true", "true")]
    [InlineData("\"yes\"", "true")]
    [InlineData("\"Y\"", "true")]
    [InlineData("\" TRUE \"", "true")]
    [InlineData("\"t\"", "true")]
    [InlineData("\"1\"", "true")]
    [InlineData("1", "true")]
    [InlineData("false", "false")]
    [InlineData("\"No\"", "false")]
    [InlineData("\"n\"", "false")]
    [InlineData("\"F\"", "false")]
    [InlineData("0", "false")]
    [InlineData("\"0\"", "false")]
    [InlineData("null", null)]
    public void Parse_BooleanInAnySpellingTheUploadAccepts_TrueOrFalse(string json, string? cell)
    {
        var issues = new List<InputIssue>();

        var row = Parse($"\"flag\": {json}", issues);

        Assert.Empty(issues);
        Assert.Equal(cell, row![Schema.IndexOf("flag")]);
    }

    [Theory]
    [InlineData("\"maybe\"")]
    [InlineData("\"oui\"")]
    [InlineData("2")]
    [InlineData("1.5")]
    [InlineData("{}")]
    public void Parse_BooleanNotAnAcceptedSpelling_IssueNamingTheField(string json)
    {
        var issues = new List<InputIssue>();

        Assert.Null(Parse($"\"flag\": {json}", issues));

        var issue = Assert.Single(issues);
        Assert.Equal("transaction.flag", issue.Field);
        Assert.Contains("yes/no", issue.Message);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", false)]
    [InlineData("1969-12-31T23:59:59Z", false)]
    [InlineData("1970-01-01T00:00:00Z", true)]
    [InlineData("2099-12-31T23:59:59Z", true)]
    [InlineData("2100-01-01T00:00:00Z", false)]
    [InlineData("9999-12-31T23:59:59Z", false)]
    public void Parse_EventTimeOutside1970To2100_IssueNamingTheField(string time, bool accepted)
    {
        var issues = new List<InputIssue>();

        var row = Parse($"\"event_time\": \"{time}\"", issues);

        Assert.Equal(accepted, row is not null);
        if (!accepted) Assert.Equal("transaction.event_time", Assert.Single(issues).Field);
        if (!accepted) Assert.Contains("outside 1970-01-01 to 2100-01-01", issues[0].Message);
    }

    [Theory]
    [InlineData("merchant", 1_024, true)]
    [InlineData("merchant", 1_025, false)]
    [InlineData("merchant", 1_048_576, false)]
    [InlineData("customer_id", 1_025, false)]
    [InlineData("note", 1_025, false)] // a column no feature reads is still logged
    public void Parse_TextLongerThan1024Characters_IssueNamingTheField(string column, int length, bool accepted)
    {
        var issues = new List<InputIssue>();

        var row = Parse($"\"{column}\": \"{new string('x', length)}\"", issues);

        Assert.Equal(accepted, row is not null);
        if (!accepted) Assert.Equal(($"transaction.{column}", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"The value is {length:N0} characters long; at most 1,024 are accepted.")), (Assert.Single(issues).Field, issues[0].Message));
    }
}

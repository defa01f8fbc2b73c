using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Scoring;

namespace FraudWorkbench.Tests.Scoring;

public sealed class LoggedPredictionTests
{
    [Fact]
    public void TopReasons_AsTheScoringServiceStoresThem_TypedInOrder()
    {
        // Written exactly as ScoringService logs them: web JSON (camelCase), null values left out.
        List<Reason> written = [new("amount", 1.234567, "250"), new("ip_country", -0.5, null), new("velocity", 0.031, "3")];
        var logged = new LoggedPrediction { Reasons = JsonSerializer.Serialize(written, DatasetSchema.Json) };

        var reasons = logged.TopReasons();

        Assert.Equal(["amount", "ip_country", "velocity"], reasons.Select(r => r.Column));
        Assert.Equal([1.234567, -0.5, 0.031], reasons.Select(r => r.Contribution));
        Assert.Equal(["250", null, "3"], reasons.Select(r => r.Value));
    }

    [Fact]
    public void TopReasons_JsonbAsPostgreSqlReturnsIt_Parsed()
    {
        // jsonb::text puts a space after ':' and ',' and may reorder keys.
        var logged = new LoggedPrediction { Reasons = """[{"value": "DE", "column": "ip_country", "contribution": -0.75}]""" };

        var reason = Assert.Single(logged.TopReasons());

        Assert.Equal(new Reason("ip_country", -0.75, "DE"), reason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{not json")]
    [InlineData("""{"column": "amount"}""")]
    public void TopReasons_NoneOrUnreadable_Empty(string? json)
    {
        Assert.Empty(new LoggedPrediction { Reasons = json }.TopReasons());
    }
}

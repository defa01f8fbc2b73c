using FraudWorkbench.Components.Shared;

namespace FraudWorkbench.Tests.Components;

public sealed class DisplayTests
{
    [Fact]
    public void ShortId_IdsMadeInTheSameMillisecond_StillTellApart()
    {
        var at = new DateTimeOffset(2026, 12, 7, 2, 30, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 50).Select(_ => Guid.CreateVersion7(at)).ToList();

        Assert.All(ids, id => Assert.Equal(id.ToString("N")[^8..], Display.ShortId(id)));
        Assert.Equal(50, ids.Select(Display.ShortId).Distinct().Count()); // the timestamp digits would all be equal
        Assert.Single(ids.Select(id => id.ToString()[..8]).Distinct());
        Assert.Equal(Display.ShortId(ids[0]), Display.ShortId(ids[0].ToString()));
        Assert.Equal("card-fraud", Display.ShortId("card-fraud"));
        Assert.Equal("—", Display.ShortId((string?)null));
    }

    [Theory]
    [InlineData("user:ana@example.com", "ana@example.com")]
    [InlineData("system:retention", "system:retention")]
    [InlineData("cli:ops", "cli:ops")]
    public void Actor_Prefixes_OnlyTheUserPrefixGoes(string actor, string shown) => Assert.Equal(shown, Display.Actor(actor));
}

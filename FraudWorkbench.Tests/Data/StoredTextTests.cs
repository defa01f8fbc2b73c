using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class StoredTextTests
{
    [Theory]
    [InlineData("a\0b", false, "NUL")]
    [InlineData("a\u0007b", true, "U+0007")]
    [InlineData("line\nbreak", false, "U+000A")]
    [InlineData("12345678901", true, "At most 10")]
    public void Problem_UnstorableText_SaysWhy(string text, bool multiline, string expected)
    {
        Assert.Contains(expected, StoredText.Problem(text, 10, multiline));
    }

    [Fact]
    public void Problem_HalfASurrogatePair_SaysWhy()
    {
        // Built in code: an attribute argument cannot carry a lone surrogate.
        foreach (var text in new[] { $"half {(char)0xD800} pair", $"ends {(char)0xD83D}", $"{(char)0xDC00} starts" })
            Assert.Contains("surrogate", StoredText.Problem(text, 100, multiline: true));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("déjà vu 🙂", false)]
    [InlineData("line\r\nbreak\tand tab", true)]
    [InlineData("1234567890", false)]
    public void Problem_StorableText_Null(string? text, bool multiline)
    {
        Assert.Null(StoredText.Problem(text, multiline ? 100 : 10, multiline));
    }
}

using FraudWorkbench.Core.Data;

namespace FraudWorkbench.Tests.Data;

public sealed class PackedRowsTests
{
    [Fact]
    public void Row_EachRowAsGiven_NullsEmptyStringsAndNonAscii()
    {
        string?[][] rows =
        [
            ["t1", "12.50", null, "Zürich", ""],
            ["t2", "", "cafe\u0301", "東京", "🙂 ok"],
            ["t3", "7", "x", null, null],
        ];

        var packed = new PackedRows(rows);

        Assert.Equal(3, packed.Count);
        Assert.Equal(5, packed.Width);
        for (var r = 0; r < rows.Length; r++) Assert.Equal(rows[r], packed.Row(r));
        Assert.Null(packed.Row(0)[2]);   // missing stays missing
        Assert.Equal("", packed.Row(0)[4]); // and an empty cell stays empty
    }

    [Fact]
    public void Row_ShorterRow_NullsAfterItsLastCell()
    {
        var packed = new PackedRows([["a", "b", "c"], ["d"]]);

        Assert.Equal(new string?[] { "d", null, null }, packed.Row(1));
    }

    [Fact]
    public void Row_OutsideTheRows_Throws()
    {
        var packed = new PackedRows([["a"]]);

        Assert.Throws<ArgumentOutOfRangeException>(() => packed.Row(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => packed.Row(-1));
        Assert.Equal(0, new PackedRows([]).Count);
    }
}

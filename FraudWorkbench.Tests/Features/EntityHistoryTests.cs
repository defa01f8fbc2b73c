using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Tests.Features;

public sealed class EntityHistoryTests
{
    [Fact]
    public void ToBytes_SmallHistory_IsTheDocumentedBigEndianLayout()
    {
        var history = new EntityHistory { OlderCount = 2, OlderSum = 1.5, Times = [1], Values = [-2] };

        // Format 1; int64 2; float64 1.5 = 0x3FF8000000000000; int64 1; float64 -2 = 0xC000000000000000.
        byte[] expected =
        [
            0x01,
            0, 0, 0, 0, 0, 0, 0, 2,
            0x3F, 0xF8, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 1,
            0xC0, 0, 0, 0, 0, 0, 0, 0,
        ];
        Assert.Equal(expected, history.ToBytes());
    }

    [Fact]
    public void FromBytes_WhatToBytesWrote_SameHistoryBitForBit()
    {
        var history = new EntityHistory
        {
            OlderCount = 123_456_789_012,
            OlderSum = 0.1 + 0.2,
            Times = [638_000_000_000_000_000, 638_000_000_000_000_001, long.MaxValue],
            Values = [-0.0, 1e-300, double.MaxValue],
        };

        var copy = EntityHistory.FromBytes(history.ToBytes());

        Assert.Equal(history.OlderCount, copy.OlderCount);
        Assert.Equal(BitConverter.DoubleToInt64Bits(history.OlderSum), BitConverter.DoubleToInt64Bits(copy.OlderSum));
        Assert.Equal(history.Times, copy.Times);
        Assert.Equal(history.Values.Select(BitConverter.DoubleToInt64Bits), copy.Values.Select(BitConverter.DoubleToInt64Bits));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(18)]
    public void FromBytes_NotAStoredHistory_Throws(int length)
    {
        var bytes = new byte[length];
        if (length > 0) bytes[0] = 1;

        Assert.Throws<InvalidDataException>(() => EntityHistory.FromBytes(bytes));
    }

    [Fact]
    public void FromBytes_UnknownFormatByte_Throws()
    {
        var bytes = new EntityHistory().ToBytes();
        bytes[0] = 2;

        Assert.Throws<InvalidDataException>(() => EntityHistory.FromBytes(bytes));
    }
}

public sealed class EntityRowTests
{
    [Fact]
    public void Join_TwoHistories_FeatureLengthBytesInFeatureOrder()
    {
        byte[] a = [1, 2, 3];
        byte[] b = [9];

        var row = EntityRow.Join([KeyValuePair.Create(5, (ReadOnlyMemory<byte>)a), KeyValuePair.Create(2, (ReadOnlyMemory<byte>)b)]);

        // Feature 2 first: int32 2, int32 1, 9; then feature 5: int32 5, int32 3, 1 2 3 (big-endian, as int4send writes).
        Assert.Equal([0, 0, 0, 2, 0, 0, 0, 1, 9, 0, 0, 0, 5, 0, 0, 0, 3, 1, 2, 3], row);
        var parts = EntityRow.Split(row);
        Assert.Equal(b, parts[2].ToArray());
        Assert.Equal(a, parts[5].ToArray());
    }

    [Fact]
    public void Split_NullOrEmpty_NoHistories()
    {
        Assert.Empty(EntityRow.Split(null));
        Assert.Empty(EntityRow.Split([]));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 1 })]                       // a header cut short
    [InlineData(new byte[] { 0, 0, 0, 1, 0, 0, 0, 5, 1, 2 })]     // a history longer than what is left
    [InlineData(new byte[] { 0, 0, 0, 1, 255, 255, 255, 255 })]   // a negative length
    public void Split_NotARow_Throws(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() => EntityRow.Split(bytes));
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using FraudWorkbench.Core.Data.Samples;

namespace FraudWorkbench.Tests.Data;

public sealed class TransactionGeneratorTests
{
    private const int SampleRows = 40_000;

    private static readonly Lazy<Sample> MonthA = new(() => Sample.Generate(new SampleOptions(SampleMonth.A, SampleRows)));
    private static readonly Lazy<Sample> MonthB = new(() => Sample.Generate(new SampleOptions(SampleMonth.B, SampleRows)));

    private static Sample Of(SampleMonth month) => month == SampleMonth.A ? MonthA.Value : MonthB.Value;

    [Fact]
    public void Write_SameOptions_ProducesIdenticalText()
    {
        var options = new SampleOptions(SampleMonth.B, 5_000, Seed: 7);

        Assert.Equal(Generate(options), Generate(options));
    }

    [Fact]
    public void Write_DifferentSeed_ProducesDifferentText()
    {
        var first = Generate(new SampleOptions(SampleMonth.A, 2_000, Seed: 1));
        var second = Generate(new SampleOptions(SampleMonth.A, 2_000, Seed: 2));

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Write_DifferentMonth_ProducesDifferentText()
    {
        Assert.NotEqual(Generate(new SampleOptions(SampleMonth.A, 2_000)), Generate(new SampleOptions(SampleMonth.B, 2_000)));
    }

    [Fact]
    public void Write_AnyOptions_HeaderEqualsColumns()
    {
        var text = Generate(new SampleOptions(SampleMonth.A, 10));

        Assert.Equal(string.Join(',', TransactionGenerator.Columns), text[..text.IndexOf('\n')]);
        Assert.Equal(15, TransactionGenerator.Columns.Count);
        Assert.Equal(TransactionGenerator.Columns.Count, TransactionGenerator.Columns.Distinct().Count());
    }

    [Theory]
    [InlineData(SampleMonth.A, 0)]
    [InlineData(SampleMonth.A, 1)]
    [InlineData(SampleMonth.B, 1_234)]
    public void Write_RowsOption_WritesThatManyLfTerminatedRows(SampleMonth month, int rows)
    {
        var text = Generate(new SampleOptions(month, rows));

        Assert.DoesNotContain('\r', text);
        Assert.EndsWith("\n", text);
        Assert.Equal(rows + 1, text.Count(c => c == '\n'));
    }

    [Theory]
    [InlineData(SampleMonth.A)]
    [InlineData(SampleMonth.B)]
    public void Write_FortyThousandRows_HasSampleRowCountAndUniqueIds(SampleMonth month)
    {
        var sample = Of(month);

        Assert.Equal(SampleRows, sample.Rows.Length);
        Assert.Equal(SampleRows, sample.Rows.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void Write_NegativeRows_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Generate(new SampleOptions(SampleMonth.A, -1)));
    }

    [Theory]
    [InlineData(SampleMonth.A)]
    [InlineData(SampleMonth.B)]
    public void Write_FortyThousandRows_FraudRateBetweenOneAndThreePercent(SampleMonth month)
    {
        var rate = Of(month).FraudRate(_ => true);

        Assert.InRange(rate, 0.01, 0.03);
    }

    [Theory]
    [InlineData(SampleMonth.A, 1)]
    [InlineData(SampleMonth.B, 2)]
    public void Write_EventTime_IsNonDecreasingAndInsideTheMonth(SampleMonth month, int calendarMonth)
    {
        var rows = Of(month).Rows;

        for (var i = 1; i < rows.Length; i++)
            Assert.True(rows[i - 1].Time <= rows[i].Time, $"row {i + 1} is earlier than row {i}");
        Assert.All(rows, r => Assert.Equal(new DateTime(2026, calendarMonth, 1), new DateTime(r.Time.Year, r.Time.Month, 1)));
    }

    [Theory]
    [InlineData(SampleMonth.A)]
    [InlineData(SampleMonth.B)]
    public void Write_Fields_HaveTheDocumentedFormatsAndRanges(SampleMonth month)
    {
        var lines = Of(month).Lines;
        var format = new Regex(
            @"^tx_\d{9},2026-0[12]-\d{2}T\d{2}:\d{2}:\d{2}Z,c_\d{6},\d+\.\d{2},[a-z_]+,(card|wallet|bank_transfer|bnpl),(desktop|mobile|tablet)," +
            @"[A-Z]{2},[A-Z]{2},(true|false),\d+,\d+,[FMX],[a-z0-9.-]+\.[a-z]+,[01]$",
            RegexOptions.CultureInvariant);

        Assert.All(lines, line => Assert.Matches(format, line));
        Assert.All(Of(month).Rows, r =>
        {
            Assert.InRange(r.CustomerAge, 18, 90);
            Assert.True(r.Amount > 0);
        });
        Assert.Equal(9, Of(month).Rows.Select(r => r.Category).Distinct().Count());
    }

    [Fact]
    public void Write_MonthA_HasAccountTakeoverBursts()
    {
        var rows = MonthA.Value.Rows;

        var burstCustomers = rows
            .Where(r => r.Fraud)
            .GroupBy(r => r.Customer)
            .Count(g => HasThreeWithinTenMinutes(g.Select(r => r.Time).Order().ToArray()));

        Assert.True(burstCustomers >= 10, $"only {burstCustomers} fraud customers with 3 purchases within 10 minutes");
    }

    [Fact]
    public void Write_MonthA_CountryMismatchRaisesFraudRateAtLeastThreefold()
    {
        var sample = MonthA.Value;

        var mismatch = sample.FraudRate(r => r.IpCountry != r.HomeCountry);

        Assert.True(mismatch >= 3 * sample.FraudRate(_ => true), $"mismatch fraud rate {mismatch:P2}");
    }

    [Fact]
    public void Write_MonthA_OtherPlantedRiskFactorsRaiseFraudRate()
    {
        var sample = MonthA.Value;
        var overall = sample.FraudRate(_ => true);

        Assert.True(sample.FraudRate(r => r.ShippingAddressNew) > 2 * overall);
        Assert.True(sample.FraudRate(r => r.Time.Hour < 6) > 1.5 * overall);
        Assert.True(sample.FraudRate(r => r.AccountAgeDays < 30) > 2 * overall);
        Assert.True(sample.FraudRate(r => r.Category is "gift_cards" or "electronics" or "digital_goods") > 2 * overall);
        Assert.True(sample.FraudRate(r => r.Category is "groceries" or "health" or "home") < 0.5 * overall);
        Assert.True(sample.FraudRate(r => r.PaymentMethod == "bnpl") > sample.FraudRate(r => r.PaymentMethod == "card"));
    }

    [Fact]
    public void Write_MonthA_NoSingleFeatureIsAPerfectSignal()
    {
        var sample = MonthA.Value;

        Assert.InRange(sample.FraudRate(r => r.IpCountry != r.HomeCountry), 0.05, 0.5);
        Assert.InRange(sample.FraudRate(r => r.ShippingAddressNew), 0.05, 0.5);
        Assert.True(sample.Rows.Count(r => r.Fraud && r.IpCountry == r.HomeCountry) > 0);
        Assert.True(sample.Rows.Count(r => r.Fraud && !r.ShippingAddressNew) > 0);
    }

    [Fact]
    public void Write_MonthA_ProtectedGroupsDifferInFraudRate()
    {
        var sample = MonthA.Value;

        var older = sample.FraudRate(r => r.CustomerAge >= 65);
        var middle = sample.FraudRate(r => r.CustomerAge is >= 35 and < 50);

        Assert.True(older > 1.3 * middle, $"65+ {older:P2} vs 35-49 {middle:P2}");
        Assert.True(sample.FraudRate(r => r.CustomerGender == "M") > sample.FraudRate(r => r.CustomerGender == "F"));
    }

    [Fact]
    public void Write_MonthB_MeanAmountAboutFifteenPercentHigherThanMonthA()
    {
        var ratio = MonthB.Value.Rows.Average(r => r.Amount) / MonthA.Value.Rows.Average(r => r.Amount);

        Assert.InRange(ratio, 1.08, 1.25);
    }

    [Fact]
    public void Write_MonthB_HasMoreMobileAndANewCountryMix()
    {
        double Share(Sample s, Func<Row, bool> predicate) => s.Rows.Count(predicate) / (double)s.Rows.Length;

        Assert.True(Share(MonthB.Value, r => r.DeviceType == "mobile") > Share(MonthA.Value, r => r.DeviceType == "mobile") + 0.05);
        Assert.Equal(0, Share(MonthA.Value, r => r.HomeCountry == "PT"));
        Assert.True(Share(MonthB.Value, r => r.HomeCountry == "PT") > 0.02);
        Assert.True(Share(MonthB.Value, r => r.HomeCountry == "PL") > Share(MonthA.Value, r => r.HomeCountry == "PL") + 0.03);
    }

    [Fact]
    public void Write_MonthB_CountryMismatchIsAWeakerSignalThanInMonthA()
    {
        static double Lift(Sample s) => s.FraudRate(r => r.IpCountry != r.HomeCountry) / s.FraudRate(_ => true);

        Assert.True(Lift(MonthB.Value) < 0.5 * Lift(MonthA.Value), $"lift A {Lift(MonthA.Value):0.0}, B {Lift(MonthB.Value):0.0}");
    }

    [Fact]
    public void Write_MonthB_FraudMovesToWallets()
    {
        static double WalletShareOfFraud(Sample s) => s.Rows.Count(r => r.Fraud && r.PaymentMethod == "wallet") / (double)s.Rows.Count(r => r.Fraud);

        Assert.True(WalletShareOfFraud(MonthB.Value) > WalletShareOfFraud(MonthA.Value) + 0.1);
    }

    private static string Generate(SampleOptions options)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        TransactionGenerator.Write(writer, options);
        return writer.ToString();
    }

    private static bool HasThreeWithinTenMinutes(DateTime[] times)
    {
        for (var i = 2; i < times.Length; i++)
        {
            if (times[i] - times[i - 2] <= TimeSpan.FromMinutes(10))
                return true;
        }
        return false;
    }

    private sealed record Row(
        string Id, DateTime Time, string Customer, double Amount, string Category, string PaymentMethod, string DeviceType,
        string IpCountry, string HomeCountry, bool ShippingAddressNew, int AccountAgeDays, int CustomerAge, string CustomerGender,
        string EmailDomain, bool Fraud);

    private sealed class Sample(string[] lines, Row[] rows)
    {
        public string[] Lines { get; } = lines;
        public Row[] Rows { get; } = rows;

        public double FraudRate(Func<Row, bool> predicate)
        {
            int count = 0, fraud = 0;
            foreach (var row in Rows)
            {
                if (!predicate(row))
                    continue;
                count++;
                if (row.Fraud)
                    fraud++;
            }
            return count == 0 ? 0 : fraud / (double)count;
        }

        public static Sample Generate(SampleOptions options)
        {
            var lines = TransactionGeneratorTests.Generate(options).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
            var rows = Array.ConvertAll(lines, Parse);
            return new Sample(lines, rows);
        }

        private static Row Parse(string line)
        {
            var f = line.Split(',');
            var inv = CultureInfo.InvariantCulture;
            return new Row(
                f[0],
                DateTime.ParseExact(f[1], "yyyy-MM-dd'T'HH:mm:ss'Z'", inv, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                f[2],
                double.Parse(f[3], inv),
                f[4], f[5], f[6], f[7], f[8],
                bool.Parse(f[9]),
                int.Parse(f[10], inv),
                int.Parse(f[11], inv),
                f[12],
                f[13],
                f[14] == "1");
        }
    }
}

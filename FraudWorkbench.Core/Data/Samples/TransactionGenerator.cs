using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace FraudWorkbench.Core.Data.Samples;

/// <summary>Which simulated month to generate: A is January 2026, B is February 2026 (with data and concept drift).</summary>
public enum SampleMonth { A, B }

/// <summary>Options of <see cref="TransactionGenerator.Write"/>.</summary>
public sealed record SampleOptions(SampleMonth Month, int Rows, int Seed = 42);

/// <summary>
/// Deterministic generator of e-commerce card-not-present transactions with planted fraud patterns
/// (account-takeover bursts, fraudster-opened accounts, first-party fraud). The same options always
/// produce the same bytes; the only source of randomness is a private xoshiro256** generator seeded
/// from the seed and the month. See data-samples/README.md for the columns and the patterns.
/// </summary>
public static class TransactionGenerator
{
    /// <summary>Largest supported row count (transaction ids have nine digits per month).</summary>
    public const int MaxRows = 50_000_000;

    /// <summary>Header names in file order.</summary>
    public static readonly IReadOnlyList<string> Columns = Array.AsReadOnly(
    [
        "transaction_id", "event_time", "customer_id", "amount", "merchant_category", "payment_method",
        "device_type", "ip_country", "home_country", "shipping_address_new", "account_age_days",
        "customer_age", "customer_gender", "email_domain", "is_fraud",
    ]);

    /// <summary>Writes a header line and Rows data rows as RFC 4180 CSV (comma, LF line endings, invariant culture, quotes only where needed).</summary>
    public static void Write(TextWriter writer, SampleOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.Month))
            throw new ArgumentOutOfRangeException(nameof(options), options.Month, "Unknown sample month.");
        if (options.Rows < 0 || options.Rows > MaxRows)
            throw new ArgumentOutOfRangeException(nameof(options), options.Rows, $"Rows must be between 0 and {MaxRows}.");

        var simulation = new Simulation(options);
        var transactions = simulation.Run();
        CsvOutput.Write(writer, options, simulation.Customers, transactions);
    }
}

/// <summary>Fixed vocabularies and the behavioural tables of the simulation.</summary>
file static class T
{
    public static readonly string[] Categories =
        ["groceries", "fashion", "electronics", "travel", "gift_cards", "digital_goods", "home", "health", "entertainment"];
    public const int Groceries = 0, Fashion = 1, Electronics = 2, Travel = 3, GiftCards = 4, DigitalGoods = 5, Home = 6, Health = 7, Entertainment = 8;

    public static readonly string[] Payments = ["card", "wallet", "bank_transfer", "bnpl"];
    public const int Card = 0, Wallet = 1, BankTransfer = 2, Bnpl = 3;

    public static readonly string[] Devices = ["desktop", "mobile", "tablet"];
    public const int Desktop = 0, Mobile = 1, Tablet = 2;

    public static readonly string[] Genders = ["F", "M", "X"];

    public static readonly string[] Countries =
        ["DE", "FR", "GB", "US", "NL", "ES", "IT", "PL", "BE", "AT", "SE", "IE", "PT", "CH", "RO", "RU", "NG", "VN", "BR", "UA", "IN", "ID", "TR"];
    public const int PL = 7, PT = 12;

    /// <summary>UTC offset (hours, winter time) used to turn local shopping hours into UTC.</summary>
    public static readonly int[] UtcOffset = [1, 1, 0, -5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 2, 3, 1, 7, -3, 2, 5, 7, 3];

    /// <summary>Home countries of the established customer base.</summary>
    public static readonly double[] HomeMix = Cum([24, 15, 16, 9, 8, 9, 8, 5, 2, 2, 1, 1]);

    /// <summary>Where legitimate travellers (and VPN users) shop from.</summary>
    public static readonly double[] TravelMix = Cum([8, 12, 9, 8, 6, 14, 12, 3, 2, 5, 2, 2, 5, 5, 2, 0, 0, 2, 2, 0, 2, 2, 3]);

    /// <summary>Where fraudsters connect from when they do not hide behind a domestic IP: hosting/VPN exits and high-risk origins.</summary>
    public static readonly double[] FraudIpMix = Cum([6, 4, 6, 10, 10, 2, 2, 2, 0, 0, 0, 0, 0, 0, 6, 10, 10, 8, 7, 8, 5, 5, 5]);

    public static readonly string[] EmailDomains =
    [
        "gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de", "web.de", "t-online.de",
        "orange.fr", "free.fr", "btinternet.com", "hotmail.co.uk", "aol.com", "comcast.net", "ziggo.nl", "libero.it", "wp.pl",
        "onet.pl", "sapo.pt", "mail.com", "mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com", "temp-mail.org",
    ];
    public const int Gmail = 0, Outlook = 1, Hotmail = 2, Yahoo = 3, Icloud = 4, Proton = 5, MailCom = 20, FirstDisposable = 21, DisposableCount = 5;

    /// <summary>Local e-mail providers per home country index (empty: none).</summary>
    public static readonly int[][] LocalEmail =
        [[6, 7, 8], [9, 10], [11, 12], [13, 14], [15], [], [16], [17, 18], [], [], [], [], [19], [], [], [], [], [], [], [], [], [], []];

    /// <summary>Category popularity, then multipliers per age band (18-29, 30-49, 50-64, 65+) and per gender (F, M, X).</summary>
    public static readonly double[] CategoryBase = [19, 16, 9, 5, 3, 10, 13, 10, 15];
    public static readonly double[][] CategoryByAge =
    [
        [0.80, 1.30, 1.10, 0.80, 1.00, 1.80, 0.60, 0.60, 1.30],
        [1.00, 1.00, 1.05, 1.00, 1.00, 1.00, 1.10, 0.90, 1.00],
        [1.15, 0.85, 0.90, 1.20, 1.00, 0.60, 1.20, 1.30, 0.80],
        [1.20, 0.60, 0.70, 1.30, 1.10, 0.35, 1.10, 1.80, 0.60],
    ];
    public static readonly double[][] CategoryByGender =
    [
        [1.00, 1.35, 0.75, 1.00, 1.00, 0.95, 1.05, 1.20, 0.95],
        [1.00, 0.70, 1.30, 1.00, 1.00, 1.10, 0.95, 0.85, 1.05],
        [1.00, 1.00, 1.00, 1.00, 1.00, 1.20, 1.00, 1.00, 1.00],
    ];

    /// <summary>Median amount (EUR) and log-normal sigma per category.</summary>
    public static readonly double[] AmountMedian = [48, 62, 165, 290, 50, 14, 75, 32, 38];
    public static readonly double[] AmountSigma = [0.55, 0.65, 0.90, 0.70, 0.60, 0.85, 0.85, 0.60, 0.70];
    public static readonly int[] GiftCardDenominations = [10, 15, 20, 25, 30, 50, 75, 100, 150, 200, 250, 300, 500];

    /// <summary>Payment method mix per age band (card, wallet, bank_transfer, bnpl).</summary>
    public static readonly double[][] PaymentByAge =
    [
        Cum([40, 30, 8, 22]), Cum([52, 27, 10, 11]), Cum([60, 18, 16, 6]), Cum([65, 8, 24, 3]),
    ];

    /// <summary>Usual device per age band (desktop, mobile, tablet).</summary>
    public static readonly double[][] DeviceByAge =
    [
        Cum([25, 70, 5]), Cum([38, 55, 7]), Cum([48, 40, 12]), Cum([50, 30, 20]),
    ];

    /// <summary>Customer age bands: share of customers and the age range.</summary>
    public static readonly double[] AgeBucketMix = Cum([14, 24, 21, 17, 13, 8, 3]);
    public static readonly int[] AgeBucketLow = [18, 25, 35, 45, 55, 65, 75];
    public static readonly int[] AgeBucketHigh = [24, 34, 44, 54, 64, 74, 90];

    /// <summary>Legitimate shopping by local hour of day.</summary>
    public static readonly double[] LegitHours = Cum(
        [1.2, 0.6, 0.35, 0.25, 0.25, 0.4, 1.0, 2.0, 3.0, 3.8, 4.2, 4.5, 5.0, 4.8, 4.6, 4.6, 4.8, 5.2, 5.8, 6.5, 7.0, 6.6, 5.0, 2.8]);

    /// <summary>Fraud by UTC hour: flatter, with a night-time bulge.</summary>
    public static readonly double[] FraudHours = Cum(
        [4.6, 5.0, 5.0, 4.6, 4.0, 3.4, 2.5, 3.0, 3.5, 4.0, 4.0, 4.2, 4.2, 4.2, 4.2, 4.2, 4.2, 4.3, 4.5, 4.8, 5.0, 5.0, 4.8, 4.5]);

    /// <summary>Category mixes of account-takeover purchases and of fraudster-opened accounts.</summary>
    public static readonly double[] AtoCategories = Cum([0, 8, 34, 0, 30, 20, 4, 0, 4]);
    public static readonly double[] NewAccountFraudCategories = Cum([0, 10, 30, 4, 34, 18, 0, 0, 4]);

    /// <summary>Device types account takeovers switch to (desktop, mobile, tablet), per month.</summary>
    public static readonly double[] AtoDeviceA = Cum([55, 35, 10]);
    public static readonly double[] AtoDeviceB = Cum([30, 62, 8]);

    /// <summary>Payment mixes of fraud per month (card, wallet, bank_transfer, bnpl): in month B fraudsters move to wallets.</summary>
    public static readonly double[] AtoPaymentA = Cum([62, 22, 4, 12]);
    public static readonly double[] AtoPaymentB = Cum([26, 58, 3, 13]);
    public static readonly double[] NewAccountPaymentA = Cum([55, 20, 5, 20]);
    public static readonly double[] NewAccountPaymentB = Cum([25, 52, 3, 20]);

    /// <summary>First-party ("friendly") fraud: chance that a disputer's purchase ends in a chargeback, by payment and category.</summary>
    public static readonly double[] DisputeByPayment = [0.10, 0.13, 0.03, 0.30];
    public static readonly double[] DisputeByCategory = [0.4, 1.2, 1.4, 0.6, 1.0, 1.6, 0.5, 0.4, 1.0];

    public static int AgeBand(int age) => age < 30 ? 0 : age < 50 ? 1 : age < 65 ? 2 : 3;

    /// <summary>Cumulative weights, normalised to end at 1.</summary>
    public static double[] Cum(double[] weights)
    {
        var cum = new double[weights.Length];
        var total = 0.0;
        foreach (var w in weights)
            total += w;
        var running = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            running += weights[i];
            cum[i] = running / total;
        }
        cum[^1] = 1.0;
        return cum;
    }
}

/// <summary>xoshiro256** seeded through SplitMix64: small, fast, and identical on every platform.</summary>
file sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(int seed, ulong stream)
    {
        var x = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ stream * 0xD1B54A32D192ED03UL ^ 0x5851F42D4C957F2DUL);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            var z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    public ulong Next()
    {
        unchecked
        {
            var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = BitOperations.RotateLeft(_s3, 45);
            return result;
        }
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n) => (int)(((Next() >> 32) * (ulong)n) >> 32);

    /// <summary>Uniform integer in [low, high] (inclusive).</summary>
    public int Between(int low, int high) => low + Next(high - low + 1);

    public bool Chance(double p) => NextDouble() < p;

    public double Normal()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Index drawn from cumulative weights ending at 1.</summary>
    public int Pick(double[] cum)
    {
        var u = NextDouble();
        for (var i = 0; i < cum.Length - 1; i++)
        {
            if (u < cum[i])
                return i;
        }
        return cum.Length - 1;
    }

    /// <summary>Index drawn from a cumulative slice [offset, offset + length) ending at 1.</summary>
    public int Pick(double[] cum, int offset, int length)
    {
        var u = NextDouble();
        for (var i = 0; i < length - 1; i++)
        {
            if (u < cum[offset + i])
                return i;
        }
        return length - 1;
    }

    /// <summary>Index drawn from unnormalised, non-decreasing cumulative weights (binary search).</summary>
    public int PickLarge(double[] cum, int count)
    {
        var u = NextDouble() * cum[count - 1];
        int lo = 0, hi = count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (u < cum[mid])
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }
}

file enum CustomerKind : byte { Regular, Fraudster }

file struct Customer
{
    public int Id;
    public int CreatedSec;      // account creation, seconds relative to the start of the generated month (negative: before it)
    public CustomerKind Kind;
    public byte Home, Age, Gender, Device, Payment, Email;
    public bool Traveller, Disputer;
    public double Activity;
    public int CategoryOffset;  // into Simulation.CategoryCum (regular customers)
    public int FirstTxSec;      // fraudster accounts: time of their first purchase
    public byte TxCount;        // fraudster accounts: purchases they make
}

file struct Tx
{
    public int Time;            // seconds since the start of the month
    public int Customer;
    public int AmountCents;
    public byte Category, Payment, Device, IpCountry;
    public bool ShipNew, Fraud;
}

/// <summary>The simulated shop: a customer base, new sign-ups and fraudsters, and one month of purchases.</summary>
file sealed class Simulation
{
    private const int Day = 86_400;
    private const ulong StreamPopulation = 1, StreamNewAccounts = 10, StreamDrift = 30, StreamEvents = 20;

    // Shares of rows planted per fraud mechanism, per month (first-party fraud comes on top, from disputers).
    private static readonly double[] AtoShare = [0.0085, 0.0095];
    private static readonly double[] NewAccountFraudShare = [0.0068, 0.0078];
    private static readonly double[] AtoIpMismatch = [0.78, 0.12];
    private static readonly double[] NewAccountIpMismatch = [0.55, 0.10];
    private const double AmountDriftB = 1.15;

    private readonly SampleOptions _options;
    private readonly int _month;
    private readonly int _monthSeconds;
    private readonly List<double> _categoryCum = new(9 * 10_000);
    private double[] _categoryCumArray = [];

    public List<Customer> Customers { get; } = new(10_000);

    public Simulation(SampleOptions options)
    {
        _options = options;
        _month = (int)options.Month;
        _monthSeconds = (options.Month == SampleMonth.A ? 31 : 28) * Day;
    }

    private int BaseCustomerCount => Math.Clamp(_options.Rows / 5, 200, 8_000);

    public Tx[] Run()
    {
        BuildBasePopulation();
        if (_options.Month == SampleMonth.B)
        {
            // January's sign-ups are February's existing customers; January's fraudster accounts are closed.
            AddNewAccounts(SampleMonth.A, keepFraudsters: false);
            ApplyDeviceDrift();
        }
        AddNewAccounts(_options.Month, keepFraudsters: true);
        _categoryCumArray = [.. _categoryCum];
        return GenerateTransactions();
    }

    // ---- customers -----------------------------------------------------------------------------

    private static int ScrambledId(int index) => (int)((long)(index + 1) * 618_033 % 999_983);

    private void BuildBasePopulation()
    {
        var rng = new Rng(_options.Seed, StreamPopulation);
        var count = BaseCustomerCount;
        // Creation dates relative to 2026-01-01: exponential with a mean of 900 days, capped at about 11 years.
        var januaryStart = _options.Month == SampleMonth.A ? 0 : -31 * Day;
        for (var i = 0; i < count; i++)
        {
            var daysAgo = Math.Min(-Math.Log(1.0 - rng.NextDouble()) * 900.0, 4_000.0);
            var created = januaryStart - (int)(daysAgo * Day) - 1;
            AddRegular(rng, created, home: -1, cohort: false);
        }
    }

    private void AddRegular(Rng rng, int createdSec, int home, bool cohort)
    {
        var age = cohort ? rng.Between(18, 45) : SampleAge(rng);
        var band = T.AgeBand(age);
        var gender = rng.NextDouble() switch { < 0.49 => 0, < 0.98 => 1, _ => 2 };
        if (home < 0)
            home = rng.Pick(T.HomeMix);
        var device = cohort ? (rng.Chance(0.8) ? T.Mobile : T.Desktop) : rng.Pick(T.DeviceByAge[band]);
        var payment = rng.Pick(T.PaymentByAge[band]);
        var disputer = rng.Chance(band switch { 0 => 0.08, 1 => 0.03, 2 => 0.012, _ => 0.006 });
        if (disputer && rng.Chance(0.4))
            payment = T.Bnpl;
        var customer = new Customer
        {
            Id = ScrambledId(Customers.Count),
            CreatedSec = createdSec,
            Kind = CustomerKind.Regular,
            Home = (byte)home,
            Age = (byte)age,
            Gender = (byte)gender,
            Device = (byte)device,
            Payment = (byte)payment,
            Email = (byte)SampleEmail(rng, home),
            Traveller = rng.Chance(0.15),
            Disputer = disputer,
            Activity = Math.Exp(0.9 * rng.Normal()) * (cohort ? 1.3 : 1.0),
            CategoryOffset = _categoryCum.Count,
        };
        var weights = new double[9];
        for (var c = 0; c < 9; c++)
            weights[c] = T.CategoryBase[c] * T.CategoryByAge[band][c] * T.CategoryByGender[gender][c] * Math.Exp(0.35 * rng.Normal());
        _categoryCum.AddRange(T.Cum(weights));
        Customers.Add(customer);
    }

    private static int SampleAge(Rng rng)
    {
        var bucket = rng.Pick(T.AgeBucketMix);
        return rng.Between(T.AgeBucketLow[bucket], T.AgeBucketHigh[bucket]);
    }

    private static int SampleEmail(Rng rng, int home)
    {
        if (rng.Chance(0.004))
            return T.FirstDisposable + rng.Next(T.DisposableCount);
        var local = T.LocalEmail[home];
        return rng.NextDouble() switch
        {
            < 0.38 => T.Gmail,
            < 0.48 => T.Outlook,
            < 0.55 => T.Hotmail,
            < 0.62 => T.Yahoo,
            < 0.73 => T.Icloud,
            < 0.75 => T.Proton,
            < 0.765 => T.MailCom,
            _ => local.Length == 0 ? T.Gmail : local[rng.Next(local.Length)],
        };
    }

    /// <summary>New accounts of one month: legitimate sign-ups, in month B a market-launch cohort (PL, PT), and fraudster-opened accounts.</summary>
    private void AddNewAccounts(SampleMonth month, bool keepFraudsters)
    {
        var rng = new Rng(_options.Seed, StreamNewAccounts + (ulong)month);
        var m = (int)month;
        // Offset of that month's start relative to the generated month's start.
        var shift = month == _options.Month ? 0 : -31 * Day;
        var seconds = (month == SampleMonth.A ? 31 : 28) * Day;
        var signups = (int)Math.Round(BaseCustomerCount * 0.03);
        for (var i = 0; i < signups; i++)
            AddRegular(rng, shift + rng.Next(seconds), home: -1, cohort: false);
        if (month == SampleMonth.B)
        {
            var cohort = (int)Math.Round(BaseCustomerCount * 0.08);
            for (var i = 0; i < cohort; i++)
                AddRegular(rng, shift + rng.Next(21 * Day), home: rng.Chance(0.6) ? T.PL : T.PT, cohort: true);
        }

        var fraudsters = (int)Math.Round(_options.Rows * NewAccountFraudShare[m] / 2.25);
        for (var i = 0; i < fraudsters; i++)
        {
            var txCount = rng.NextDouble() switch { < 0.30 => 1, < 0.60 => 2, < 0.85 => 3, _ => 4 };
            var first = SampleTime(rng, T.FraudHours, seconds);
            var created = rng.Chance(0.2)
                ? first - rng.Between(30 * Day, 150 * Day)               // aged ("sleeper") account
                : first - (int)Math.Min(-Math.Log(1.0 - rng.NextDouble()) * 3.0 * Day, 25.0 * Day);
            var age = rng.NextDouble() switch { < 0.5 => rng.Between(19, 29), < 0.85 => rng.Between(30, 49), _ => rng.Between(50, 75) };
            var gender = rng.NextDouble() switch { < 0.27 => 0, < 0.97 => 1, _ => 2 };
            var email = rng.NextDouble() switch
            {
                < 0.35 => T.FirstDisposable + rng.Next(T.DisposableCount),
                < 0.70 => T.Gmail,
                < 0.80 => T.Outlook,
                < 0.88 => T.Proton,
                < 0.93 => T.MailCom,
                _ => T.Yahoo,
            };
            var device = rng.NextDouble() switch
            {
                < 0.05 => T.Tablet,
                var u when u < (month == SampleMonth.A ? 0.55 : 0.70) => T.Mobile,
                _ => T.Desktop,
            };
            var customer = new Customer
            {
                Id = ScrambledId(Customers.Count),
                CreatedSec = shift + created,
                Kind = CustomerKind.Fraudster,
                Home = (byte)rng.Pick(T.HomeMix),
                Age = (byte)age,
                Gender = (byte)gender,
                Device = (byte)device,
                Payment = 0,
                Email = (byte)email,
                FirstTxSec = shift + first,
                TxCount = (byte)txCount,
                CategoryOffset = -1,
            };
            if (keepFraudsters)
                Customers.Add(customer);
            else
                Customers.Add(customer with { TxCount = 0 });
        }
    }

    /// <summary>Month B: a quarter of desktop and tablet shoppers have switched to their phone.</summary>
    private void ApplyDeviceDrift()
    {
        var rng = new Rng(_options.Seed, StreamDrift);
        var span = CollectionsMarshal.AsSpan(Customers);
        for (var i = 0; i < span.Length; i++)
        {
            if (rng.Chance(0.25) && span[i].Device != T.Mobile)
                span[i].Device = T.Mobile;
        }
    }

    // ---- transactions --------------------------------------------------------------------------

    /// <summary>A second of the month from a day (weekends a little busier) and an hour-of-day profile.</summary>
    private int SampleTime(Rng rng, double[] hours, int monthSeconds, int utcOffset = 0)
    {
        int day;
        while (true)
        {
            day = rng.Next(monthSeconds / Day);
            // 2026-01-01 and 2026-02-01 are a Thursday and a Sunday.
            var weekday = ((_month == 0 ? 4 : 0) + day) % 7;
            var weight = weekday is 0 or 6 ? 1.0 : weekday == 1 ? 0.92 : 0.87;
            if (rng.NextDouble() < weight)
                break;
        }
        var hour = rng.Pick(hours);
        var t = day * Day + (hour - utcOffset) * 3_600 + rng.Next(3_600);
        if (t < 0)
            t += monthSeconds;
        else if (t >= monthSeconds)
            t -= monthSeconds;
        return t;
    }

    private int Amount(Rng rng, int category, double factor)
    {
        var drift = _options.Month == SampleMonth.B ? AmountDriftB : 1.0;
        var euros = T.AmountMedian[category] * factor * drift * Math.Exp(T.AmountSigma[category] * rng.Normal());
        if (category == T.GiftCards)
        {
            var best = T.GiftCardDenominations[0];
            foreach (var d in T.GiftCardDenominations)
            {
                if (Math.Abs(d - euros) < Math.Abs(best - euros))
                    best = d;
            }
            return best * 100;
        }
        if (category == T.DigitalGoods)
            return (int)Math.Max(1.0, Math.Ceiling(euros)) * 100 - 1;           // price points ending in .99
        var cents = (int)Math.Round(Math.Min(euros, 9_000.0) * 100.0);
        return Math.Max(cents, 99);
    }

    private static int OtherThan(Rng rng, int value, int count)
    {
        var other = rng.Next(count - 1);
        return other >= value ? other + 1 : other;
    }

    private static int OtherDevice(Rng rng, double[] mix, int usual)
    {
        while (true)
        {
            var d = rng.Pick(mix);
            if (d != usual)
                return d;
        }
    }

    private static int ForeignCountry(Rng rng, double[] mix, int home)
    {
        while (true)
        {
            var c = rng.Pick(mix);
            if (c != home)
                return c;
        }
    }

    private Tx[] GenerateTransactions()
    {
        var rng = new Rng(_options.Seed, StreamEvents + (ulong)_month);
        var rows = _options.Rows;
        var txs = new List<Tx>(rows);

        GenerateAccountTakeovers(rng, txs, (int)Math.Round(rows * AtoShare[_month]));
        GenerateNewAccountFraud(rng, txs);
        if (txs.Count > rows)
            txs.RemoveRange(rows, txs.Count - rows);
        GenerateLegitimate(rng, txs, rows - txs.Count);
        return [.. txs];
    }

    /// <summary>Compromised established accounts: bursts of 3-8 purchases a minute or two apart.</summary>
    private void GenerateAccountTakeovers(Rng rng, List<Tx> txs, int target)
    {
        if (target <= 0)
            return;
        // Victims: accounts at least 60 days old; older customers are targeted more (phishing, password reuse).
        var cum = new double[Customers.Count];
        var index = new int[Customers.Count];
        var n = 0;
        var total = 0.0;
        for (var i = 0; i < Customers.Count; i++)
        {
            var c = Customers[i];
            if (c.Kind != CustomerKind.Regular || c.CreatedSec > -60 * Day)
                continue;
            total += T.AgeBand(c.Age) switch { 0 => 0.35, 1 => 0.6, 2 => 1.6, _ => 4.5 };
            cum[n] = total;
            index[n++] = i;
        }
        if (n == 0)
            return;

        var payments = _options.Month == SampleMonth.A ? T.AtoPaymentA : T.AtoPaymentB;
        var produced = 0;
        while (produced < target)
        {
            var victimIndex = index[rng.PickLarge(cum, n)];
            var victim = Customers[victimIndex];
            var count = rng.Between(3, 8);
            var start = Math.Min(SampleTime(rng, T.FraudHours, _monthSeconds), _monthSeconds - count * 150 - 1);
            // Usually a device type the victim does not use (desktops in A, phones more often in B).
            var device = rng.Chance(0.7) ? OtherDevice(rng, _options.Month == SampleMonth.A ? T.AtoDeviceA : T.AtoDeviceB, victim.Device) : victim.Device;
            var ip = rng.Chance(AtoIpMismatch[_month]) ? ForeignCountry(rng, T.FraudIpMix, victim.Home) : victim.Home;
            var payment = rng.Pick(payments);
            var shipNew = rng.Chance(0.8);
            var t = start;
            for (var k = 0; k < count; k++)
            {
                var category = rng.Pick(T.AtoCategories);
                txs.Add(new Tx
                {
                    Time = t,
                    Customer = victimIndex,
                    AmountCents = Amount(rng, category, 1.5),
                    Category = (byte)category,
                    Payment = (byte)payment,
                    Device = (byte)device,
                    IpCountry = (byte)ip,
                    ShipNew = shipNew,
                    Fraud = true,
                });
                t += rng.Between(15, 150);
            }
            produced += count;
        }
    }

    /// <summary>Accounts opened by fraudsters with stolen cards: a few purchases soon after sign-up.</summary>
    private void GenerateNewAccountFraud(Rng rng, List<Tx> txs)
    {
        var payments = _options.Month == SampleMonth.A ? T.NewAccountPaymentA : T.NewAccountPaymentB;
        for (var i = 0; i < Customers.Count; i++)
        {
            var c = Customers[i];
            if (c.Kind != CustomerKind.Fraudster || c.TxCount == 0)
                continue;
            var ip = rng.Chance(NewAccountIpMismatch[_month]) ? ForeignCountry(rng, T.FraudIpMix, c.Home) : c.Home;
            var shipNew = rng.Chance(0.55);
            var payment = rng.Pick(payments);
            var t = c.FirstTxSec;
            for (var k = 0; k < c.TxCount && t < _monthSeconds; k++)
            {
                var category = rng.Pick(T.NewAccountFraudCategories);
                txs.Add(new Tx
                {
                    Time = t,
                    Customer = i,
                    AmountCents = Amount(rng, category, 1.3),
                    Category = (byte)category,
                    Payment = (byte)(rng.Chance(0.8) ? payment : rng.Pick(payments)),
                    Device = c.Device,
                    IpCountry = (byte)ip,
                    ShipNew = shipNew || rng.Chance(0.2),
                    Fraud = true,
                });
                t += rng.Chance(0.5) ? rng.Between(60, 600) : rng.Between(3_600, 2 * Day);
            }
        }
    }

    /// <summary>Ordinary shopping sessions (1-3 purchases), some of which disputers later charge back.</summary>
    private void GenerateLegitimate(Rng rng, List<Tx> txs, int target)
    {
        var cum = new double[Customers.Count];
        var index = new int[Customers.Count];
        var n = 0;
        var total = 0.0;
        for (var i = 0; i < Customers.Count; i++)
        {
            var c = Customers[i];
            if (c.Kind != CustomerKind.Regular)
                continue;
            total += c.Activity;
            cum[n] = total;
            index[n++] = i;
        }
        var produced = 0;
        while (produced < target)
        {
            var ci = index[rng.PickLarge(cum, n)];
            var c = Customers[ci];
            var band = T.AgeBand(c.Age);
            var t = SampleTime(rng, T.LegitHours, _monthSeconds, T.UtcOffset[c.Home]);
            if (t < c.CreatedSec)
                t = c.CreatedSec + rng.Next(_monthSeconds - c.CreatedSec);
            var count = rng.NextDouble() switch { < 0.90 => 1, < 0.97 => 2, _ => 3 };
            var mismatch = rng.Chance(c.Traveller ? 0.22 : 0.012);
            var ip = mismatch ? ForeignCountry(rng, T.TravelMix, c.Home) : c.Home;
            var device = rng.Chance(0.85) ? c.Device : OtherThan(rng, c.Device, 3);
            for (var k = 0; k < count && produced < target && t < _monthSeconds; k++)
            {
                var category = rng.Pick(_categoryCumArray, c.CategoryOffset, 9);
                var payment = rng.Chance(0.75) ? c.Payment : rng.Pick(T.PaymentByAge[band]);
                var shipProbability = (category is T.Fashion or T.Home or T.GiftCards ? 0.11 : 0.06) * (band == 0 ? 1.3 : 1.0);
                var fraud = c.Disputer && rng.Chance(T.DisputeByPayment[payment] * T.DisputeByCategory[category]);
                txs.Add(new Tx
                {
                    Time = t,
                    Customer = ci,
                    AmountCents = Amount(rng, category, 1.0),
                    Category = (byte)category,
                    Payment = (byte)payment,
                    Device = (byte)device,
                    IpCountry = (byte)ip,
                    ShipNew = rng.Chance(shipProbability),
                    Fraud = fraud,
                });
                produced++;
                t += rng.Between(60, 900);
            }
        }
    }
}

/// <summary>Sorts the transactions by event time and writes them as CSV without per-field allocations.</summary>
file static class CsvOutput
{
    private static readonly string[] TwoDigits = [.. Enumerable.Range(0, 100).Select(i => i.ToString("00", CultureInfo.InvariantCulture))];

    public static void Write(TextWriter writer, SampleOptions options, List<Customer> customers, Tx[] txs)
    {
        var monthNumber = options.Month == SampleMonth.A ? 1 : 2;
        var days = options.Month == SampleMonth.A ? 31 : 28;
        var datePrefix = new string[days];
        for (var d = 0; d < days; d++)
            datePrefix[d] = $"2026-{TwoDigits[monthNumber]}-{TwoDigits[d + 1]}T";

        var customerIds = new string[customers.Count];
        var customerTail = new string[customers.Count];   // "customer_age,customer_gender,email_domain"
        for (var i = 0; i < customers.Count; i++)
        {
            var c = customers[i];
            customerIds[i] = "c_" + c.Id.ToString("D6", CultureInfo.InvariantCulture);
            customerTail[i] = string.Concat(
                c.Age.ToString(CultureInfo.InvariantCulture), ",", T.Genders[c.Gender], ",", Field(T.EmailDomains[c.Email]));
        }
        var categories = Array.ConvertAll(T.Categories, Field);
        var payments = Array.ConvertAll(T.Payments, Field);
        var devices = Array.ConvertAll(T.Devices, Field);
        var countries = Array.ConvertAll(T.Countries, Field);

        // Event-time order; ties keep generation order. Keys are unique, so the unstable sort is deterministic.
        var keys = new long[txs.Length];
        for (var i = 0; i < txs.Length; i++)
            keys[i] = ((long)txs[i].Time << 32) | (uint)i;
        Array.Sort(keys);

        var sb = new StringBuilder(1 << 17);
        for (var i = 0; i < TransactionGenerator.Columns.Count; i++)
        {
            if (i > 0)
                sb.Append(',');
            sb.Append(Field(TransactionGenerator.Columns[i]));
        }
        sb.Append('\n');

        var firstId = (long)(int)options.Month * 100_000_000L + 1;
        for (var r = 0; r < keys.Length; r++)
        {
            ref readonly var tx = ref txs[(int)(keys[r] & 0xFFFF_FFFF)];
            var c = customers[tx.Customer];

            sb.Append("tx_");
            AppendPadded(sb, firstId + r, 9);
            sb.Append(',');

            var t = tx.Time;
            sb.Append(datePrefix[t / 86_400]);
            var secondOfDay = t % 86_400;
            sb.Append(TwoDigits[secondOfDay / 3_600]).Append(':')
              .Append(TwoDigits[secondOfDay / 60 % 60]).Append(':')
              .Append(TwoDigits[secondOfDay % 60]).Append("Z,");

            sb.Append(customerIds[tx.Customer]).Append(',');
            sb.Append(tx.AmountCents / 100).Append('.').Append(TwoDigits[tx.AmountCents % 100]).Append(',');
            sb.Append(categories[tx.Category]).Append(',');
            sb.Append(payments[tx.Payment]).Append(',');
            sb.Append(devices[tx.Device]).Append(',');
            sb.Append(countries[tx.IpCountry]).Append(',');
            sb.Append(countries[c.Home]).Append(',');
            sb.Append(tx.ShipNew ? "true," : "false,");
            // Whole days between account creation and the purchase (creation times are relative to this month's start).
            var ageSeconds = (long)t - c.CreatedSec;
            sb.Append(ageSeconds < 0 ? 0 : ageSeconds / 86_400).Append(',');
            sb.Append(customerTail[tx.Customer]).Append(',');
            sb.Append(tx.Fraud ? '1' : '0').Append('\n');

            if (sb.Length > 120_000)
            {
                writer.Write(sb);
                sb.Clear();
            }
        }
        writer.Write(sb);
    }

    private static void AppendPadded(StringBuilder sb, long value, int width)
    {
        Span<char> buffer = stackalloc char[20];
        var pos = buffer.Length;
        do
        {
            buffer[--pos] = (char)('0' + (int)(value % 10));
            value /= 10;
        } while (value > 0);
        while (buffer.Length - pos < width)
            buffer[--pos] = '0';
        sb.Append(buffer[pos..]);
    }

    /// <summary>RFC 4180: quote a field only when it contains a comma, a quote or a line break.</summary>
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

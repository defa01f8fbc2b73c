using System.Text;
using System.Text.Json;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Features;

namespace FraudWorkbench.Tests.Features;

public sealed class FeaturizerTests
{
    private static DatasetSchema Schema(params DatasetColumn[] columns) => new(',', columns, "1");

    private static readonly DatasetSchema Transactions = new(',',
    [
        new DatasetColumn("event_time", ColumnType.DateTime, ColumnRole.EventTime, ValueParsing.Iso),
        new DatasetColumn("customer_id", ColumnType.Categorical, ColumnRole.EntityKey),
        new DatasetColumn("amount", ColumnType.Decimal, ColumnRole.Feature),
        new DatasetColumn("ip_country", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("home_country", ColumnType.Categorical, ColumnRole.Feature),
        new DatasetColumn("is_fraud", ColumnType.Boolean, ColumnRole.Label),
    ], "1");

    private static readonly FeatureSetDefinition Recipes = new(
    [
        new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h", "24h"]),
        new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
        new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
    ]);

    private static string?[] Row(string time, string customer, string amount, string ip = "DE", string home = "DE", string fraud = "0") =>
        [time, customer, amount, ip, home, fraud];

    private static float[] Slots(FittedFeatureSet set, float[] matrix, int row) => matrix.AsSpan(row * set.SlotCount, set.SlotCount).ToArray();

    [Fact]
    public void Batch_BurstOfOneCustomer_EachRowSeesOnlyStrictlyEarlierEvents()
    {
        // Out of file order on purpose, with two events at the same instant and another customer in between.
        string?[][] rows =
        [
            Row("2026-01-01T10:02:00Z", "c1", "30"),
            Row("2026-01-01T10:00:00Z", "c1", "10"),
            Row("2026-01-01T10:01:00Z", "c2", "500"),
            Row("2026-01-01T10:01:00Z", "c1", "20"),
            Row("2026-01-01T10:01:00Z", "c1", "5"),
            Row("2026-01-01T12:30:00Z", "c1", "40", ip: "NG"),
        ];
        var set = FeatureSetFitter.Fit(Recipes, Transactions, rows);

        var matrix = BatchFeaturizer.Run(set, rows);

        Assert.Equal(["customer_id__count_1h", "customer_id__sum_amount_1h", "customer_id__count_24h", "customer_id__sum_amount_24h",
            "customer_id__seconds_since_previous", "amount__ratio_to_customer_id_mean", "ip_country__ne__home_country"], set.SlotNames);
        Assert.Equal([0, 0, 0, 0, 86400, 1, 0], Slots(set, matrix, 1));          // the first event sees nothing, not even itself
        Assert.Equal([1, 10, 1, 10, 60, 2, 0], Slots(set, matrix, 3));           // 10:01 sees 10:00 only, not its twin at 10:01
        Assert.Equal([1, 10, 1, 10, 60, 0.5f, 0], Slots(set, matrix, 4));
        Assert.Equal([3, 35, 3, 35, 60, 30 / (35f / 3), 0], Slots(set, matrix, 0)); // 10:02 sees 10:00 and both 10:01 events
        Assert.Equal([0, 0, 4, 65, 8880, 40 / (65f / 4), 1], Slots(set, matrix, 5)); // 2.5 h later: outside 1h, inside 24h
        Assert.Equal([0, 0, 0, 0, 86400, 1, 0], Slots(set, matrix, 2));          // c2 never sees c1
    }

    [Fact]
    public void Fit_NumericImputeClipLogAndStandardize_MatchHandCalculation()
    {
        var schema = Schema(new DatasetColumn("x", ColumnType.Decimal, ColumnRole.Feature));
        string?[][] rows = [["1"], ["2"], ["3"], ["4"], ["100"], ["NA"]];
        var definition = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "x", MissingIndicator: true, Clip: [0.0, 0.75])]);

        var set = FeatureSetFitter.Fit(definition, schema, rows);
        var matrix = BatchFeaturizer.Run(set, rows);

        var f = set.Features[0];
        Assert.Equal((3.0, 1.0, 4.0), (f.Fill!.Value, f.ClipLow!.Value, f.ClipHigh!.Value)); // median of 1,2,3,4,100; p75: h = 3 -> 4
        Assert.Equal([1, 0, 2, 0, 3, 0, 4, 0, 4, 0, 3, 1], matrix);                         // 100 clipped to 4; NA -> 3 with indicator

        var scaled = FeatureSetFitter.Fit(new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "x", Impute: "mean", Log1p: true, Standardize: true)]), schema, rows);
        var logs = new[] { 1, 2, 3, 4, 100, 22 }.Select(v => Math.Log(1 + v)).ToArray();    // mean of 1,2,3,4,100 = 22
        var mean = logs.Average();
        var std = Math.Sqrt(logs.Sum(v => (v - mean) * (v - mean)) / 5);
        Assert.Equal(mean, scaled.Features[0].Mean!.Value, 12);
        Assert.Equal(std, scaled.Features[0].Std!.Value, 12);
        Assert.Equal((float)((Math.Log(2) - mean) / std), BatchFeaturizer.Run(scaled, rows)[0], 6);
    }

    [Fact]
    public void Fit_OneHotFrequencyAndWeightOfEvidence_FromTheFittingRowsOnly()
    {
        var schema = Schema(new DatasetColumn("cat", ColumnType.Categorical, ColumnRole.Feature), new DatasetColumn("y", ColumnType.Boolean, ColumnRole.Label));
        string?[][] rows = [["a", "1"], ["a", "0"], ["a", "0"], ["b", "0"], ["c", "1"], [null, "0"]];
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.OneHot, Column: "cat", TopK: 1),
            new FeatureSpec(FeatureKind.Frequency, Column: "cat"),
            new FeatureSpec(FeatureKind.TargetEncoding, Column: "cat"),
        ]);

        var set = FeatureSetFitter.Fit(definition, schema, rows);
        var unseen = new float[set.SlotCount];
        new Featurizer(set).Compute(["zzz", null], null, (_, _) => null, unseen);

        Assert.Equal(["cat=a", "cat=(other)", "cat__freq", "cat__woe"], set.SlotNames);
        Assert.Equal(0.5, set.Features[1].Encoding!["a"], 12);
        // P = 2 frauds, N = 4 legitimate; 'a' has 1 and 2: ln(1.5/2.5) - ln(2.5/4.5).
        Assert.Equal(Math.Log(1.5 / 2.5) - Math.Log(2.5 / 4.5), set.Features[2].Encoding!["a"], 12);
        Assert.Equal([0, 1, 0, 0], unseen); // an unseen category: "other", frequency 0, no evidence
    }

    [Fact]
    public void OutOfFoldTargetEncoding_CategoryOnlyInItsOwnFold_GetsThePriorAnUnseenValueGetsWhenScored()
    {
        // Five rows, five folds of one row each: every row is encoded by a fit on the other four.
        var schema = Schema(new DatasetColumn("cat", ColumnType.Categorical, ColumnRole.Feature), new DatasetColumn("y", ColumnType.Boolean, ColumnRole.Label));
        string?[][] rows = [["a", "1"], ["a", "0"], ["b", "0"], ["b", "0"], ["c", "1"]];
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition([new FeatureSpec(FeatureKind.TargetEncoding, Column: "cat")]), schema, rows);
        var matrix = BatchFeaturizer.Run(set, rows);

        FeatureSetFitter.ApplyOutOfFoldTargetEncoding(set, rows, matrix);
        var scored = new float[2];
        var featurizer = new Featurizer(set);
        featurizer.Compute(["zzz", null], null, (_, _) => null, scored.AsSpan(0, 1));
        featurizer.Compute(["c", null], null, (_, _) => null, scored.AsSpan(1, 1));

        // Row 0 ('a', fraud) sees rows 1-4: 'a' has 0 frauds and 1 legitimate of P = 1, N = 3: ln(0.5/1.5) - ln(1.5/3.5) = ln(7/9).
        Assert.Equal(Math.Log(7.0 / 9), matrix[0], 6);
        Assert.Equal(-0.251314, matrix[0], 6);
        // 'c' is only in its own fold: training gave it weight of evidence 0, which an unseen value gets when scored.
        Assert.Equal(0, matrix[4]);
        Assert.Equal(0, scored[0]);
        // The full fit, which scoring uses: 'c' has 1 fraud, 0 legitimate of P = 2, N = 3: ln(1.5/2.5) - ln(0.5/3.5) = ln(4.2).
        Assert.Equal(1.435085, scored[1], 5);
    }

    [Fact]
    public void Compute_BooleanColumnSpelledYesNo_AnySpellingIsTheSameCategory()
    {
        // The file spelled the flag Yes/No; a transaction may send true, 1, y or YES (the API turns them all into true/false).
        var schema = Schema(new DatasetColumn("flag", ColumnType.Boolean, ColumnRole.Feature), new DatasetColumn("y", ColumnType.Boolean, ColumnRole.Label));
        string?[][] rows = [["Yes", "1"], ["Yes", "0"], ["No", "0"], ["No", "0"], ["No", "0"], ["No", "1"]];
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.OneHot, Column: "flag", TopK: 1),
            new FeatureSpec(FeatureKind.Frequency, Column: "flag"),
            new FeatureSpec(FeatureKind.TargetEncoding, Column: "flag"),
        ]), schema, rows);
        var featurizer = new Featurizer(set);
        float[] Features(string value)
        {
            var output = new float[set.SlotCount];
            featurizer.Compute([value, null], null, (_, _) => null, output);
            return output;
        }

        Assert.Equal(["flag=No", "flag=(other)", "flag__freq", "flag__woe"], set.SlotNames);
        // 'Yes': 2 of 6 rows; 1 fraud and 1 legitimate of P = 2, N = 4: ln(1.5/2.5) - ln(1.5/4.5) = ln(1.8) = 0.587787.
        float[] yes = [0, 1, (float)(2.0 / 6), (float)(Math.Log(1.5 / 2.5) - Math.Log(1.5 / 4.5))];
        float[] no = [1, 0, (float)(4.0 / 6), (float)(Math.Log(1.5 / 2.5) - Math.Log(3.5 / 4.5))];
        Assert.Equal(0.587787, yes[3], 6);
        Assert.Equal(yes, Features("Yes"));
        foreach (var spelling in new[] { "true", "1", "y", "YES", "t" }) Assert.Equal(yes, Features(spelling));
        foreach (var spelling in new[] { "false", "0", "n", "no", "F" }) Assert.Equal(no, Features(spelling));
        Assert.True(featurizer.Knows(1, ["true", null]));
        Assert.Equal("true", featurizer.CategoryValue(0, [" YES ", null]));
    }

    [Fact]
    public void Knows_TopKOrFittedEncoding_MissingIsNotAValue()
    {
        var schema = Schema(new DatasetColumn("cat", ColumnType.Categorical, ColumnRole.Feature), new DatasetColumn("n", ColumnType.Decimal, ColumnRole.Feature));
        string?[][] rows = [["a", "1"], ["a", "0"], ["b", "0"]];
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.OneHot, Column: "cat", TopK: 1),
            new FeatureSpec(FeatureKind.Frequency, Column: "cat"),
            new FeatureSpec(FeatureKind.Numeric, Column: "n"),
        ]), schema, rows);
        var featurizer = new Featurizer(set);

        Assert.Equal((true, true), (featurizer.Knows(0, [" a ", "1"]), featurizer.Knows(1, ["a", "1"])));
        Assert.Equal((false, true), (featurizer.Knows(0, ["b", "1"]), featurizer.Knows(1, ["b", "1"]))); // rare: outside the top 1, but fitted
        Assert.Equal((false, false), (featurizer.Knows(0, ["new", "1"]), featurizer.Knows(1, ["new", "1"])));
        Assert.Equal((null, null), (featurizer.Knows(0, [null, "1"]), featurizer.Knows(1, ["NA", "1"])));
        Assert.Null(featurizer.Knows(2, ["a", "1"])); // not a category feature
    }

    [Fact]
    public void Hash_SameMeaningSameHash_AnyChangeNewHash()
    {
        var spelledOut = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["24h", "1h", "7d"])]);
        var defaults = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id")]);
        var otherWindows = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1h"])]);
        var retyped = Transactions with { Columns = [.. Transactions.Columns.Select(c => c.Name == "amount" ? c with { Type = ColumnType.Integer } : c)] };

        Assert.Equal(spelledOut.Hash(Transactions), defaults.Hash(Transactions));
        Assert.Equal(64, defaults.Hash(Transactions).Length);
        Assert.NotEqual(defaults.Hash(Transactions), otherWindows.Hash(Transactions));
        Assert.NotEqual(defaults.Hash(Transactions), defaults.Hash(retyped));
        // Pinned: if this changes, every saved feature set would silently get a new hash.
        Assert.StartsWith("941b7779", defaults.Hash(Transactions));

        var oneDay = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["1d", "1H", "1h", "168h"])]);
        Assert.Equal(defaults.Hash(Transactions), oneDay.Hash(Transactions)); // 1d = 24h, 168h = 7d, duplicates dropped
        var oneHot = new FeatureSetDefinition([new FeatureSpec(FeatureKind.OneHot, Column: "ip_country")]);
        Assert.Equal(oneHot.Hash(Transactions), new FeatureSetDefinition([new FeatureSpec(FeatureKind.OneHot, Column: "ip_country", Log1p: true, TopK: 10)]).Hash(Transactions));
        var epochTime = Transactions with { Columns = [.. Transactions.Columns.Select(c => c.Role == ColumnRole.EventTime ? c with { DateFormat = ValueParsing.EpochSeconds } : c)] };
        Assert.NotEqual(oneHot.Hash(Transactions), oneHot.Hash(epochTime)); // the event time's format changes what velocity means
    }

    [Fact]
    public void Validate_WrongTypesMissingColumnsAndNoEventTime_EveryProblemNamed()
    {
        var noTime = Transactions with { Columns = [.. Transactions.Columns.Where(c => c.Role != ColumnRole.EventTime)] };
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.DateParts, Column: "amount"),
            new FeatureSpec(FeatureKind.Numeric, Column: "nope"),
            new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id"),
            new FeatureSpec(FeatureKind.Numeric, Column: "is_fraud"),
            new FeatureSpec(FeatureKind.Velocity, Entity: "amount", Windows: ["2w"]),
        ]);

        var error = Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(definition, noTime));

        var fields = error.Issues.Select(i => i.Field).ToList();
        Assert.Contains("features[0].column", fields);
        Assert.Contains(error.Issues, i => i.Field == "features[1].column" && i.Message.Contains("no column 'nope'"));
        Assert.Contains(error.Issues, i => i.Field == "features[2].kind" && i.Message.Contains("event-time"));
        Assert.Contains(error.Issues, i => i.Field == "features[3].column" && i.Message.Contains("label"));
        Assert.Contains(error.Issues, i => i.Field == "features[4].entity" && i.Message.Contains("not an entity key"));
        Assert.Contains(error.Issues, i => i.Field == "features[4].windows");
    }

    [Fact]
    public void Validate_RepeatsProtectedInputsAndHugeWindows_Refused()
    {
        var schema = Transactions with { Columns = [.. Transactions.Columns, new DatasetColumn("gender", ColumnType.Categorical, ColumnRole.Protected)] };
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["99999999d"]),
            new FeatureSpec(FeatureKind.OneHot, Column: "gender"),
        ]);
        var repeated = new FeatureSetDefinition([new FeatureSpec(FeatureKind.Numeric, Column: "amount"), new FeatureSpec(FeatureKind.Numeric, Column: "amount", Impute: "median")]);

        var error = Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(definition, schema));
        var repeat = Assert.Throws<FeatureValidationException>(() => FeatureValidation.Validate(repeated, schema));

        Assert.Contains(error.Issues, i => i.Field == "features[0].windows" && i.Message.Contains("longest window"));
        Assert.Contains(error.Issues, i => i.Field == "features[1].column" && i.Message.Contains("protected"));
        Assert.Equal(("features[1]", "repeats features[0]."), (repeat.Issues.Single().Field, repeat.Issues.Single().Message));
    }

    [Fact]
    public void SecondsSincePrevious_CappedSoNeverSeenIsNotMoreRecentThanLongAgo()
    {
        string?[][] rows = [Row("2026-01-01T00:00:00Z", "c1", "10"), Row("2026-01-02T01:00:00Z", "c1", "10"), Row("2026-01-02T01:00:00Z", "c9", "10")];
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Entity: "customer_id", Windows: ["1h"])]), Transactions, rows);

        var matrix = BatchFeaturizer.Run(set, rows);

        Assert.Equal(3600, Slots(set, matrix, 1)[^1]); // 25 h ago, capped at the window
        Assert.Equal(3600, Slots(set, matrix, 2)[^1]); // never seen
    }

    [Fact]
    public void Online_LateEventWithinTheAllowedLateness_SeesWhatTheBatchSees()
    {
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition([new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id", Windows: ["7d"])]), Transactions,
            [Row("2026-01-01T00:00:00Z", "c1", "1")]);
        string?[][] arrival = [Row("2026-01-01T00:00:00Z", "c1", "1"), Row("2026-01-08T12:00:00Z", "c1", "2"), Row("2026-01-07T22:00:00Z", "c1", "4")];
        var featurizer = new Featurizer(set);
        var history = new EntityHistory();
        var late = new float[set.SlotCount];
        foreach (var row in arrival)
        {
            var ticks = featurizer.EventTicks(row)!.Value;
            featurizer.Compute(row, ticks, (_, _) => history, late);
            featurizer.Observe(row, ticks, (_, _) => history);
        }

        var batch = BatchFeaturizer.Run(set, arrival);

        Assert.Equal(Slots(set, batch, 2), late);
        Assert.Equal([1, 1, 597600], late);
    }

    [Fact]
    public void OnlineReplay_LargeAmountsWithTies_EqualsBatchExactly()
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 20_000)
            .Select(i => Row($"2026-01-{1 + i / 1000:00}T{i % 24:00}:00:00Z", $"c{random.Next(50)}", (random.NextDouble() * 1e9).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        var set = FeatureSetFitter.Fit(new FeatureSetDefinition([new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id")]), Transactions, rows);
        var batch = BatchFeaturizer.Run(set, rows);
        var featurizer = new Featurizer(set);
        var histories = new Dictionary<string, EntityHistory>();
        var online = new float[batch.Length];

        foreach (var r in BatchFeaturizer.TimeOrder([.. rows.Select(featurizer.EventTicks)]))
        {
            var ticks = featurizer.EventTicks(rows[r])!.Value;
            var stored = histories.TryGetValue(rows[r][1]!, out var kept) ? EntityHistory.FromBytes(kept.ToBytes()) : new EntityHistory();
            featurizer.Compute(rows[r], ticks, (_, _) => stored, online.AsSpan(r, 1));
            featurizer.Observe(rows[r], ticks, (_, _) => stored);
            histories[rows[r][1]!] = stored;
        }

        Assert.Equal(batch, online);
    }

    [Fact]
    public void OnlineReplay_SampleMonthInTimeOrder_EqualsBatchExactly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "transactions-month-a.csv");
        var schema = SchemaInference.Infer(path, ',');
        List<string?[]> rows;
        using (var file = File.OpenRead(path)) rows = DatasetRows.Read(file, schema);
        var definition = new FeatureSetDefinition(
        [
            new FeatureSpec(FeatureKind.Numeric, Column: "amount", Log1p: true),
            new FeatureSpec(FeatureKind.OneHot, Column: "merchant_category", TopK: 5),
            new FeatureSpec(FeatureKind.DateParts, Column: "event_time"),
            new FeatureSpec(FeatureKind.Mismatch, Column: "ip_country", Other: "home_country"),
            new FeatureSpec(FeatureKind.EntityRatio, Column: "amount", Entity: "customer_id"),
            new FeatureSpec(FeatureKind.Velocity, Column: "amount", Entity: "customer_id"),
        ]);
        var set = FeatureSetFitter.Fit(definition, schema, rows);
        var batch = BatchFeaturizer.Run(set, rows);

        // The scoring path: one transaction at a time, its entity state loaded from and saved to storage
        // (serialised here exactly as the PostgreSQL store keeps it).
        var featurizer = new Featurizer(set);
        var stored = new Dictionary<(int, string), byte[]>();
        var online = new float[batch.Length];
        var order = Enumerable.Range(0, rows.Count).OrderBy(r => featurizer.EventTicks(rows[r])).ThenBy(r => r).ToList();
        foreach (var r in order)
        {
            var loaded = new Dictionary<(int, string), EntityHistory>();
            EntityHistory Load(int f, string key)
            {
                if (!loaded.TryGetValue((f, key), out var h))
                    loaded[(f, key)] = h = stored.TryGetValue((f, key), out var bytes) ? EntityHistory.FromBytes(bytes) : new EntityHistory();
                return h;
            }

            var ticks = featurizer.EventTicks(rows[r])!.Value;
            featurizer.Compute(rows[r], ticks, (f, key) => stored.ContainsKey((f, key)) ? Load(f, key) : null, online.AsSpan(r * set.SlotCount, set.SlotCount));
            featurizer.Observe(rows[r], ticks, Load);
            foreach (var (key, history) in loaded) stored[key] = history.ToBytes();
        }

        var maxDifference = batch.Zip(online, (a, b) => Math.Abs(a - b)).Max();
        Assert.Equal(0, maxDifference);
        Assert.Equal(40_000, rows.Count);
        Assert.True(batch.Where((_, i) => i % set.SlotCount == set.SlotNames.ToList().IndexOf("customer_id__count_1h")).Any(v => v >= 3), "the sample's bursts show up in the 1h count");
    }
}

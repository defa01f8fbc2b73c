using System.Globalization;
using FraudWorkbench.Core.Data;
using FraudWorkbench.Core.Fairness;

namespace FraudWorkbench.Bench;

/// <summary>
/// <c>bench fairness</c>'s holdout: rows with two protected columns (sex F/M with about 1 % missing; age, banded by
/// <see cref="SchemaInference.DefaultAgeBands"/>), a fraud label and a model's probability, with a planted disparity:
/// the 18–24 band's scores are pushed up by <see cref="PlantedShift"/> in log-odds, so at the same fraud rate it is
/// flagged more often (a higher selection rate and false positive rate). Sex is fair by construction.
/// </summary>
public static class FairnessData
{
    public const double FraudRate = 0.02;
    public const double SexMissing = 0.01;
    public const double AgeMissing = 0.003;
    public const double Threshold = 0.5;

    /// <summary>Added to the log-odds of every row aged 18–24 (the planted disparity).</summary>
    public const double PlantedShift = 1.0;

    public const double PlantedFrom = 18, PlantedTo = 25;

    /// <summary>Bytes of one exported row: sex (int8, 0 F, 1 M, −1 missing), label (int8), age (float64, NaN missing), score (float64).</summary>
    public const int RecordBytes = 18;

    public static readonly string[] Sexes = ["F", "M"];

    /// <param name="Sex">0 F, 1 M, −1 missing.</param>
    /// <param name="Age">Whole years; NaN when missing.</param>
    public sealed record Holdout(sbyte[] Sex, double[] Age, bool[] Labels, double[] Scores)
    {
        public int Rows => Labels.Length;

        /// <summary>The rows' cells in <see cref="Schema"/>'s order, as a dataset's rows reach <see cref="FairnessGroups.Of"/> (null = missing).</summary>
        public IReadOnlyList<string?[]> Cells()
        {
            var ages = Enumerable.Range(0, 121).Select(a => a.ToString(CultureInfo.InvariantCulture)).ToArray();
            var cells = new string?[Rows][];
            for (var r = 0; r < Rows; r++) cells[r] = [Sex[r] < 0 ? null : Sexes[Sex[r]], double.IsNaN(Age[r]) ? null : ages[(int)Age[r]]];
            return cells;
        }
    }

    /// <summary>The two protected columns as a dataset marks them: sex categorical, age numeric with the default age bands.</summary>
    public static readonly DatasetSchema Schema = new(',',
    [
        new DatasetColumn("sex", ColumnType.Categorical, ColumnRole.Protected),
        new DatasetColumn("age", ColumnType.Integer, ColumnRole.Protected, AgeBands: SchemaInference.DefaultAgeBands),
    ]);

    /// <summary>
    /// The same seed gives the same rows. Age: 17 to 90, younger more often; fraud with probability <see cref="FraudRate"/>
    /// in every group; log-odds normal (−4 for legitimate rows, +1 for fraud, sd 1.5) plus the planted shift.
    /// </summary>
    public static Holdout Generate(int rows, int seed)
    {
        var random = new Random(seed);
        var sex = new sbyte[rows];
        var age = new double[rows];
        var labels = new bool[rows];
        var scores = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            sex[r] = random.NextDouble() < SexMissing ? (sbyte)-1 : (sbyte)random.Next(2);
            var years = 17 + Math.Floor(74 * Math.Pow(random.NextDouble(), 1.3));
            age[r] = random.NextDouble() < AgeMissing ? double.NaN : years;
            labels[r] = random.NextDouble() < FraudRate;
            var logit = (labels[r] ? 1.0 : -4.0) + 1.5 * Normal(random) + (years is >= PlantedFrom and < PlantedTo ? PlantedShift : 0);
            scores[r] = 1 / (1 + Math.Exp(-logit));
        }

        return new Holdout(sex, age, labels, scores);
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>The rows as little-endian records of <see cref="RecordBytes"/> bytes, for numpy.fromfile.</summary>
    public static void Export(Holdout holdout, Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        for (var r = 0; r < holdout.Rows; r++)
        {
            writer.Write(holdout.Sex[r]);
            writer.Write((sbyte)(holdout.Labels[r] ? 1 : 0));
            writer.Write(holdout.Age[r]);
            writer.Write(holdout.Scores[r]);
        }
    }
}

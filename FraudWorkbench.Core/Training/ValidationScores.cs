using System.Buffers.Binary;

namespace FraudWorkbench.Core.Training;

/// <summary>
/// A run's validation probabilities and labels (and, for cost-based runs, the amounts a missed fraud costs),
/// kept as an artifact so that the run page can show metrics at any threshold without retraining.
/// </summary>
/// <param name="SampleRate">1 when every validation row is kept; below 1 when a large validation set was
/// sampled (each class at this same rate), so counts and costs are scaled back by ÷ rate.</param>
/// <param name="Days">How many days the validation rows span (1 when there is no event time).</param>
public sealed record ValidationScores(double[] Probabilities, bool[] Labels, double[]? Amounts, double SampleRate = 1, double Days = 1)
{
    /// <summary>Bounds the artifact (17 bytes a row) and the page's memory and bootstrap time.</summary>
    public const int MaxRows = 200_000;

    private const uint Magic = 0x31535646; // "FVS1"

    public int Count => Labels.Length;

    /// <summary>All rows up to <see cref="MaxRows"/>; beyond it each class is sampled at the same rate, so rates and shares stay unbiased.</summary>
    public static ValidationScores Keep(double[] probabilities, bool[] labels, double[]? amounts, double days, int seed, int maxRows = MaxRows)
    {
        if (probabilities.Length != labels.Length || amounts is not null && amounts.Length != labels.Length)
            throw new ArgumentException("Probabilities, labels and amounts must have one value per row.");
        if (labels.Length <= maxRows) return new ValidationScores(probabilities, labels, amounts, 1, days);
        var rate = (double)maxRows / labels.Length;
        var random = new Random(seed);
        var keep = new List<int>(maxRows);
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            keep.AddRange(members.Take((int)Math.Round(members.Length * rate)));
        }

        keep.Sort();
        return new ValidationScores(
            [.. keep.Select(i => probabilities[i])], [.. keep.Select(i => labels[i])], amounts is null ? null : [.. keep.Select(i => amounts[i])], rate, days);
    }

    public byte[] Serialize()
    {
        var width = 8 + 1 + (Amounts is null ? 0 : 8);
        var bytes = new byte[4 + 4 + 1 + 8 + 8 + Count * width];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], Count);
        span[8] = Amounts is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteDoubleLittleEndian(span[9..], SampleRate);
        BinaryPrimitives.WriteDoubleLittleEndian(span[17..], Days);
        var offset = 25;
        for (var i = 0; i < Count; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(span[offset..], Probabilities[i]);
            span[offset + 8] = Labels[i] ? (byte)1 : (byte)0;
            if (Amounts is not null) BinaryPrimitives.WriteDoubleLittleEndian(span[(offset + 9)..], Amounts[i]);
            offset += width;
        }

        return bytes;
    }

    /// <summary>The run's stored validation scores, or null when the run kept none (trained before they were stored).</summary>
    /// <exception cref="Artifacts.ArtifactCorruptedException">The stored file failed its checksum.</exception>
    public static async Task<ValidationScores?> LoadAsync(TrainingRun run, Artifacts.ArtifactStore artifacts, CancellationToken cancellationToken = default)
    {
        if (run.Result is not { ValidationScores: { } sha256 }) return null;
        await using var stream = await artifacts.OpenReadAsync(sha256, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    public static ValidationScores Deserialize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 25 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic) throw new InvalidDataException("Not a validation scores file.");
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        var hasAmounts = bytes[8] == 1;
        var width = 8 + 1 + (hasAmounts ? 8 : 0);
        if (count < 0 || bytes.Length != 25 + (long)count * width) throw new InvalidDataException("The validation scores file is truncated.");
        var probabilities = new double[count];
        var labels = new bool[count];
        var amounts = hasAmounts ? new double[count] : null;
        var offset = 25;
        for (var i = 0; i < count; i++)
        {
            probabilities[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[offset..]);
            labels[i] = bytes[offset + 8] == 1;
            if (amounts is not null) amounts[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(offset + 9)..]);
            offset += width;
        }

        return new ValidationScores(probabilities, labels, amounts, BinaryPrimitives.ReadDoubleLittleEndian(bytes[9..]), BinaryPrimitives.ReadDoubleLittleEndian(bytes[17..]));
    }
}

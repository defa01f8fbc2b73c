using Microsoft.ML;
using Microsoft.ML.Data;

namespace FraudWorkbench.Core.Training;

/// <summary>
/// A row-major feature matrix seen as an ML.NET data view (Features, Label, Weight) without copying it
/// into one object per row: each cursor fills ML.NET's reusable vector straight from the matrix.
/// </summary>
internal sealed class MatrixDataView : IDataView
{
    public const string Features = "Features";
    public const string Label = "Label";
    public const string Weight = "Weight";

    private readonly TrainingData data;

    /// <param name="slotNames">Names of the inputs, for ML.NET components that report per input (permutation feature importance).</param>
    public MatrixDataView(TrainingData data, IReadOnlyList<string>? slotNames = null)
    {
        this.data = data;
        Schema = SchemaFor(data.Width, slotNames);
    }

    public static DataViewSchema SchemaFor(int width, IReadOnlyList<string>? slotNames = null)
    {
        var builder = new DataViewSchema.Builder();
        DataViewSchema.Annotations? annotations = null;
        if (slotNames is not null)
        {
            if (slotNames.Count != width) throw new ArgumentException($"{slotNames.Count} input names for {width} inputs.", nameof(slotNames));
            var names = new DataViewSchema.Annotations.Builder();
            names.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, width), (ref VBuffer<ReadOnlyMemory<char>> value) =>
                value = new VBuffer<ReadOnlyMemory<char>>(width, [.. slotNames.Select(n => n.AsMemory())]));
            annotations = names.ToAnnotations();
        }

        builder.AddColumn(Features, new VectorDataViewType(NumberDataViewType.Single, width), annotations);
        builder.AddColumn(Label, BooleanDataViewType.Instance);
        builder.AddColumn(Weight, NumberDataViewType.Single);
        return builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => data.Rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(MatrixDataView view) : DataViewRowCursor
    {
        private long position = -1;

        public override long Position => position;

        public override long Batch => 0;

        public override DataViewSchema Schema => view.Schema;

        public override bool MoveNext() => ++position < view.data.Rows;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var data = view.data;
            Delegate getter = column.Index switch
            {
                0 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    var editor = VBufferEditor.Create(ref value, data.Width);
                    data.Features.AsSpan((int)position * data.Width, data.Width).CopyTo(editor.Values);
                    value = editor.Commit();
                }),
                1 => (ValueGetter<bool>)((ref bool value) => value = data.Labels[position]),
                2 => (ValueGetter<float>)((ref float value) => value = data.Weights?[position] ?? 1f),
                _ => throw new ArgumentOutOfRangeException(nameof(column)),
            };
            return (ValueGetter<TValue>)getter;
        }
    }
}

using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using Google.Protobuf;
using DataType = Edge.Distill.Onnx.Proto.TensorProto.Types.DataType;

namespace Edge.Distill.Export;

/// <summary>
/// The parts every exported decoder shares, whatever its attention and feed-forward: the
/// runtime's inputs (input_ids, attention_mask, position_ids), the causal mask over absolute
/// positions, the cache write (concatenated or a shared buffer written at position_ids),
/// RoPE tables, RMSNorm, linear layers from Hugging Face's [out, in] weights, SwiGLU and the LM head.
/// </summary>
internal sealed class DecoderGraph
{
    private readonly IReadOnlyDictionary<string, (long[] Shape, float[] Data)> _weights;
    private readonly float _rmsNormEps;

    public DecoderGraph(IReadOnlyDictionary<string, (long[] Shape, float[] Data)> weights, CacheLayout layout, float rmsNormEps, ExternalData? external)
    {
        G = new OnnxGraphBuilder(external);
        _weights = weights;
        _rmsNormEps = rmsNormEps;
        Layout = layout;
        InputIds = G.Input("input_ids", DataType.Int64, "batch", "sequence");
        AttentionMaskInput = G.Input("attention_mask", DataType.Int64, "batch", KeysAxis);
        PositionIds = G.Input("position_ids", DataType.Int64, "batch", "sequence");
        if (layout == CacheLayout.Shared)
        {
            AttendedLength = G.Op("Add", [G.Op("Reshape", [G.Op("ReduceMax", [PositionIds], ("keepdims", 0L)), G.Int64s(1)]), G.Int64s(1)]);
            Mask = AttentionMask(PositionIds, Attended(AttentionMaskInput));
            CacheIndices = CacheWriteIndices(PositionIds);
        }
        else
        {
            Mask = AttentionMask(PositionIds, AttentionMaskInput);
        }
    }

    public OnnxGraphBuilder G { get; }

    public CacheLayout Layout { get; }

    public string InputIds { get; }

    public string AttentionMaskInput { get; }

    public string PositionIds { get; }

    /// <summary>[B, 1, S, T] boolean: which keys each query sees.</summary>
    public string Mask { get; }

    /// <summary>
    /// Shared layout: [1] int64, the highest position in the step plus one. Cache row p holds position
    /// p, so no query of the step sees a key at or past it: attention reads only this many rows of the
    /// buffer, and its cost follows the longest sequence in the batch, not the buffer's capacity.
    /// </summary>
    public string? AttendedLength { get; }

    /// <summary>Shared layout: where the new rows go in the cache buffers; null when caches concatenate.</summary>
    public string? CacheIndices { get; }

    // Concatenating caches grow by S each step; shared ones are a fixed-capacity buffer that the
    // graph writes into at position_ids and that is fed back as the next past unchanged.
    public string KeysAxis => Layout == CacheLayout.Shared ? "cache_capacity" : "total_sequence";

    public string PastAxis => Layout == CacheLayout.Shared ? "cache_capacity" : "past_sequence";

    public static string PastName(int layer, string cache) => $"past_key_values.{layer}.{cache}";

    public static string PresentName(int layer, string cache) => $"present.{layer}.{cache}";

    public bool Has(string name) => _weights.ContainsKey(name);

    public (long[] Shape, float[] Data) this[string name] =>
        _weights.TryGetValue(name, out var w) ? w : throw new InvalidDataException($"the checkpoint has no '{name}'.");

    /// <summary>Declares a [B, past, width] state input for a layer's cache.</summary>
    public void StateInput(int layer, string cache, int width) => G.Input(PastName(layer, cache), DataType.Float, "batch", PastAxis, width);

    public void StateOutput(int layer, string cache, int width) => G.Output(PresentName(layer, cache), DataType.Float, "batch", KeysAxis, width);

    /// <summary>
    /// Concatenated: past then the new rows. Shared: the new rows written into the buffer at their
    /// positions, of which the first <see cref="AttendedLength"/> are returned. What attention reads.
    /// </summary>
    public string AppendToCache(int layer, string cache, string rows) => CacheIndices is null
        ? G.OpNamed("Concat", PresentName(layer, cache), [PastName(layer, cache), rows], ("axis", 1L))
        : Attended(G.OpNamed("ScatterND", PresentName(layer, cache), [PastName(layer, cache), CacheIndices, rows]));

    /// <summary>The first <see cref="AttendedLength"/> entries along axis 1.</summary>
    private string Attended(string tensor) => G.Op("Slice", [tensor, G.Int64s(0), AttendedLength!, G.Int64s(1)]);

    /// <summary>cos and sin of the RoPE angles, [B, S, 2 x inverse frequencies], from position_ids, each scaled by <paramref name="magnitude"/>.</summary>
    public (string Cos, string Sin) RopeTables(float[] inverseFrequencies, float magnitude = 1f)
    {
        string frequencies = G.Op("Mul", [
            G.Op("Unsqueeze", [G.Op("Cast", [PositionIds], ("to", (long)DataType.Float)), G.Int64s(-1)]),
            G.Initializer("rope.inv_freq", inverseFrequencies, inverseFrequencies.Length)]);
        string angles = G.Op("Concat", [frequencies, frequencies], ("axis", -1L));
        string cos = G.Op("Cos", [angles]), sin = G.Op("Sin", [angles]);
        return magnitude == 1f ? (cos, sin) : (G.Op("Mul", [cos, G.Scalar(magnitude)]), G.Op("Mul", [sin, G.Scalar(magnitude)]));
    }

    /// <summary>Plain RoPE frequencies: theta^(-2i/dim).</summary>
    public static float[] InverseFrequencies(int dim, double theta) =>
        [.. Enumerable.Range(0, dim / 2).Select(i => (float)(1.0 / Math.Pow(theta, 2.0 * i / dim)))];

    /// <summary>
    /// x * cos + rotate_half(x) * sin over the last axis. With <paramref name="interleave"/>
    /// (DeepSeek-V3's rope_interleave) the pairs are first de-interleaved, as Hugging Face does.
    /// </summary>
    public string ApplyRope(string x, string cos, string sin, int rank, int dim, bool interleave)
    {
        if (interleave)
        {
            long[] pairs = [.. Enumerable.Repeat(0L, rank - 1), dim / 2, 2];
            long[] perm = [.. Enumerable.Range(0, rank - 1).Select(i => (long)i), rank, rank - 1];
            long[] back = [.. Enumerable.Repeat(0L, rank - 1), dim];
            x = G.Op("Reshape", [G.Op("Transpose", [G.Op("Reshape", [x, G.Int64s(pairs)])], ("perm", perm)), G.Int64s(back)]);
        }
        var halves = G.OpWithOutputs("Split", [x, G.Int64s(dim / 2, dim / 2)], 2, ("axis", -1L));
        string rotated = G.Op("Concat", [G.Op("Neg", [halves[1]]), halves[0]], ("axis", -1L));
        return G.Op("Add", [G.Op("Mul", [x, cos]), G.Op("Mul", [rotated, sin])]);
    }

    public string RmsNorm(string x, string weightName)
    {
        string variance = G.Op("ReduceMean", [G.Op("Mul", [x, x])], ("axes", new long[] { -1 }), ("keepdims", 1L));
        string normalized = G.Op("Div", [x, G.Op("Sqrt", [G.Op("Add", [variance, G.Scalar(_rmsNormEps)])])]);
        return G.Op("Mul", [Weight(weightName), normalized]);
    }

    public string Silu(string x) => G.Op("Mul", [x, G.Op("Sigmoid", [x])]);

    /// <summary>x W^T (+ b when the checkpoint has a bias of the same prefix).</summary>
    public string Linear(string x, string weightName)
    {
        string y = G.Op("MatMul", [x, TransposedWeight(weightName)]);
        string bias = weightName[..^"weight".Length] + "bias";
        return Has(bias) ? G.Op("Add", [y, Weight(bias)]) : y;
    }

    /// <summary>SwiGLU: down(silu(gate(x)) * up(x)).</summary>
    public string Mlp(string x, string prefix) =>
        Linear(G.Op("Mul", [Silu(Linear(x, prefix + "gate_proj.weight")), Linear(x, prefix + "up_proj.weight")]), prefix + "down_proj.weight");

    /// <summary>
    /// The input <c>logits_to_keep</c> ([1] int64, as in Hugging Face): 0 gives logits for every
    /// position (evaluation, verification); k > 0 only for the last k, so a prefill that samples one
    /// token does not project the whole prompt onto the vocabulary. A plain input, not an initializer
    /// default: ONNX Runtime would warn at every load that such a default blocks constant folding.
    /// </summary>
    private const string LogitsToKeep = "logits_to_keep";

    /// <summary>The logits output, [B, kept positions, vocabulary], from the tied embedding or lm_head.weight.</summary>
    public void LmHead(string h, int hidden, int vocabulary, bool tied, string embedding)
    {
        string keep = G.Input(LogitsToKeep, DataType.Int64, 1);
        string length = G.Op("Gather", [G.Op("Shape", [h]), G.Int64s(1)], ("axis", 0L));                                  // [1]
        string start = G.Op("Mul", [G.Op("Sub", [length, keep]), G.Op("Cast", [G.Op("Greater", [keep, G.Int64s(0)])], ("to", (long)DataType.Int64))]);
        h = G.Op("Slice", [h, start, length, G.Int64s(1)]);                                                                 // [B, kept, H]
        string flat = G.Op("Reshape", [h, G.Int64s(-1, hidden)]);
        string logits = tied
            ? G.Op("Gemm", [flat, embedding], ("transB", 1L))
            : G.Op("MatMul", [flat, TransposedWeight("lm_head.weight")]);
        string shape = G.Op("Concat", [G.Op("Slice", [G.Op("Shape", [h]), G.Int64s(0), G.Int64s(2)]), G.Int64s(vocabulary)], ("axis", 0L));
        G.OpNamed("Reshape", "logits", [logits, shape]);
        G.Output("logits", DataType.Float, "batch", "kept_sequence", vocabulary);
    }

    public string Weight(string name)
    {
        var (shape, data) = this[name];
        return G.Initializer(name, data, shape);
    }

    /// <summary>
    /// A [out, in] weight as the [in, out] initializer MatMul takes, written a block of rows at a
    /// time: a 7B model's untied LM head is 2.2 GB in float32, and a whole transposed copy next to
    /// it doubled the import's peak memory (4.2 GB).
    /// </summary>
    public string TransposedWeight(string name)
    {
        var (shape, data) = this[name];
        int rows = (int)shape[0], columns = (int)shape[1];
        return G.Initializer(name + "_t", TransposedBlocks(data, rows, columns), columns, rows);
    }

    /// <summary>
    /// The transpose of a [rows, columns] matrix, as consecutive blocks of its rows (about 16 MB
    /// each). One buffer is reused for every full block, as each is written before the next is
    /// asked for: a new 16 MB array per block left gigabytes of garbage for the GC to get round to.
    /// </summary>
    private static IEnumerable<float[]> TransposedBlocks(float[] source, int rows, int columns)
    {
        int perBlock = Math.Max(1, (4 << 20) / Math.Max(rows, 1));
        var full = new float[Math.Min(perBlock, columns) * rows];
        for (int first = 0; first < columns; first += perBlock)
        {
            int count = Math.Min(perBlock, columns - first);
            var block = count * rows == full.Length ? full : new float[count * rows];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < count; c++)
                    block[c * rows + r] = source[r * columns + first + c];
            }
            yield return block;
        }
    }

    /// <summary>A float tensor of <paramref name="like"/>'s shape holding <paramref name="value"/> everywhere.</summary>
    public string Filled(string like, float value) => G.Op("ConstantOfShape", [G.Op("Shape", [like])], ("value", FloatTensor(value)));

    public ModelProto Build(string docString) => G.Build(docString);

    /// <summary>Builds a graph and writes it to <paramref name="path"/>, its large weights to path.data when <paramref name="externalData"/>.</summary>
    public static void Write(string path, bool externalData, Func<ExternalData?, ModelProto> build)
    {
        using var external = externalData ? new ExternalData(path) : null;
        var model = build(external);
        using var file = File.Create(path);
        model.WriteTo(file);
    }

    private static TensorProto FloatTensor(float value)
    {
        var tensor = new TensorProto { DataType = (int)DataType.Float };
        tensor.Dims.Add(1);
        tensor.FloatData.Add(value);
        return tensor;
    }

    /// <summary>
    /// [B, 1, S, T] boolean: key j is visible to a query at position p when j &lt;= p and
    /// attention_mask[j] is 1. Positions are absolute, so this holds for both cache layouts.
    /// </summary>
    private string AttentionMask(string positionIds, string attentionMask)
    {
        string keyCount = G.Op("Squeeze", [G.Op("Gather", [G.Op("Shape", [attentionMask]), G.Int64s(1)], ("axis", 0L))]);
        string keys = G.Op("Range", [G.Op("Squeeze", [G.Int64s(0)]), keyCount, G.Op("Squeeze", [G.Int64s(1)])]);           // [T]
        string causal = G.Op("LessOrEqual", [keys, G.Op("Unsqueeze", [positionIds, G.Int64s(-1)])]);                       // [B, S, T]
        string padding = G.Op("Unsqueeze", [G.Op("Cast", [attentionMask], ("to", (long)DataType.Bool)), G.Int64s(1)]);      // [B, 1, T]
        return G.Op("Unsqueeze", [G.Op("And", [causal, padding]), G.Int64s(1)]);                                         // [B, 1, S, T]
    }

    /// <summary>Shared layout: [B, S, 2] (row, position) pairs where the new positions go in the cache.</summary>
    private string CacheWriteIndices(string positionIds)
    {
        string rows = G.Op("Range", [G.Op("Squeeze", [G.Int64s(0)]),
            G.Op("Squeeze", [G.Op("Gather", [G.Op("Shape", [positionIds]), G.Int64s(0)], ("axis", 0L))]), G.Op("Squeeze", [G.Int64s(1)])]);
        string rowPerToken = G.Op("Expand", [G.Op("Unsqueeze", [rows, G.Int64s(-1)]), G.Op("Shape", [positionIds])]);     // [B, S]
        return G.Op("Concat", [G.Op("Unsqueeze", [rowPerToken, G.Int64s(-1)]), G.Op("Unsqueeze", [positionIds, G.Int64s(-1)])], ("axis", -1L));
    }
}

/// <summary>How the exported decoder keeps its state between steps.</summary>
public enum CacheLayout
{
    /// <summary>Optimum style: present = concat(past, new); the state grows every step.</summary>
    Concat,

    /// <summary>
    /// onnxruntime-genai's past_present_share_buffer: past and present are one buffer of the
    /// context's capacity; the graph writes the new rows at position_ids and the runtime feeds
    /// the same buffer back, so nothing is reallocated or copied between steps.
    /// </summary>
    Shared,
}

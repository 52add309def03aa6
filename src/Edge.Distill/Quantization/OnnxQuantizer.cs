using System.Runtime.InteropServices;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using Google.Protobuf;

namespace Edge.Distill.Quantization;

/// <summary>How the quantized MatMuls compute.</summary>
internal enum QuantizationScheme
{
    /// <summary>MatMulNBits: 8- or 4-bit block-wise weights, dequantized inside the kernel; activations fp32.</summary>
    WeightOnly,

    /// <summary>
    /// DynamicQuantizeLinear + MatMulInteger: per-channel symmetric INT8 weights and activations
    /// quantized to uint8 per tensor at every call, so the product is integer arithmetic (what
    /// ARM's dot-product instructions speed up); 8 bits only.
    /// </summary>
    Dynamic,

    /// <summary>
    /// DequantizeLinear of per-channel symmetric INT8 weights feeding a plain MatMul: the file
    /// holds 8-bit weights, activations stay fp32 (ONNX Runtime may fold the dequantization into
    /// an fp32 weight at load: small download, fp32 speed and memory). 8 bits only.
    /// </summary>
    Qdq,
}

/// <summary>What to quantize and how.</summary>
/// <param name="Bits">8 or 4, for the MatMul weights of attention, dense MLPs and every expert.</param>
/// <param name="KeepExactBlocks">
/// Weight-only: a matrix whose values already lie on a block-32 grid of <see cref="Bits"/> (one imported
/// from GGUF Q4_0 or Q8_0) is written in that grid's MatMulNBits form, bit for bit, instead of re-quantized.
/// </param>
/// <param name="AccuracyLevel">
/// MatMulNBits' accuracy_level: 0 leaves the kernel's choice (fp32 activations on CPU), 4 lets it
/// quantize activations to int8 per block and use integer dot products (AVX2/AVX-512 VNNI, NEON
/// dot product/i8mm), which is where ONNX Runtime's fast CPU paths are.
/// </param>
internal sealed record QuantizationPlan(int Bits, int BlockSize, RangeMethod Method, QuantizationScheme Scheme = QuantizationScheme.WeightOnly, bool KeepExactBlocks = false, int AccuracyLevel = 0);

/// <summary>What a quantization did, for the manifest and the report.</summary>
internal sealed record QuantizationSummary(long QuantizedWeights, long FloatWeightsKept, string Description);

/// <summary>
/// Rewrites an fp32 graph for weight-only quantization with ONNX Runtime's MatMulNBits
/// (com.microsoft), leaving activations in float:
/// <list type="bullet">
/// <item>MatMul with a 2-D weight initializer: MatMulNBits with <see cref="QuantizationPlan.Bits"/>.</item>
/// <item>MoE (the routed experts, stacked [E, N, K]): QMoE with the same bits, routing and
/// attributes, so quantized experts stay sparse.</item>
/// <item>The token embedding (Gather from a 2-D initializer) and a Gemm that uses the same table
/// transposed (the tied LM head): one INT8 table with one scale per token row, whatever the mode;
/// (per 256 weights of a wider row, MatMulNBits' largest block); the LM head reads it through
/// MatMulNBits and the embedding through Gather, Cast and Mul. 8 bits
/// because every logit goes through this table (its error is the one perplexity feels first), and
/// one table for both because the tie is half the model's bytes.</item>
/// <item>Kept in fp32: the MoE router (<c>mlp.gate.weight</c>: a rounding flip changes which experts
/// run), norms, biases, MLA's small per-head up-projections.</item>
/// </list>
/// </summary>
/// <param name="weights">Where the source's initializers are read from, one at a time.</param>
/// <param name="output">Where new and kept large initializers go (packages with external data); null keeps them in the graph.</param>
internal sealed class OnnxQuantizer(QuantizationPlan plan, InitializerReader weights, ExternalData? output)
{
    private const string MicrosoftDomain = OnnxGraphBuilder.MicrosoftDomain;
    private int _counter;
    private int _exactTables;

    public QuantizationSummary Quantize(ModelProto model)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        var inSourceFile = graph.Initializer.Where(InitializerReader.IsExternal).ToList(); // before new ones join the output's
        var replaced = new HashSet<string>();
        var newNodes = new List<NodeProto>();
        var embeddings = new Dictionary<string, QuantizedMatrix>(); // table name -> its per-row INT8 form
        int matMuls = 0, experts = 0, exactMatMuls = 0, exactMoes = 0, floatMoes = 0;
        bool tiedHead = false;
        long quantized = 0;

        foreach (var node in graph.Node)
        {
            if (node.OpType == "Gemm" && IsTransposedB(node) && node.Input.Count == 2 && Float2D(initializers, node.Input[1]) is { } table)
            {
                var q = embeddings.TryGetValue(table.Name, out var known) ? known : embeddings[table.Name] = QuantizeRows(table);
                newNodes.Add(MatMulNBits(node.Input[0], Add(graph, table.Name + ".q8", q), node.Output[0], q));
                replaced.Add(table.Name);
                tiedHead = true;
                matMuls++;
            }
            else if (node.OpType == "Gather" && Float2D(initializers, node.Input[0]) is { } embedding && Axis(node) == 0)
            {
                var q = embeddings.TryGetValue(embedding.Name, out var known) ? known : embeddings[embedding.Name] = QuantizeRows(embedding);
                newNodes.AddRange(DequantizingGather(graph, embedding.Name, q, node.Input[1], node.Output[0]));
                replaced.Add(embedding.Name);
            }
            else if (node.OpType == "MatMul" && Float2D(initializers, node.Input[1]) is { } weight && !IsRouter(weight.Name))
            {
                if (plan.Scheme == QuantizationScheme.Dynamic)
                {
                    newNodes.AddRange(DynamicMatMul(graph, weight, node.Input[0], node.Output[0]));
                }
                else if (plan.Scheme == QuantizationScheme.Qdq)
                {
                    newNodes.AddRange(QdqMatMul(graph, weight, node.Input[0], node.Output[0]));
                }
                else
                {
                    var values = weights.Floats(weight);
                    int k = (int)weight.Dims[0], n = (int)weight.Dims[1];
                    var q = plan.KeepExactBlocks ? BlockQuantizer.TryExact(values, k, n, plan.Bits) : null;
                    if (q is not null)
                        exactMatMuls++;
                    q ??= BlockQuantizer.Quantize(values, k, n, plan.Bits, BlockFor(k), plan.Method);
                    newNodes.Add(MatMulNBits(node.Input[0], Add(graph, weight.Name + $".q{plan.Bits}", q), node.Output[0], q));
                }
                replaced.Add(weight.Name);
                quantized += weight.Dims[0] * weight.Dims[1];
                matMuls++;
            }
            else if (node.OpType == "MoE" && node.Domain == MicrosoftDomain)
            {
                if (QuantizedMoe(graph, node, initializers, ref exactMoes) is { } qmoe)
                {
                    newNodes.Add(qmoe);
                    replaced.Add(node.Input[2]);
                    replaced.Add(node.Input[4]);
                    quantized += Elements(initializers[node.Input[2]]) + Elements(initializers[node.Input[4]]);
                    experts++;
                }
                else
                {
                    newNodes.Add(node);
                    floatMoes++;
                }
            }
            else
            {
                newNodes.Add(node);
            }
        }
        foreach (var (_, q) in embeddings)
            quantized += (long)q.K * q.N;

        // Drop the fp32 tables nothing reads any more; move the kept ones' bytes into the new side file.
        var stillUsed = newNodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var name in replaced.Where(n => !stillUsed.Contains(n)))
            graph.Initializer.Remove(initializers[name]);
        foreach (var kept in inSourceFile.Where(graph.Initializer.Contains))
            (output ?? throw new InvalidOperationException("external initializers need an output side file")).CopyFrom(kept, weights);
        graph.Node.Clear();
        graph.Node.AddRange(newNodes);
        if (model.OpsetImport.All(o => o.Domain != MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });

        long floatsKept = graph.Initializer.Where(i => i.DataType == (int)TensorProto.Types.DataType.Float).Sum(i => i.Dims.Aggregate(1L, (a, b) => a * b));
        string range = plan.Method.ToString().ToLowerInvariant();
        string description = plan.Scheme switch
        {
            QuantizationScheme.Dynamic => $"dynamic INT8 (DynamicQuantizeLinear + MatMulInteger: uint8 activations per tensor per call, int8 weights per output channel, symmetric, {range} range)",
            QuantizationScheme.Qdq => $"QDQ INT8 weights (DequantizeLinear per output channel + MatMul, symmetric, {range} range)",
            _ => $"weight-only INT{plan.Bits} (MatMulNBits, symmetric, block {plan.BlockSize} or K if smaller, {range} range, accuracy_level {plan.AccuracyLevel})",
        }
            + $" for {matMuls} MatMuls and {experts} QMoE nodes holding the routed experts; " +
            (plan.Scheme != QuantizationScheme.WeightOnly && experts > 0 ? $"routed experts block-wise INT8 in QMoE (block {plan.BlockSize} or less); " : "") +
            (floatMoes > 0 ? $"{floatMoes} MoE nodes' experts kept fp32 (no block size of 16 or more divides the hidden width); " : "") +
            (plan.KeepExactBlocks ? $"{exactMatMuls} MatMuls and {exactMoes} QMoE nodes carried bit for bit from the source's block-32 grid, not re-quantized; " : "") +
            (embeddings.Count > 0 ? $"embedding table INT8 {(_exactTables > 0 ? "in blocks of 32 carried bit for bit" : "per row (per 256 of a wider row)")}{(tiedHead ? ", shared with the tied LM head" : "")}; " : "") +
            "router, norms and MLA up-projections fp32" + Activations(experts > 0);
        return new QuantizationSummary(quantized, floatsKept, description);
    }

    /// <summary>What the activations are, for the description: ONNX Runtime's 8-bit QMoE kernel has no fp32 path.</summary>
    private string Activations(bool hasQuantizedExperts) =>
        plan.Scheme == QuantizationScheme.Dynamic || plan is { Scheme: QuantizationScheme.WeightOnly, AccuracyLevel: 4 } ? ""
        : hasQuantizedExperts && plan.Bits == 8 ? "; activations fp32, but int8 inside the 8-bit QMoE experts (ONNX Runtime has no fp32 kernel for them)"
        : "; activations fp32";

    /// <summary>
    /// A MoE node as QMoE: the same routing and attributes, both expert projections block-quantized
    /// (bit for bit where every expert is on GGUF's block-32 grid). Whatever the scheme, because QMoE
    /// is the only quantized form that keeps experts sparse: the per-channel INT8 schemes get 8-bit
    /// experts in blocks. An inner width that is not a whole number of blocks is padded with zero
    /// units. Null when no block size divides the hidden width: the node then stays fp32.
    /// </summary>
    private NodeProto? QuantizedMoe(GraphProto graph, NodeProto moe, Dictionary<string, TensorProto> initializers, ref int exact)
    {
        if (moe.Input.Count < 5 || Float3D(initializers, moe.Input[2]) is not { } gateUp || Float3D(initializers, moe.Input[4]) is not { } down)
            return null;
        // [E, 2I, H] and [E, H, I], each held in full: anything else would be read as the wrong experts.
        long[] g = [.. gateUp.Dims], d = [.. down.Dims];
        if (g.Concat(d).Any(x => x is <= 0 or > int.MaxValue) || g[1] % 2 != 0 || d[0] != g[0] || d[1] != g[2] || d[2] != g[1] / 2)
            throw new InvalidDataException($"MoE node '{moe.Name}' has expert weights [{string.Join(", ", g)}] and [{string.Join(", ", d)}], not [E, 2 x I, H] and [E, H, I].");
        int count = (int)g[0], hidden = (int)g[2], inner = (int)d[2];
        var gateUpValues = weights.Floats(gateUp);
        var downValues = weights.Floats(down);
        if ((double)gateUpValues.Length != (double)count * 2 * inner * hidden || (double)downValues.Length != (double)count * hidden * inner)
            throw new InvalidDataException($"MoE node '{moe.Name}': its expert weights hold {gateUpValues.Length} and {downValues.Length} values, not what their shapes say.");
        QuantizedExperts? first = null, second = null;
        if (plan.KeepExactBlocks && hidden % BlockQuantizer.GgmlBlock == 0 && inner % BlockQuantizer.GgmlBlock == 0
            && ExpertQuantizer.TryExact(gateUpValues, count, (int)gateUp.Dims[1], hidden, plan.Bits) is { } exactGateUp)
        {
            first = exactGateUp;
            second = ExpertQuantizer.TryExact(downValues, count, hidden, inner, plan.Bits);
        }
        if (second is null)
        {
            if (ExpertQuantizer.BlockFor(plan.BlockSize, hidden) is not { } block)
                return null;
            int padded = (inner + block - 1) / block * block;
            if (padded != inner)
                (gateUpValues, downValues) = ExpertQuantizer.PadInner(gateUpValues, downValues, count, hidden, inner, padded);
            first = ExpertQuantizer.Quantize(gateUpValues, count, 2 * padded, hidden, plan.Bits, block, plan.Method);
            second = ExpertQuantizer.Quantize(downValues, count, hidden, padded, plan.Bits, block, plan.Method);
        }
        else
        {
            exact++;
        }
        string gateUpCodes = AddExperts(graph, gateUp.Name + $".q{plan.Bits}", first!);
        string downCodes = AddExperts(graph, down.Name + $".q{plan.Bits}", second);
        var node = new NodeProto { OpType = "QMoE", Domain = MicrosoftDomain, Name = Name("QMoE") };
        node.Input.AddRange([moe.Input[0], moe.Input[1], gateUpCodes, gateUpCodes + ".scales", "", downCodes, downCodes + ".scales"]);
        node.Output.AddRange(moe.Output);
        node.Attribute.AddRange(moe.Attribute.Select(a => a.Clone()));
        foreach (var (name, value) in new[] { ("expert_weight_bits", (long)plan.Bits), ("block_size", (long)second.BlockSize), ("accuracy_level", (long)plan.AccuracyLevel) })
            node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        return node;
    }

    /// <summary>Adds stacked expert codes ([E, N, K x bits / 8] uint8) and scales ([E, N, K / block] float); returns the codes' name.</summary>
    private string AddExperts(GraphProto graph, string name, QuantizedExperts q)
    {
        Put(graph, name, TensorProto.Types.DataType.Uint8, q.Packed, q.Experts, q.N, (long)q.K * q.Bits / 8);
        Put(graph, name + ".scales", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(q.Scales.AsSpan()), q.Experts, q.N, q.K / q.BlockSize);
        return name;
    }

    /// <summary>
    /// A x W as ONNX's dynamic quantization pattern: A to uint8 with its own scale and zero point,
    /// an integer product with W's int8 codes ([K, N], zero point 0 per column), then back to float
    /// by A's scale times each column's scale. ONNX Runtime fuses the four into DynamicQuantizeMatMul.
    /// </summary>
    private IEnumerable<NodeProto> DynamicMatMul(GraphProto graph, TensorProto weight, string input, string output)
    {
        string codes = AddChannelCodes(graph, weight);
        string quantizedInput = Name("a_u8"), inputScale = Name("a_scale"), inputZero = Name("a_zero_point");
        yield return Node("DynamicQuantizeLinear", [input], [quantizedInput, inputScale, inputZero]);
        string product = Name("product_i32");
        yield return Node("MatMulInteger", [quantizedInput, codes, inputZero, codes + ".zero_points"], [product]);
        string asFloat = Name("product_f32");
        yield return Node("Cast", [product], [asFloat], ("to", (long)TensorProto.Types.DataType.Float));
        string scale = Name("output_scale");
        yield return Node("Mul", [inputScale, codes + ".scales"], [scale]);
        yield return Node("Mul", [asFloat, scale], [output]);
    }

    /// <summary>A x DequantizeLinear(W's int8 codes, per-column scales): QDQ with only the weight quantized, activations fp32.</summary>
    private IEnumerable<NodeProto> QdqMatMul(GraphProto graph, TensorProto weight, string input, string output)
    {
        string codes = AddChannelCodes(graph, weight);
        string dequantized = Name("weight_f32");
        yield return Node("DequantizeLinear", [codes, codes + ".scales", codes + ".zero_points"], [dequantized], ("axis", 1L));
        yield return Node("MatMul", [input, dequantized], [output]);
    }

    /// <summary>W ([K, N]) as int8 codes with one symmetric scale per output column and zero points of 0; returns the codes' name.</summary>
    private string AddChannelCodes(GraphProto graph, TensorProto weight)
    {
        int k = (int)weight.Dims[0], n = (int)weight.Dims[1];
        // One block spanning all of K is one scale per output column; codes come back offset by 128.
        var q = BlockQuantizer.Quantize(weights.Floats(weight), k, n, 8, WholeBlock(k), plan.Method);
        var codes = new byte[k * n];
        for (int column = 0; column < n; column++)
            for (int row = 0; row < k; row++)
                codes[row * n + column] = unchecked((byte)(sbyte)(q.Packed[column * q.BlobBytes + row] - 128));
        string name = weight.Name + ".i8";
        Put(graph, name, TensorProto.Types.DataType.Int8, codes, k, n);
        Put(graph, name + ".zero_points", TensorProto.Types.DataType.Int8, new byte[n], n);
        Put(graph, name + ".scales", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(q.Scales.AsSpan()), n);
        return name;
    }

    /// <summary>
    /// The embedding table as INT8 with one scale per row, or per 256 weights of a wider row: MatMulNBits
    /// takes no block above 256 (a 1,536-wide Qwen2 table as one block would not load).
    /// </summary>
    private QuantizedMatrix QuantizeRows(TensorProto table)
    {
        int rows = (int)table.Dims[0], width = (int)table.Dims[1];
        var values = weights.Floats(table);
        // A table stored on a Q8_0 or Q4_0 grid (a GGUF's) is carried in blocks of 32, bit for bit.
        if (plan.KeepExactBlocks && BlockQuantizer.TryExactRows(values, rows, width, 8) is { } exact)
        {
            _exactTables++;
            return exact;
        }
        // MatMulNBits wants [K, N] with K the reduced dimension: the table's rows are its N columns.
        return BlockQuantizer.QuantizeRows(values, rows, width, 8, Math.Min(MaxBlock, WholeBlock(width)), RangeMethod.MinMax);
    }

    /// <summary>
    /// Gather of quantized rows, dequantized: (code - 128) x the block's scale, per block of the row,
    /// then the row's blocks joined and their padding sliced off.
    /// </summary>
    private IEnumerable<NodeProto> DequantizingGather(GraphProto graph, string table, QuantizedMatrix q, string ids, string output)
    {
        string codes = Add(graph, table + ".q8", q); // [N, blocks, block]
        string picked = Name("picked");
        yield return Node("Gather", [codes, ids], [picked], ("axis", 0L));
        string asFloat = Name("as_float");
        yield return Node("Cast", [picked], [asFloat], ("to", (long)TensorProto.Types.DataType.Float));
        string centred = Name("centred");
        yield return Node("Sub", [asFloat, Scalar(graph, 128f)], [centred]);
        string scaleRows = Name("scale_rows");
        yield return Node("Reshape", [table + ".q8.scales", Int64s(graph, q.N, q.Blocks)], [scaleRows]);
        string scale = Name("block_scale");
        yield return Node("Gather", [scaleRows, ids], [scale], ("axis", 0L));
        string blockScale = Name("block_scale_column");
        yield return Node("Unsqueeze", [scale, Int64s(graph, -1)], [blockScale]);
        string scaled = Name("scaled");
        yield return Node("Mul", [centred, blockScale], [scaled]);
        // [..ids, blocks, block] -> [..ids, blocks x block], whatever the rank of ids.
        string idsShape = Name("ids_shape");
        yield return Node("Shape", [ids], [idsShape]);
        string rowShape = Name("row_shape");
        yield return Node("Concat", [idsShape, Int64s(graph, (long)q.Blocks * q.BlockSize)], [rowShape], ("axis", 0L));
        string joined = Name("joined");
        yield return Node("Reshape", [scaled, rowShape], [joined]);
        yield return Node("Slice", [joined, Int64s(graph, 0), Int64s(graph, q.K), Int64s(graph, -1)], [output]);
    }

    /// <summary>The requested block size, but no larger than K needs: a block past K is padding that costs bytes and buys nothing.</summary>
    private int BlockFor(int k) => Math.Min(plan.BlockSize, WholeBlock(k));

    /// <summary>The largest block_size MatMulNBits accepts.</summary>
    private const int MaxBlock = 256;

    /// <summary>The smallest block the quantizer accepts (a power of two, at least 16) that spans all of K: one scale per column.</summary>
    private static int WholeBlock(int k) => Math.Max(16, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)k));

    private NodeProto MatMulNBits(string input, string quantized, string output, QuantizedMatrix q)
    {
        var node = Node("MatMulNBits", [input, quantized, quantized + ".scales"], [output],
            ("K", (long)q.K), ("N", (long)q.N), ("bits", (long)q.Bits), ("block_size", (long)q.BlockSize), ("accuracy_level", (long)plan.AccuracyLevel));
        node.Domain = MicrosoftDomain;
        return node;
    }

    /// <summary>Adds the codes ([N, blocks, blob] uint8) and scales ([N x blocks] float) as initializers, once; returns the codes' name.</summary>
    private string Add(GraphProto graph, string name, QuantizedMatrix q)
    {
        if (graph.Initializer.Any(i => i.Name == name))
            return name;
        Put(graph, name, TensorProto.Types.DataType.Uint8, q.Packed, q.N, q.Blocks, q.BlobBytes);
        Put(graph, name + ".scales", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(q.Scales.AsSpan()), q.Scales.Length);
        return name;
    }

    /// <summary>A new initializer, its bytes in the side file when there is one and they are large enough.</summary>
    private void Put(GraphProto graph, string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        if (output is not null && bytes.Length >= ExternalData.MinimumBytes)
            output.Store(tensor, bytes);
        else
            tensor.RawData = ByteString.CopyFrom(bytes);
        graph.Initializer.Add(tensor);
    }

    private static string Int64s(GraphProto graph, params long[] values)
    {
        string name = $"q_i64_{string.Join('_', values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture).Replace('-', 'm')))}";
        if (graph.Initializer.All(i => i.Name != name))
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(values.Length);
            tensor.Int64Data.AddRange(values);
            graph.Initializer.Add(tensor);
        }
        return name;
    }

    private static string Scalar(GraphProto graph, float value)
    {
        string name = $"q_f32_{BitConverter.SingleToInt32Bits(value):x8}";
        if (graph.Initializer.All(i => i.Name != name))
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tensor.FloatData.Add(value);
            graph.Initializer.Add(tensor);
        }
        return name;
    }

    private NodeProto Node(string op, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Name(op) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
            node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        return node;
    }

    private string Name(string what) => $"quant_{what}_{_counter++}";

    private static TensorProto? Float2D(Dictionary<string, TensorProto> initializers, string name) =>
        initializers.TryGetValue(name, out var tensor) && tensor.Dims.Count == 2 && tensor.DataType == (int)TensorProto.Types.DataType.Float ? tensor : null;

    private static TensorProto? Float3D(Dictionary<string, TensorProto> initializers, string name) =>
        initializers.TryGetValue(name, out var tensor) && tensor.Dims.Count == 3 && tensor.DataType == (int)TensorProto.Types.DataType.Float ? tensor : null;

    private static long Elements(TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);

    private static bool IsTransposedB(NodeProto node) =>
        node.Attribute.Any(a => a.Name == "transB" && a.I == 1) && node.Attribute.All(a => a.Name is "transB" || (a.Name is "alpha" or "beta" && a.F == 1f));

    private static long Axis(NodeProto node) => node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0;

    private static bool IsRouter(string name) => name.Contains("mlp.gate.weight", StringComparison.Ordinal);

}

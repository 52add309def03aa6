using System.Runtime.InteropServices;
using Edge.Distill.Onnx.Proto;
using Google.Protobuf;

namespace Edge.Distill.Onnx;

/// <summary>
/// Builds an ONNX graph node by node. Every operator call returns the name of its output, so
/// model code reads like the forward pass it mirrors.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    public const int Opset = 17;
    public const string MicrosoftDomain = "com.microsoft";
    private const long IrVersion = 8;

    private readonly GraphProto _graph = new() { Name = "main" };
    private readonly Dictionary<string, int> _opCounts = [];
    private readonly ExternalData? _external;

    /// <param name="external">Where large initializers go as they are added; null keeps them in the graph.</param>
    public OnnxGraphBuilder(ExternalData? external = null) => _external = external;

    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) =>
        _graph.Output.Add(ValueInfo(name, type, dims));

    public string Initializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        if (_external is not null && (long)data.Length * sizeof(float) >= ExternalData.MinimumBytes)
            _external.Store(tensor, data);
        else
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>
    /// A float initializer made of consecutive parts (stacked experts, blocks of a transpose): streamed part by
    /// part into the side file when there is one, so the stack is never whole in memory.
    /// </summary>
    public string Initializer(string name, IEnumerable<float[]> parts, params long[] dims)
    {
        if (_external is null)
            return Initializer(name, parts.SelectMany(p => p).ToArray(), dims);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        if (_external.Store(tensor, parts) != dims.Aggregate(1L, (a, b) => a * b) * sizeof(float))
            throw new InvalidOperationException($"initializer '{name}': its parts do not add up to [{string.Join(", ", dims)}].");
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, k of TopK).</summary>
    public string Int64s(params long[] values)
    {
        string name = $"const_i64_{string.Join('_', values.Select(v => v < 0 ? $"m{-v}" : v.ToString(System.Globalization.CultureInfo.InvariantCulture)))}";
        if (_graph.Initializer.Any(i => i.Name == name))
            return name;
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float scalar constant.</summary>
    public string Scalar(float value)
    {
        string name = $"const_f32_{BitConverter.SingleToInt32Bits(value):x8}";
        if (_graph.Initializer.All(i => i.Name != name))
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tensor.FloatData.Add(value);
            _graph.Initializer.Add(tensor);
        }
        return name;
    }

    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        OpWithOutputs(opType, inputs, 1, attributes)[0];

    public string[] OpWithOutputs(string opType, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        int n = _opCounts.GetValueOrDefault(opType);
        _opCounts[opType] = n + 1;
        string nodeName = $"{opType}_{n}";
        var names = Enumerable.Range(0, outputs).Select(i => $"{nodeName}_out{i}").ToArray();
        AddNode(opType, nodeName, inputs, names, attributes);
        return names;
    }

    /// <summary>One of ONNX Runtime's contrib operators (domain com.microsoft), one output.</summary>
    public string MicrosoftOp(string opType, string[] inputs, params (string Name, object Value)[] attributes)
    {
        string output = Op(opType, inputs, attributes);
        _graph.Node[^1].Domain = MicrosoftDomain;
        return output;
    }

    /// <summary>An operator whose output carries a given name (graph outputs).</summary>
    public string OpNamed(string opType, string output, string[] inputs, params (string Name, object Value)[] attributes)
    {
        AddNode(opType, $"{opType}_{output}", inputs, [output], attributes);
        return output;
    }

    public ModelProto Build(string docString)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "edge-distill",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (_graph.Node.Any(n => n.Domain == MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return model;
    }

    private void AddNode(string opType, string nodeName, string[] inputs, string[] outputs, (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
            node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var attribute = new AttributeProto { Name = name };
        switch (value)
        {
            case long l:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = l;
                break;
            case int i:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = i;
                break;
            case float f:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = f;
                break;
            case long[] ints:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints);
                break;
            case string s:
                attribute.Type = AttributeProto.Types.AttributeType.String;
                attribute.S = ByteString.CopyFromUtf8(s);
                break;
            case TensorProto t:
                attribute.Type = AttributeProto.Types.AttributeType.Tensor;
                attribute.T = t;
                break;
            default:
                throw new ArgumentException($"Attribute '{name}' has unsupported type {value.GetType().Name}.");
        }
        return attribute;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                _ => throw new ArgumentException($"Dimension {dim} of '{name}' must be a name or a number."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}

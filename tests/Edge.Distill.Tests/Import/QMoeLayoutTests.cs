using Edge.Distill.Gguf;
using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;
using Edge.Distill.Quantization;
using Microsoft.ML.OnnxRuntime;
using DataType = Edge.Distill.Onnx.Proto.TensorProto.Types.DataType;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// One MoE node against the QMoE the quantizer makes of it, in ONNX Runtime: with expert weights
/// already on a block-32 grid (carried exactly) and fp32 activations, both must compute the same.
/// </summary>
[TestClass]
public sealed class QMoeLayoutTests
{
    [TestMethod]
    [DataRow("Q4_0", 4)]
    [DataRow("Q8_0", 8)]
    public void QMoEComputesWhatMoEComputesOnTheSameGridWeights(string type, int bits)
    {
        const int experts = 4, hidden = 64, inner = 32, tokens = 5, k = 2;
        var random = new Random(7);
        var ggml = Enum.Parse<GgmlType>(type);
        float[] OnGrid(int count)
        {
            var values = new float[count];
            for (int i = 0; i < count; i++)
                values[i] = (random.NextSingle() - 0.5f) * 0.2f;
            return GgmlCodec.Decode(GgmlCodec.Encode(values, ggml), ggml, count);
        }
        var gateUp = OnGrid(experts * 2 * inner * hidden);
        var down = OnGrid(experts * hidden * inner);

        var g = new OnnxGraphBuilder();
        g.Input("x", DataType.Float, tokens, hidden);
        g.Input("router", DataType.Float, tokens, experts);
        string moe = g.MicrosoftOp("MoE", ["x", "router", g.Initializer("fc1", gateUp, experts, 2 * inner, hidden), "", g.Initializer("fc2", down, experts, hidden, inner)],
            ("k", (long)k), ("activation_type", "swiglu"), ("swiglu_fusion", 1L), ("normalize_routing_weights", 1L), ("activation_alpha", 1f), ("activation_beta", 0f));
        g.OpNamed("Identity", "y", [moe]);
        g.Output("y", DataType.Float, tokens, hidden);
        var model = g.Build("one MoE");
        var quantized = model.Clone();
        string folder = Directory.CreateTempSubdirectory("edge-qmoe").FullName;
        using (var reader = new InitializerReader(folder))
        {
            string summary = new OnnxQuantizer(new QuantizationPlan(bits, 32, RangeMethod.MinMax, KeepExactBlocks: true), reader, null).Quantize(quantized).Description;
            StringAssert.Contains(summary, "and 1 QMoE nodes carried bit for bit", summary);
        }

        var x = Enumerable.Range(0, tokens * hidden).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var router = Enumerable.Range(0, tokens * experts).Select(_ => random.NextSingle() * 4).ToArray();
        var expected = Run(model, x, router, tokens, hidden, experts);
        var actual = Run(quantized, x, router, tokens, hidden, experts);
        double scale = expected.Max(v => Math.Abs(v)), worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine($"{type}: max |MoE - QMoE| {worst:E2} at output scale {scale:E2}");
        // 8-bit experts always take int8 activations in ONNX Runtime; 4-bit at accuracy_level 0 keep fp32.
        Assert.IsLessThan(bits == 4 ? 1e-4 * scale : 2e-2 * scale, worst);
        Directory.Delete(folder, recursive: true);
    }

    private static float[] Run(ModelProto model, float[] x, float[] router, int tokens, int hidden, int experts)
    {
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, [tokens, hidden]);
        using var routerValue = OrtValue.CreateTensorValueFromMemory(router, [tokens, experts]);
        using var outputs = session.Run(new RunOptions(), ["x", "router"], [xValue, routerValue], ["y"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }
}

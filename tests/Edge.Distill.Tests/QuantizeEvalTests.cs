using Edge.Distill.Onnx.Proto;
using Edge.Distill.Quantization;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Tests;

/// <summary>quantize (MatMulNBits INT8/INT4 under ONNX Runtime's CPU kernels) and eval on a trained student.</summary>
[TestClass]
public sealed class QuantizeEvalTests
{
    private static string s_run = null!;
    private static string s_fp32 = null!;

    [ClassInitialize]
    public static void TrainAndExport(TestContext _)
    {
        string run = Path.Combine(TrainingFixture.Work, $"quantize-{Guid.NewGuid():N}");
        Assert.AreEqual(0, DistillCli.Run("train", "--student", TrainingFixture.Student, "--data", TrainingFixture.Shards, "--out", run,
            "--steps", "40", "--batch-size", "4", "--seq-len", "32", "--warmup", "4", "--lr", "0.01", "--checkpoint-every", "40"));
        s_run = run;
        s_fp32 = Path.Combine(run, "fp32");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", run, "--out", s_fp32));
    }

    [TestMethod]
    [DataRow("int8", 8)]
    [DataRow("int4", 4)]
    public void AQuantizedPackageRunsInOnnxRuntimeSmallerAndClose(string mode, int bits)
    {
        string output = Path.Combine(TrainingFixture.Work, $"{mode}-{Guid.NewGuid():N}");
        Assert.AreEqual(0, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", mode, "--block-size", "16"));
        var package = ModelPackage.Open(output); // every file pinned again
        StringAssert.StartsWith(package.Manifest.Quantization, $"weight-only INT{bits}");
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(package.DecoderPath)).Graph;
        var nbits = graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.IsTrue(nbits.Any(n => n.Attribute.Single(a => a.Name == "bits").I == bits), "the mode's bits are used");
        var experts = graph.Node.Where(n => n.OpType == "QMoE").ToList();
        Assert.IsNotEmpty(experts, "the routed experts are quantized and stay sparse");
        Assert.IsTrue(experts.All(n => n.Attribute.Single(a => a.Name == "expert_weight_bits").I == bits), "with the mode's bits");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "MoE"), "no fp32 expert is left");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "MatMul" && graph.Initializer.Any(i => i.Name == n.Input[1] && i.Dims.Count == 2 && !i.Name.Contains("mlp.gate.", StringComparison.Ordinal))),
            "no 2-D fp32 MatMul weight is left but the router's");
        Assert.IsLessThan(new FileInfo(Path.Combine(s_fp32, "model.onnx")).Length * 0.6, new FileInfo(package.DecoderPath).Length);
        PackageAssert.PassesItsSmokeTest(output);

        string report = Path.Combine(output, "REPORT.md");
        Assert.AreEqual(0, DistillCli.Run("eval", "--teacher", s_fp32, "--package", output, "--data", TrainingFixture.Shards, "--windows", "8", "--seq-len", "32", "--report", report,
            "--training-run", s_run));
        foreach (string figure in new[] { "REPORT-perplexity-vs-size.png", "REPORT-training.png" })
        {
            Assert.IsGreaterThan(5_000L, new FileInfo(Path.Combine(output, figure)).Length, figure);
            StringAssert.Contains(File.ReadAllText(report), $"]({figure})");
        }
        Assert.HasCount(2, File.ReadAllLines(report).Where(l => l.StartsWith("| deepseek", StringComparison.Ordinal)).ToList());
        Assert.IsGreaterThan(bits == 8 ? 95.0 : 70.0, PackageAssert.AgreementOfSecondRow(report), "top-1 agreement with fp32");
    }

    [TestMethod]
    [DataRow("dynamic", "dynamic INT8", "MatMulInteger", 90.0)]
    [DataRow("qdq", "QDQ INT8", "DequantizeLinear", 95.0)]
    public void PerChannelInt8SchemesRunAndStayClose(string scheme, string description, string quantizedOp, double minimumAgreement)
    {
        string output = Path.Combine(TrainingFixture.Work, $"{scheme}-{Guid.NewGuid():N}");
        Assert.AreEqual(0, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8", "--scheme", scheme));
        var package = ModelPackage.Open(output);
        StringAssert.StartsWith(package.Manifest.Quantization, description);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(package.DecoderPath)).Graph;
        var quantized = graph.Node.Where(n => n.OpType == quantizedOp).ToList();
        Assert.IsNotEmpty(quantized);
        Assert.IsTrue(quantized.Any(n => n.Input.Any(i => i.Contains("shared_experts", StringComparison.Ordinal))), "shared expert weights are quantized");
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "QMoE") && graph.Node.All(n => n.OpType != "MoE"), "routed experts are quantized (QMoE, 8-bit blocks) and stay sparse");
        Assert.IsTrue(graph.Initializer.Any(i => i.DataType == (int)TensorProto.Types.DataType.Int8 && i.Dims.Count == 2), "weights are stored as int8");
        if (scheme == "dynamic")
            Assert.HasCount(quantized.Count, graph.Node.Where(n => n.OpType == "DynamicQuantizeLinear").ToList(), "each integer product quantizes its input");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "MatMul" && graph.Initializer.Any(i => i.Name == n.Input[1] && i.Dims.Count == 2 && i.DataType == (int)TensorProto.Types.DataType.Float
            && !i.Name.Contains("mlp.gate.", StringComparison.Ordinal))), "no 2-D fp32 MatMul weight is left but the router's");
        PackageAssert.PassesItsSmokeTest(output);

        string report = Path.Combine(output, "REPORT.md");
        Assert.AreEqual(0, DistillCli.Run("eval", "--teacher", s_fp32, "--package", output, "--data", TrainingFixture.Shards, "--windows", "8", "--seq-len", "32", "--report", report));
        Assert.IsGreaterThan(minimumAgreement, PackageAssert.AgreementOfSecondRow(report), "top-1 agreement with fp32");
    }

    [TestMethod]
    public void BadQuantizeArgumentsAreRefused()
    {
        string output = Path.Combine(TrainingFixture.Work, "bad-quantize");
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int3"));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8", "--block-size", "24"));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8", "--method", "entropy"));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8", "--calibration", TrainingFixture.Shards));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int4", "--scheme", "dynamic"));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int4", "--scheme", "qdq"));
        Assert.AreEqual(2, DistillCli.Run("eval", "--package", s_fp32, "--data", TrainingFixture.Shards, "--windows", "2", "--training-run", s_run), "a figure needs --report");
        var (code, errors) = DistillCli.RunCapturingErrors("eval", "--package", s_fp32, "--data", TrainingFixture.Shards, "--windows", "2",
            "--report", Path.Combine(TrainingFixture.Work, "no-run.md"), "--training-run", TrainingFixture.Shards);
        Assert.AreEqual(2, code);
        StringAssert.Contains(errors, "not a training run");
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8", "--scheme", "static"));
        Assert.AreEqual(0, DistillCli.Run("quantize", "--in", s_fp32, "--out", output, "--mode", "int8"));
        Assert.AreEqual(2, DistillCli.Run("quantize", "--in", output, "--out", output + "-again", "--mode", "int4"), "an already quantized package");
    }

    [TestMethod]
    public void BlockQuantizationRoundTripsWithinHalfAStep()
    {
        var random = new Random(5);
        float[] weights = [.. Enumerable.Range(0, 40 * 24).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        foreach (int bits in new[] { 8, 4 })
        {
            var q = BlockQuantizer.Quantize(weights, 40, 24, bits, 16, RangeMethod.MinMax);
            for (int k = 0; k < 40; k++)
            {
                for (int n = 0; n < 24; n++)
                    Assert.AreEqual(weights[k * 24 + n], q.Dequantize(k, n), q.Scales[n * q.Blocks + k / 16] / 2 + 1e-6);
            }
        }
    }
}

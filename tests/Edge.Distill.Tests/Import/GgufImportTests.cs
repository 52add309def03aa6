using System.Buffers.Binary;
using Edge.Distill.Gguf;
using Edge.Runtime.Packaging;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// GGUF files (written by our exporter, as llama.cpp's converter lays them out) imported back:
/// the package must reproduce llama.cpp's distributions on the very same file.
/// </summary>
[TestClass]
public sealed class GgufImportTests
{
    private static string s_work = null!;

    [ClassInitialize]
    public static void CreateWork(TestContext _) => s_work = Directory.CreateTempSubdirectory("edge-gguf-import").FullName;

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    private static string Config(string modelType) => modelType switch
    {
        "qwen2" => SyntheticCheckpoint.Qwen2Config,
        "llama" => SyntheticCheckpoint.LlamaConfig,
        "deepseek_v3" => SyntheticCheckpoint.DeepSeekV3Config,
        _ => SyntheticCheckpoint.DeepSeekV2LiteConfig,
    };

    [TestMethod]
    [DataRow("qwen2")]
    [DataRow("llama")]
    [DataRow("deepseek_v3")]
    [DataRow("deepseek_v2")]
    public void AnF32GgufImportsToWhatLlamaCppComputes(string modelType)
    {
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, modelType), Config(modelType), "BF16", shards: 1, seed: 8);
        string gguf = Path.Combine(s_work, modelType + ".gguf"), package = Path.Combine(s_work, modelType + "-from-gguf");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));
        Assert.AreEqual(0, DistillCli.Run("import", "--from", gguf, "--out", package, "--context", "1024"));

        var manifest = ModelPackage.Open(package).Manifest;
        Assert.AreEqual("gguf", manifest.Source!.Format);
        Assert.AreEqual(modelType, manifest.Architecture.ModelType);
        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 4, vocabulary: 120000));
        Console.WriteLine($"{modelType} GGUF F32 re-imported: top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.99, agreement.TopOneAgreement);
        Assert.IsLessThanOrEqualTo(1e-3, agreement.MaxLogProbDifference);
    }

    /// <summary>
    /// Quantized files: our import dequantizes the same blocks llama.cpp reads. llama.cpp also
    /// quantizes activations inside its quantized matrix products, so the distributions differ by
    /// that rounding; a wrong block decoder would disagree almost everywhere.
    /// </summary>
    [TestMethod]
    [DataRow("Q8_0", 0.9)]
    [DataRow("Q4_0", 0.9)]
    public void QuantizedGgufsImportToWhatLlamaCppComputes(string type, double minimumAgreement)
    {
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "q-" + type), SyntheticCheckpoint.Qwen2Config, "F32", shards: 1, seed: 12);
        string gguf = Path.Combine(s_work, $"qwen2-{type}.gguf"), package = Path.Combine(s_work, $"qwen2-{type}-package");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf", "--type", type));
        // No --quantize: the package keeps the file's precision, its matrices carried bit for bit.
        Assert.AreEqual(0, DistillCli.Run("import", "--from", gguf, "--out", package, "--context", "1024"));
        var manifest = ModelPackage.Open(package).Manifest;
        StringAssert.Contains(manifest.Source!.Conversion, $"dequantized from");
        StringAssert.StartsWith(manifest.Quantization, type == "Q8_0" ? "weight-only INT8" : "weight-only INT4");
        // Every matrix (q, k, v, o, gate, up, down in 2 layers, and the untied LM head) is on the grid.
        var carried = System.Text.RegularExpressions.Regex.Match(manifest.Quantization!, @"for (\d+) MatMuls.*; (\d+) MatMuls and 0 QMoE nodes carried bit for bit");
        Assert.IsTrue(carried.Success, manifest.Quantization);
        Assert.AreEqual(7 * 2 + 1, int.Parse(carried.Groups[1].Value), manifest.Quantization);
        Assert.AreEqual(carried.Groups[1].Value, carried.Groups[2].Value, manifest.Quantization);
        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 6, vocabulary: 120000));
        Console.WriteLine($"qwen2 GGUF {type} imported: top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(minimumAgreement, agreement.TopOneAgreement);
    }

    /// <summary>
    /// A quantized DeepSeek GGUF: its stacked experts become QMoE (only the chosen experts run) and
    /// every matrix, expert and embedding block is carried bit for bit, so the package at
    /// accuracy_level 0 computes what the fp32 import of the same file computes. (q_lora 64: every
    /// matrix of the file then has rows of whole Q blocks; a float-stored one would be re-quantized.)
    /// Q8_0 experts take int8 activations in ONNX Runtime whatever the level, so they only come close.
    /// Against llama.cpp, which rounds activations too, this random-weight MoE flips routing often:
    /// the fp32 import itself agrees on 76-80 % of positions, so the bound there is 0.7.
    /// </summary>
    [TestMethod]
    [DataRow("Q4_0", 4)]
    [DataRow("Q8_0", 8)]
    public void AQuantizedDeepSeekGgufKeepsItsExpertsSparseAndBitForBit(string type, int bits)
    {
        string config = SyntheticCheckpoint.DeepSeekV3Config.Replace("\"q_lora_rank\": 48", "\"q_lora_rank\": 64");
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "ds-" + type), config, "F32", shards: 1, seed: 13);
        string gguf = Path.Combine(s_work, $"ds-{type}.gguf"), package = Path.Combine(s_work, $"ds-{type}-package"), fp32 = Path.Combine(s_work, $"ds-{type}-fp32");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf", "--type", type));
        Assert.AreEqual(0, DistillCli.Run("import", "--from", gguf, "--out", package, "--context", "1024", "--accuracy-level", "0"));
        Assert.AreEqual(0, DistillCli.Run("import", "--from", gguf, "--out", fp32, "--context", "1024", "--quantize", "none"));
        string quantization = ModelPackage.Open(package).Manifest.Quantization!;
        // 3 layers, the first dense: two MoE layers.
        StringAssert.Contains(quantization, "for 22 MatMuls and 2 QMoE nodes holding the routed experts", quantization);
        StringAssert.Contains(quantization, "22 MatMuls and 2 QMoE nodes carried bit for bit", quantization);
        StringAssert.Contains(quantization, "embedding table INT8 in blocks of 32 carried bit for bit", quantization);
        var graph = Edge.Distill.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(package, "model.onnx"))).Graph;
        var experts = graph.Node.Where(n => n.OpType == "QMoE").ToList();
        Assert.HasCount(2, experts);
        Assert.IsTrue(experts.All(n => n.Attribute.Single(a => a.Name == "block_size").I == 32 && n.Attribute.Single(a => a.Name == "expert_weight_bits").I == bits));
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "MoE"));

        var tokens = LlamaCppAgreementTests.Tokens(seed: 9, vocabulary: 120000);
        var (agreement, largest) = Agreement(Logits(package, tokens), Logits(fp32, tokens), ModelPackage.Open(fp32).Manifest.Architecture.VocabSize);
        Console.WriteLine($"deepseek_v3 GGUF {type} package vs its fp32 import: top-1 {agreement:P2}, max |logit difference| {largest:E2}");
        if (bits == 4)
            Assert.IsLessThanOrEqualTo(1e-3, largest, "4-bit at accuracy_level 0: the same weights, fp32 activations");
        else
            Assert.IsGreaterThanOrEqualTo(0.9, agreement, "8-bit experts: int8 activations inside QMoE");
        var llama = LlamaCppAgreementTests.Compare(package, gguf, tokens);
        Console.WriteLine($"deepseek_v3 GGUF {type} package vs llama.cpp: top-1 {llama.TopOneAgreement:P2}, max |log-prob difference| {llama.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.7, llama.TopOneAgreement);
    }

    private static float[] Logits(string package, int[] tokens)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
        using var session = Edge.Runtime.Inference.ModelSession.Open(ModelPackage.Open(package), options);
        using var state = session.CreateState();
        return session.Step(state, tokens, allLogits: true)!;
    }

    private static (double TopOne, double LargestDifference) Agreement(float[] a, float[] b, int vocabulary)
    {
        int same = 0, positions = a.Length / vocabulary;
        double largest = 0;
        for (int p = 0; p < positions; p++)
        {
            var x = a.AsSpan(p * vocabulary, vocabulary);
            var y = b.AsSpan(p * vocabulary, vocabulary);
            int bestX = 0, bestY = 0;
            for (int i = 0; i < vocabulary; i++)
            {
                if (x[i] > x[bestX])
                    bestX = i;
                if (y[i] > y[bestY])
                    bestY = i;
                largest = Math.Max(largest, Math.Abs(x[i] - y[i]));
            }
            if (bestX == bestY)
                same++;
        }
        return ((double)same / positions, largest);
    }

    /// <summary>
    /// K-quants, which our exporter does not write: every matrix of a 256-wide Qwen2 re-encoded as
    /// random but valid Q4_K or Q6_K blocks. llama.cpp decodes them with its own code; ours must match.
    /// </summary>
    [TestMethod]
    [DataRow("Q4_K")]
    [DataRow("Q6_K")]
    public void KQuantBlocksDecodeAsLlamaCppDecodesThem(string type)
    {
        string config = SyntheticCheckpoint.Qwen2Config.Replace("\"hidden_size\": 64", "\"hidden_size\": 256").Replace("\"intermediate_size\": 128", "\"intermediate_size\": 512");
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "k-" + type), config, "F32", shards: 1, seed: 21);
        string f32 = Path.Combine(s_work, $"k-{type}-f32.gguf"), gguf = Path.Combine(s_work, $"k-{type}.gguf"), package = Path.Combine(s_work, $"k-{type}-package");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", f32, "--format", "gguf"));
        var ggml = Enum.Parse<GgmlType>(type);
        using (var source = GgufReader.Open(f32))
        {
            var writer = new GgufWriter();
            foreach (var (key, value) in source.Metadata.Where(m => m.Key != "general.alignment"))
                writer.Add(key, value);
            var random = new Random(5);
            foreach (var tensor in source.Tensors.Values)
            {
                bool matrix = tensor.Shape.Length == 2 && tensor.Shape[^1] % 256 == 0 && tensor.Name.StartsWith("blk.", StringComparison.Ordinal);
                var info = tensor;
                if (matrix)
                    writer.AddTensor(info.Name, info.Shape, ggml, () => RandomBlocks(ggml, info.Elements / 256, random));
                else
                    writer.AddTensor(info.Name, info.Shape, info.Type, () => source.ReadBytes(info));
            }
            writer.Write(gguf);
        }
        Assert.AreEqual(0, DistillCli.Run("import", "--from", gguf, "--out", package, "--context", "1024"));
        var agreement = LlamaCppAgreementTests.Compare(package, gguf, LlamaCppAgreementTests.Tokens(seed: 2, vocabulary: 120000));
        Console.WriteLine($"qwen2 GGUF with random {type} blocks: top-1 agreement {agreement.TopOneAgreement:P2}, max |log-prob difference| {agreement.MaxLogProbDifference:E2}");
        Assert.IsGreaterThanOrEqualTo(0.9, agreement.TopOneAgreement);
    }

    /// <summary>Valid blocks with small scales: any bytes are a block, only the fp16 scales must be finite.</summary>
    private static byte[] RandomBlocks(GgmlType type, long blocks, Random random)
    {
        var (_, size) = GgmlTypes.Block(type);
        var bytes = new byte[blocks * size];
        random.NextBytes(bytes);
        for (long b = 0; b < blocks; b++)
        {
            var block = bytes.AsSpan((int)(b * size), size);
            if (type == GgmlType.Q4_K)
            {
                BinaryPrimitives.WriteHalfLittleEndian(block, (Half)(0.002f * (1 + random.NextSingle())));
                BinaryPrimitives.WriteHalfLittleEndian(block[2..], (Half)(0.004f * (1 + random.NextSingle())));
            }
            else
            {
                BinaryPrimitives.WriteHalfLittleEndian(block[208..], (Half)(0.00002f * (1 + random.NextSingle())));
            }
        }
        return bytes;
    }
}

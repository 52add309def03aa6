using System.Text.Json.Nodes;

namespace Edge.Distill.Tests.Import;

/// <summary>Every wrong form of a checkpoint folder is refused with a reason that names the problem, and leaves no package behind.</summary>
[TestClass]
public sealed class ImportRefusalTests
{
    private static string s_work = null!;
    private static string s_good = null!;

    [ClassInitialize]
    public static void CreateWork(TestContext _)
    {
        s_work = Directory.CreateTempSubdirectory("edge-import-refusals").FullName;
        s_good = SyntheticCheckpoint.Write(Path.Combine(s_work, "good"), SyntheticCheckpoint.Qwen2Config, "BF16", shards: 2, seed: 1);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    private static string Copy(string name)
    {
        string folder = Path.Combine(s_work, name);
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.EnumerateFiles(s_good))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        return folder;
    }

    private static void AssertRefused(string folder, string reason)
    {
        string output = folder + "-package";
        var (code, errors) = DistillCli.RunCapturingErrors("import", "--from", folder, "--out", output);
        Assert.AreEqual(2, code, errors);
        StringAssert.Contains(errors, reason);
        Assert.IsFalse(Directory.Exists(output), "a refused import must not leave a package");
        Assert.IsFalse(Directory.Exists(output + ".importing"), "nor a half-written one");
    }

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    [TestMethod]
    public void TheGoodFolderImports() => Assert.AreEqual(0, DistillCli.Run("import", "--from", s_good, "--out", Path.Combine(s_work, "good-package")));

    [TestMethod]
    [DataRow("mistral")]
    [DataRow("QWEN2")]
    [DataRow("qwen2_moe")]
    public void AnUnknownModelTypeIsRefusedByName(string modelType)
    {
        string folder = Copy("type-" + modelType);
        EditConfig(folder, c => c["model_type"] = modelType);
        AssertRefused(folder, $"model_type '{modelType}' is not supported");
    }

    [TestMethod]
    public void AnUnknownConfigFieldIsRefusedByName()
    {
        string folder = Copy("unknown-field");
        EditConfig(folder, c => c["attn_logit_softcapping"] = 30.0);
        AssertRefused(folder, "'attn_logit_softcapping' not understood");
    }

    [TestMethod]
    public void SlidingWindowAttentionIsRefused()
    {
        string folder = Copy("sliding");
        EditConfig(folder, c => c["use_sliding_window"] = true);
        AssertRefused(folder, "use_sliding_window");
    }

    [TestMethod]
    public void AMissingShardIsRefusedByName()
    {
        string folder = Copy("missing-shard");
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        AssertRefused(folder, "model-00002-of-00002.safetensors");
    }

    [TestMethod]
    public void ATruncatedShardIsRefused()
    {
        string folder = Copy("truncated");
        string shard = Path.Combine(folder, "model-00001-of-00002.safetensors");
        using (var stream = File.Open(shard, FileMode.Open))
            stream.SetLength(stream.Length / 2);
        AssertRefused(folder, "do not fit its shape or the file");
    }

    [TestMethod]
    public void AConfigThatDoesNotMatchTheWeightsIsRefusedWithTheTensor()
    {
        string folder = Copy("wrong-shape");
        EditConfig(folder, c => c["intermediate_size"] = 96);
        AssertRefused(folder, "'model.layers.0.mlp.gate_proj.weight' has shape [128, 64]; the config needs [96, 64]");
    }

    [TestMethod]
    public void MissingLayersAreRefused()
    {
        string folder = Copy("more-layers");
        EditConfig(folder, c => c["num_hidden_layers"] = 3);
        AssertRefused(folder, "lacks");
    }

    [TestMethod]
    public void AMissingTokenizerIsRefused()
    {
        string folder = Copy("no-tokenizer");
        File.Delete(Path.Combine(folder, "tokenizer.json"));
        AssertRefused(folder, "tokenizer.json");
    }

    [TestMethod]
    [DataRow(-1)]
    [DataRow(int.MaxValue)]
    public void AbsurdSizesAreRefused(int hidden)
    {
        string folder = Copy("size-" + hidden);
        EditConfig(folder, c => c["hidden_size"] = hidden);
        AssertRefused(folder, "config.json");
    }

    [TestMethod]
    public void AnFp8WeightWithoutItsScaleIsRefused()
    {
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "fp8"), SyntheticCheckpoint.DeepSeekV3Config, "F8_E4M3", shards: 1, seed: 2);
        var tensors = Edge.Distill.Checkpoints.Safetensors.Open(Path.Combine(folder, "model.safetensors"));
        var kept = tensors.Entries.Values.Where(e => e.Name != "model.layers.0.self_attn.o_proj.weight_scale_inv")
            .Select(e => (e.Name, e.Dtype, e.Shape, Raw(tensors, e))).ToList();
        tensors.Dispose();
        Edge.Distill.Checkpoints.Safetensors.Write(Path.Combine(folder, "model.safetensors"), kept);
        AssertRefused(folder, "'model.layers.0.self_attn.o_proj.weight' is fp8 but the checkpoint has no");
    }

    private static byte[] Raw(Edge.Distill.Checkpoints.Safetensors file, Edge.Distill.Checkpoints.Safetensors.Entry entry)
    {
        using var stream = File.OpenRead(file.Path);
        var header = new byte[8];
        stream.ReadExactly(header);
        long start = 8 + (long)BitConverter.ToUInt64(header) + entry.Start;
        var bytes = new byte[entry.End - entry.Start];
        stream.Position = start;
        stream.ReadExactly(bytes);
        return bytes;
    }
}

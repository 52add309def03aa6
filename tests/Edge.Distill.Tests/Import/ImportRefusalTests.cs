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

    /// <summary>
    /// --out is replaced: pointed back at the input (itself, with a trailing separator or through a
    /// symbolic link, or a folder holding it) it would delete what it reads. Refused, the input intact.
    /// </summary>
    [TestMethod]
    public void AnOutputThatIsOrHoldsTheInputIsRefusedAndTheInputSurvives()
    {
        string parent = Path.Combine(s_work, "overlap");
        Directory.CreateDirectory(parent);
        string folder = Copy(Path.Combine("overlap", "model"));
        string link = Path.Combine(s_work, "overlap-link");
        Directory.CreateSymbolicLink(link, folder);
        string gguf = Path.Combine(s_work, "overlap.gguf");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", gguf, "--format", "gguf"));
        string fp32 = Path.Combine(s_work, "overlap-fp32");
        Assert.AreEqual(0, DistillCli.Run("import", "--from", folder, "--out", fp32));
        var before = Directory.EnumerateFiles(folder).ToDictionary(f => f, File.ReadAllBytes);

        foreach (var arguments in new[]
        {
            new[] { "import", "--from", folder, "--out", folder },
            ["import", "--from", folder, "--out", folder + Path.DirectorySeparatorChar],
            ["import", "--from", folder, "--out", link],
            ["import", "--from", folder, "--out", parent],
            ["import", "--from", gguf, "--out", s_work],
            ["quantize", "--in", fp32, "--out", fp32 + "/./", "--mode", "int8"],
            ["export", "--checkpoint", folder, "--out", parent, "--format", "gguf"],
        })
        {
            var (code, errors) = DistillCli.RunCapturingErrors(arguments);
            Assert.AreEqual(2, code, string.Join(' ', arguments) + ": " + errors);
            StringAssert.Contains(errors, "the input would be deleted", string.Join(' ', arguments));
        }
        // A GGUF written over a checkpoint's own weights file would replace them.
        string shard = Directory.EnumerateFiles(folder, "*.safetensors").First();
        var (refused, reason) = DistillCli.RunCapturingErrors("export", "--checkpoint", folder, "--out", shard, "--format", "gguf");
        Assert.AreEqual(2, refused, reason);
        StringAssert.Contains(reason, "is not a GGUF file");

        foreach (var (file, bytes) in before)
            CollectionAssert.AreEqual(bytes, File.ReadAllBytes(file), file);
        CollectionAssert.AreEquivalent(before.Keys.ToList(), Directory.EnumerateFiles(folder).ToList(), "nothing added to the input either");
        Assert.IsTrue(File.Exists(gguf) && Directory.Exists(fp32), "the other inputs survive too");
    }

    /// <summary>A safetensors header whose byte range would wrap past the end of a long, or whose fields are the wrong JSON kind, is refused as damaged.</summary>
    [TestMethod]
    [DataRow("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775804,9223372036854775808]}}")]
    [DataRow("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775800,9223372036854775804]}}")]
    [DataRow("{\"w\":{\"dtype\":\"F32\",\"shape\":\"one\",\"data_offsets\":[0,4]}}")]
    [DataRow("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [DataRow("[1, 2, 3]")]
    public void AHostileSafetensorsHeaderIsRefusedAsDamaged(string header)
    {
        string folder = Copy("hostile-header-" + Math.Abs(header.GetHashCode()));
        foreach (string shard in Directory.EnumerateFiles(folder, "*.safetensors"))
            File.Delete(shard);
        File.Delete(Path.Combine(folder, "model.safetensors.index.json"));
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header);
        using (var file = File.Create(Path.Combine(folder, "model.safetensors")))
        {
            file.Write(BitConverter.GetBytes((ulong)json.Length));
            file.Write(json);
            file.Write(new byte[16]);
        }
        AssertRefused(folder, "model.safetensors");
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

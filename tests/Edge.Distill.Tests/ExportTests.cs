using System.Text.Json;
using Edge.Distill.Checkpoints;
using Edge.Distill.Export;
using Edge.Distill.Modeling;
using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;
using Edge.TestSupport;
using TorchSharp;

namespace Edge.Distill.Tests;

/// <summary>init -> export -> verify on real TorchSharp and ONNX Runtime.</summary>
[TestClass]
public sealed class ExportTests
{
    private static string s_work = null!;
    private static string s_checkpoint = null!;
    private static string s_package = null!;

    [ClassInitialize]
    public static void CreateStudent(TestContext _)
    {
        s_work = Directory.CreateTempSubdirectory("edge-distill-tests").FullName;
        s_checkpoint = Path.Combine(s_work, "checkpoint");
        s_package = Path.Combine(s_work, "package");
        Assert.AreEqual(0, DistillCli.Run("init", "--arch", "deepseek_v3", "--preset", "tiny", "--seed", "7", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", s_checkpoint));
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", s_checkpoint, "--out", s_package));
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    [TestMethod]
    public void ExportedGraphReproducesTheTorchSharpModelThroughTheCache()
    {
        var report = ExportVerifier.Run(s_checkpoint, s_package, "Conveyor 4 stopped: check the belt tension.", decodeSteps: 8);
        Assert.AreEqual(8, report.DecodeSteps);
        Assert.IsGreaterThan(5, report.PromptTokens);
        Assert.IsGreaterThan(0.0, report.MaxAbsLogit, "logits that are all zero would prove nothing");
        Assert.IsLessThanOrEqualTo(ExportVerifier.DefaultTolerance, report.MaxAbsDifference);
    }

    [TestMethod]
    [DataRow("model.layers.1.self_attn.kv_b_proj.weight")]      // latent attention
    [DataRow("model.layers.2.self_attn.kv_a_proj_with_mqa.weight")]
    [DataRow("model.layers.1.mlp.gate.weight")]                 // routing
    [DataRow("model.layers.2.mlp.shared_experts.down_proj.weight")]
    public void VerifyFailsWhenTheCheckpointNoLongerMatchesTheExport(string weight)
    {
        string altered = Path.Combine(s_work, "altered-" + weight);
        CopyDirectory(s_checkpoint, altered);
        var tensors = Safetensors.Read(Path.Combine(altered, Checkpoint.WeightsFile));
        var (_, data) = tensors[weight];
        for (int i = 0; i < data.Length; i++)
            data[i] *= 1.5f;
        Safetensors.Write(Path.Combine(altered, Checkpoint.WeightsFile), tensors.Select(t => (t.Key, t.Value.Shape, t.Value.Data)));

        Assert.AreEqual(1, DistillCli.Run("verify", "--checkpoint", altered, "--package", s_package));
        var report = ExportVerifier.Run(altered, s_package, "Conveyor 4 stopped.", decodeSteps: 2);
        Assert.IsGreaterThan(ExportVerifier.DefaultTolerance, report.MaxAbsDifference);
    }

    [TestMethod]
    public void BothCacheLayoutsVerifyAndGenerateTheSameTokens()
    {
        string concat = Path.Combine(s_work, "package-concat");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", s_checkpoint, "--out", concat, "--cache-layout", "concat"));
        Assert.IsFalse(ModelPackage.Open(concat).GenAi.Search.PastPresentShareBuffer);
        Assert.IsTrue(ModelPackage.Open(s_package).GenAi.Search.PastPresentShareBuffer);
        Assert.IsLessThanOrEqualTo(ExportVerifier.DefaultTolerance, ExportVerifier.Run(s_checkpoint, concat, "Conveyor 4 stopped.", decodeSteps: 8).MaxAbsDifference);

        using var sharedEngine = InferenceEngine.Load(s_package);
        using var concatEngine = InferenceEngine.Load(concat);
        var settings = new GenerationSettings { MaxTokens = 24, StopAtEos = false };
        CollectionAssert.AreEqual(
            sharedEngine.Complete("Robot cell 2 reports", settings).CompletionIds.ToList(),
            concatEngine.Complete("Robot cell 2 reports", settings).CompletionIds.ToList());
    }

    [TestMethod]
    public void APrefillThatSamplesProjectsOnlyItsLastPositionAndGetsTheSameLogits()
    {
        var graph = Edge.Distill.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(s_package, "model.onnx"))).Graph;
        Assert.IsTrue(graph.Input.Any(i => i.Name == "logits_to_keep"), "the graph takes logits_to_keep");
        Assert.IsFalse(graph.Initializer.Any(i => i.Name == "logits_to_keep"), "as a plain input: a default would block constant folding (ONNX Runtime warns at load)");

        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
        using var session = ModelSession.Open(ModelPackage.Open(s_package), options);
        int[] prompt = [.. ModelTokenizerFor(s_package).Encode("Conveyor 4 stopped after the pressure alarm on line three.")];
        Assert.IsGreaterThan(4, prompt.Length);
        using var everyPosition = session.CreateState();
        float[] all = session.Step(everyPosition, prompt, allLogits: true)!;
        Assert.HasCount(prompt.Length * session.VocabularySize, all, "evaluation still gets every position");
        // The sampling prefill binds a [1, 1, vocabulary] output: it runs only if the graph projected one position.
        using var lastOnly = session.CreateState();
        Assert.IsNull(session.Step(lastOnly, prompt));
        var expected = all.AsSpan((prompt.Length - 1) * session.VocabularySize);
        for (int i = 0; i < session.VocabularySize; i++)
            Assert.AreEqual(expected[i], lastOnly.LastLogits[i], 1e-5f, $"logit {i}");
        // And the cache it left decodes like the other one.
        session.Step(everyPosition, [7]);
        session.Step(lastOnly, [7]);
        for (int i = 0; i < session.VocabularySize; i++)
            Assert.AreEqual(everyPosition.LastLogits[i], lastOnly.LastLogits[i], 1e-5f, $"next logit {i}");
    }

    [TestMethod]
    public async Task SequencesOfVeryDifferentLengthsDecodeInOneBatchAsAlone()
    {
        // Attention reads cache rows only up to the step's highest position: the short sequence must
        // not lose keys to the long one's length, nor the long one see the short one's rows.
        using var engine = InferenceEngine.Load(s_package);
        var settings = new GenerationSettings { MaxTokens = 16, StopAtEos = false };
        string[] prompts = ["Hi", "Shift A report: every station on lines one to four is green except station 7, whose pump overheated twice since Monday"];
        var alone = prompts.Select(p => engine.Complete(p, settings).CompletionIds.ToList()).ToList();
        using var scheduler = new Edge.Runtime.Scheduling.GenerationScheduler(engine, new Edge.Runtime.Scheduling.SchedulerOptions { MaxBatchSize = 4 });
        var batched = await Task.WhenAll(prompts.Select(p => scheduler.GenerateAsync(engine.Tokenizer.Encode(p), settings)));
        for (int i = 0; i < prompts.Length; i++)
            CollectionAssert.AreEqual(alone[i], batched[i].CompletionIds.ToList(), prompts[i]);
    }

    private static Edge.Runtime.Tokenization.ModelTokenizer ModelTokenizerFor(string package) => Edge.Runtime.Tokenization.ModelTokenizer.Load(package);

    [TestMethod]
    public void CheckpointUsesHuggingFaceNames()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_checkpoint, "config.json")));
        foreach (string field in new[] { "hidden_size", "num_hidden_layers", "num_attention_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
            "qk_rope_head_dim", "v_head_dim", "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "moe_intermediate_size",
            "first_k_dense_replace", "routed_scaling_factor", "scoring_func", "norm_topk_prob", "rope_theta", "vocab_size", "n_group", "topk_group" })
        {
            Assert.IsTrue(config.RootElement.TryGetProperty(field, out _), $"config.json lacks {field}");
        }
        Assert.AreEqual("deepseek_v3", config.RootElement.GetProperty("model_type").GetString());

        var names = Safetensors.Read(Path.Combine(s_checkpoint, Checkpoint.WeightsFile)).Keys.ToHashSet();
        // Nothing but Hugging Face names: no C# field names leaking in as a second copy.
        Assert.IsEmpty(names.Where(n => n.Contains("._", StringComparison.Ordinal) || n.StartsWith('_')).ToList());
        foreach (string name in new[]
        {
            "model.embed_tokens.weight", "model.norm.weight",
            "model.layers.0.self_attn.q_a_proj.weight", "model.layers.0.self_attn.q_a_layernorm.weight", "model.layers.0.self_attn.q_b_proj.weight",
            "model.layers.0.self_attn.kv_a_proj_with_mqa.weight", "model.layers.0.self_attn.kv_a_layernorm.weight",
            "model.layers.0.self_attn.kv_b_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
            "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.gate.e_score_correction_bias",
            "model.layers.1.mlp.experts.3.gate_proj.weight", "model.layers.1.mlp.experts.7.down_proj.weight",
            "model.layers.2.mlp.shared_experts.up_proj.weight",
        })
        {
            Assert.Contains(name, names);
        }
    }

    [TestMethod]
    public void PackageFollowsTheDesignAndPassesItsOwnSmokeTest()
    {
        var package = ModelPackage.Open(s_package);
        var files = package.Manifest.Files.Select(f => f.Path).ToList();
        CollectionAssert.IsSubsetOf(new[] { "model.onnx", "genai_config.json", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json" }, files);
        Assert.AreEqual("model.onnx", package.GenAi.Model.Decoder.Filename);
        Assert.AreEqual(1024, package.GenAi.Model.ContextLength);

        var smoke = package.Manifest.SmokeTest!;
        using var engine = InferenceEngine.Load(s_package);
        var result = engine.Complete(smoke.Prompt, new GenerationSettings { MaxTokens = smoke.ExpectedIds.Count, StopAtEos = false });
        CollectionAssert.AreEqual(smoke.ExpectedIds.ToList(), result.CompletionIds.ToList());
    }

    [TestMethod]
    public void SameSeedGivesTheSameWeightsAndAnotherSeedDoesNot()
    {
        string again = Path.Combine(s_work, "again");
        string other = Path.Combine(s_work, "other");
        Assert.AreEqual(0, DistillCli.Run("init", "--preset", "tiny", "--seed", "7", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", again));
        Assert.AreEqual(0, DistillCli.Run("init", "--preset", "tiny", "--seed", "8", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", other));
        byte[] original = File.ReadAllBytes(Path.Combine(s_checkpoint, Checkpoint.WeightsFile));
        CollectionAssert.AreEqual(original, File.ReadAllBytes(Path.Combine(again, Checkpoint.WeightsFile)));
        CollectionAssert.AreNotEqual(original, File.ReadAllBytes(Path.Combine(other, Checkpoint.WeightsFile)));
    }

    [TestMethod]
    public void RefusesWhatItCannotBuild()
    {
        Assert.AreNotEqual(0, DistillCli.Run("init", "--arch", "llama", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", Path.Combine(s_work, "x")));
        Assert.AreNotEqual(0, DistillCli.Run("init", "--preset", "huge", "--tokenizer", RepositoryPaths.DeepSeekV3Tokenizer, "--out", Path.Combine(s_work, "x")));
        Assert.AreNotEqual(0, DistillCli.Run("export", "--checkpoint", Path.Combine(s_work, "missing"), "--out", Path.Combine(s_work, "y")));
        var bad = DeepSeekV3Config.Preset("tiny", 1000, 0, 1) with { NGroup = 3 };
        var error = Assert.ThrowsExactly<InvalidDataException>(bad.Validate);
        StringAssert.Contains(error.Message, "n_group");
    }


    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}

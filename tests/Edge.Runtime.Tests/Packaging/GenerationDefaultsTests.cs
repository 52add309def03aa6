using Edge.Runtime.Inference;
using Edge.Runtime.Packaging;

namespace Edge.Runtime.Tests.Packaging;

/// <summary>generation_config.json as transformers reads it, and hostile forms of it.</summary>
[TestClass]
public sealed class GenerationDefaultsTests
{
    private static GenerationDefaults ReadJson(string json)
    {
        string directory = Directory.CreateTempSubdirectory("dsedge-genconfig-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, GenerationDefaults.FileName), json);
            return GenerationDefaults.Read(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void NoFileOrNoSamplingIsGreedy()
    {
        Assert.AreEqual(GenerationDefaults.Greedy, GenerationDefaults.Read(Path.GetTempPath() + Guid.NewGuid().ToString("N")));
        // R1-Distill-style values without do_sample: transformers decodes greedily, so do we.
        Assert.AreEqual(GenerationDefaults.Greedy, ReadJson("""{"bos_token_id":0,"eos_token_id":[1,2],"temperature":0.6,"top_p":0.95}"""));
        Assert.AreEqual(GenerationDefaults.Greedy with { RepetitionPenalty = 1.1f }, ReadJson("""{"do_sample":false,"repetition_penalty":1.1}"""));
    }

    [TestMethod]
    public void SamplingTakesTheFileAndTransformersDefaultsForTheRest()
    {
        Assert.AreEqual(new GenerationDefaults(0.6f, 0.95f, 50, 1f), ReadJson("""{"do_sample":true,"temperature":0.6,"top_p":0.95}"""));
        Assert.AreEqual(new GenerationDefaults(1f, 1f, 20, 1f), ReadJson("""{"do_sample":true,"top_k":20,"temperature":null}"""));
    }

    [TestMethod]
    [DataRow("""{"do_sample":true,"temperature":-1}""", "temperature")]
    [DataRow("""{"do_sample":true,"temperature":"hot"}""", "temperature")]
    [DataRow("""{"do_sample":true,"top_p":0}""", "top_p")]
    [DataRow("""{"do_sample":true,"top_p":1.5}""", "top_p")]
    [DataRow("""{"do_sample":true,"top_k":2.5}""", "top_k")]
    [DataRow("""{"do_sample":true,"top_k":1e300}""", "top_k")]
    [DataRow("""{"do_sample":true,"temperature":1e309}""", "temperature")]
    [DataRow("""{"repetition_penalty":0}""", "repetition_penalty")]
    [DataRow("""[1,2]""", "object")]
    [DataRow("""{"do_sample":true,""", "malformed")]
    public void AValueNoSamplerTakesRefusesTheModelByName(string json, string named)
    {
        var refused = Assert.ThrowsExactly<ModelLoadException>(() => ReadJson(json));
        StringAssert.Contains(refused.Message, named);
    }

    [TestMethod]
    public void ARequestKeepsWhatItSetAndTakesTheRest()
    {
        var defaults = new GenerationDefaults(0.6f, 0.95f, 50, 1.1f);
        var request = new GenerationSettings { Temperature = 0f, TopP = 0.5f, TopK = 0, RepetitionPenalty = 1f };
        var applied = request.WithDefaults(defaults, new HashSet<string> { "temperature" });
        Assert.AreEqual(0f, applied.Temperature);
        Assert.AreEqual(0.95f, applied.TopP);
        Assert.AreEqual(50, applied.TopK);
        Assert.AreEqual(1.1f, applied.RepetitionPenalty);
        Assert.AreEqual(request, request.WithDefaults(defaults, GenerationDefaults.Parameters.ToHashSet()));
    }
}

using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Constraints;

/// <summary>guided_choice on the default model: the answer is exactly one of the choices, however hot the sampling.</summary>
[TestClass]
public sealed class GuidedChoiceTests
{
    private static InferenceEngine Engine => DefaultEngine.Instance;

    [TestMethod]
    [DataRow(new[] { "open", "close", "hold position" })]
    [DataRow(new[] { "on", "one", "once more", "温度" })] // choices that continue others, and multi-byte UTF-8
    [DataRow(new[] { "V-12" })]
    public async Task EveryAnswerIsOneOfTheChoices(string[] choices)
    {
        int[] prompt = Engine.Tokenizer.Encode("Valve 12 pressure is high. Action:");
        var settings = Enumerable.Range(0, 12).Select(seed => new GenerationSettings { MaxTokens = 40, Temperature = 1.5f, Seed = seed, Choices = choices })
            .Append(new GenerationSettings { MaxTokens = 40, Choices = choices, StopAtEos = false }).ToList();
        using var scheduler = new GenerationScheduler(Engine, new SchedulerOptions { MaxBatchSize = 8 });
        var results = await Task.WhenAll(settings.Select(s => scheduler.GenerateAsync(prompt, s)));
        foreach (var result in results.Append(Engine.Generate(prompt, settings[0])))
        {
            CollectionAssert.Contains(choices, result.Text);
            Assert.AreEqual(FinishReason.Stop, result.FinishReason);
        }
    }

    [TestMethod]
    public void ChoicesOutOfBoundsAreRefusedByName()
    {
        foreach (var choices in new[] { Enumerable.Repeat("x", GenerationSettings.MaxChoices + 1).ToArray(), [""], [new string('y', GenerationSettings.MaxChoiceBytes + 1)] })
        {
            var refused = Assert.ThrowsExactly<GenerationRequestException>(() => new GenerationSettings { Choices = choices }.Validate());
            Assert.AreEqual("guided_choice", refused.Parameter);
        }
        var both = Assert.ThrowsExactly<GenerationRequestException>(() => new GenerationSettings { Choices = ["a"], ResponseFormat = ResponseFormat.JsonObject }.Validate());
        Assert.AreEqual("guided_choice", both.Parameter);
    }

    [TestMethod]
    public void AChoiceLongerThanMaxTokensIsNotStarted()
    {
        // "hold position" cannot fit in 3 tokens of one byte each; "open" and "close" can.
        var result = Engine.Generate(Engine.Tokenizer.Encode("Action:"), new GenerationSettings { MaxTokens = 5, Temperature = 1.5f, Seed = 1, Choices = ["open", "close", "hold position, then report"] });
        CollectionAssert.Contains(new[] { "open", "close" }, result.Text);
    }
}

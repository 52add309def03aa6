using Edge.Runtime.Inference;

namespace Edge.Runtime.Tests.Inference;

[TestClass]
public sealed class DecoderSignatureTests
{
    [TestMethod]
    [DataRow("past_key_values.0.key", "present.0.key")]          // Optimum
    [DataRow("past_key_values.3.kv_latent", "present.3.kv_latent")] // our MLA export
    [DataRow("past_0_key", "present_0_key")]
    public void PairsEachPastWithItsPresent(string past, string present) =>
        Assert.AreEqual(present, DecoderSignature.PresentNameFor(past));
}

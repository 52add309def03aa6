using Edge.Distill.Checkpoints;

namespace Edge.Distill.Tests.Import;

[TestClass]
public sealed class Fp8DequantizationTests
{
    [TestMethod]
    public void E4M3DecodesTheFormatsLandmarks()
    {
        Assert.AreEqual(0f, Float8E4M3.Values[0x00]);
        Assert.AreEqual(1f, Float8E4M3.Values[0x38]);      // exponent 7 = bias
        Assert.AreEqual(448f, Float8E4M3.Values[0x7E]);    // the largest finite value
        Assert.AreEqual(-448f, Float8E4M3.Values[0xFE]);
        Assert.AreEqual(MathF.Pow(2, -9), Float8E4M3.Values[0x01]); // smallest subnormal: 1/8 x 2^-6
        Assert.IsTrue(float.IsNaN(Float8E4M3.Values[0x7F]));
        Assert.IsTrue(float.IsNaN(Float8E4M3.Values[0xFF]));
    }

    [TestMethod]
    public void BlockScalesApplyPerBlockOf128ByEachAxis()
    {
        // 200 x 300 weights: 2 x 3 blocks, the last row and column blocks partial.
        string folder = Directory.CreateTempSubdirectory("edge-fp8").FullName;
        try
        {
            var codes = new byte[200 * 300];
            Array.Fill(codes, (byte)0x38); // 1.0
            var scales = new float[] { 1, 2, 3, 4, 5, 6 };
            Safetensors.Write(Path.Combine(folder, "model.safetensors"), new (string, string, long[], byte[])[]
            {
                ("w", "F8_E4M3", [200, 300], codes),
                ("w_scale_inv", "F32", [2, 3], SyntheticCheckpoint.Encode(scales, "F32")),
            });
            using var weights = HuggingFaceWeights.Open(folder, _ => false);
            Assert.AreEqual(1, weights.Count, "the scale is consumed, not listed");
            var (_, data) = weights["w"];
            Assert.AreEqual(1f, data[0]);                 // block (0, 0)
            Assert.AreEqual(2f, data[128]);               // block (0, 1)
            Assert.AreEqual(3f, data[299]);               // block (0, 2), partial
            Assert.AreEqual(4f, data[128 * 300]);         // block (1, 0)
            Assert.AreEqual(6f, data[199 * 300 + 299]);   // block (1, 2), the last weight
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

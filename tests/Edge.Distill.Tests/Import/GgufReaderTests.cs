using Edge.Distill.Gguf;

namespace Edge.Distill.Tests.Import;

/// <summary>Reading part of a GGUF tensor (one expert of a stacked tensor) decodes exactly those rows.</summary>
[TestClass]
public sealed class GgufReaderTests
{
    [TestMethod]
    [DataRow("F32")]
    [DataRow("Q4_0")]
    [DataRow("Q8_0")]
    public void ASliceOfRowsDecodesAsThoseRowsOfTheWhole(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        const int rows = 6, width = 64;
        var random = new Random(7);
        var values = new float[rows * width];
        for (int i = 0; i < values.Length; i++)
            values[i] = random.NextSingle() - 0.5f;
        string path = Path.Combine(Directory.CreateTempSubdirectory("edge-gguf-reader").FullName, "t.gguf");
        try
        {
            var writer = new GgufWriter();
            writer.Add("general.architecture", GgufValue.Of("qwen2"));
            writer.AddTensor("w", [rows, width], type, () => GgmlCodec.Encode(values, type));
            writer.Write(path);

            using var reader = GgufReader.Open(path);
            var info = reader.Tensors["w"];
            var whole = reader.ReadFloats(info);
            var slice = reader.ReadFloats(info, 2 * width, 3 * width);
            CollectionAssert.AreEqual(whole[(2 * width)..(5 * width)], slice);
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => reader.ReadFloats(info, 5 * width, 2 * width), "past the end");
            if (type != GgmlType.F32)
                Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => reader.ReadFloats(info, 16, width), "not on a block boundary");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}

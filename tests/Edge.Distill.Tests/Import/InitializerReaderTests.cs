using Edge.Distill.Onnx;
using Edge.Distill.Onnx.Proto;

namespace Edge.Distill.Tests.Import;

/// <summary>
/// A package's graph says where its external weights are; the quantizer follows it. A graph that
/// points outside its folder, or past the end of its side file, is refused by name.
/// </summary>
[TestClass]
public sealed class InitializerReaderTests
{
    [TestMethod]
    [DataRow("../model.onnx.data")]
    [DataRow("/etc/passwd")]
    [DataRow("sub/model.onnx.data")]
    [DataRow(".hidden")]
    public void ALocationOutsideThePackageIsRefused(string location)
    {
        string folder = Directory.CreateTempSubdirectory("edge-initializers").FullName;
        try
        {
            using var reader = new InitializerReader(folder);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => reader.Floats(External("w", location, 0, 16)));
            StringAssert.Contains(error.Message, "'w'");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    [DataRow(0L, 4096L)]
    [DataRow(4000L, 200L)]
    [DataRow(long.MaxValue - 4, 16L)]
    public void ARangePastTheSideFileIsRefused(long offset, long length)
    {
        string folder = Directory.CreateTempSubdirectory("edge-initializers").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "model.onnx.data"), new byte[4096 - 1]);
            using var reader = new InitializerReader(folder);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => reader.Floats(External("w", "model.onnx.data", offset, length)));
            StringAssert.Contains(error.Message, "outside");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>External-data entries a hostile or damaged graph can hold: each a clear refusal naming the initializer, not a crash.</summary>
    [TestMethod]
    [DataRow("model.onnx.data", "-8", "16", "whole number")]
    [DataRow("model.onnx.data", "0", "1e3", "whole number")]
    [DataRow("model.onnx.data", "0", "", "whole number")]
    [DataRow("model.onnx.data", "0", null, "whole number")]
    [DataRow("model.onnx.data", " 0", "16", "whole number")]
    [DataRow("model.onnx.data", "0", "99999999999999999999", "whole number")]
    [DataRow("", "0", "16", "names no file")]
    [DataRow(null, "0", "16", "names no file")]
    [DataRow("other.data", "0", "16", "does not have")]
    public void AMalformedExternalEntryIsRefused(string? location, string offset, string? length, string reason)
    {
        string folder = Directory.CreateTempSubdirectory("edge-initializers").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "model.onnx.data"), new byte[64]);
            var tensor = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
            foreach (var (key, value) in new[] { ("location", location), ("offset", offset), ("length", length) })
            {
                if (value is not null)
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
            }
            using var reader = new InitializerReader(folder);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => reader.Floats(tensor));
            StringAssert.Contains(error.Message, "'w'");
            StringAssert.Contains(error.Message, reason);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void ExternalFloatsAreReadWhereTheGraphSays()
    {
        string folder = Directory.CreateTempSubdirectory("edge-initializers").FullName;
        try
        {
            var bytes = new byte[8192];
            BitConverter.GetBytes(1.5f).CopyTo(bytes, 4096);
            BitConverter.GetBytes(-2f).CopyTo(bytes, 4100);
            File.WriteAllBytes(Path.Combine(folder, "model.onnx.data"), bytes);
            using var reader = new InitializerReader(folder);
            CollectionAssert.AreEqual(new[] { 1.5f, -2f }, reader.Floats(External("w", "model.onnx.data", 4096, 8)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static TensorProto External(string name, string location, long offset, long length)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return tensor;
    }
}

using System.Buffers.Binary;

namespace Edge.Distill.Tests.Import;

/// <summary>A damaged or foreign GGUF file is refused with the reason, before any conversion.</summary>
[TestClass]
public sealed class GgufRefusalTests
{
    private static string s_work = null!;
    private static string s_good = null!;

    [ClassInitialize]
    public static void CreateWork(TestContext _)
    {
        s_work = Directory.CreateTempSubdirectory("edge-gguf-refusals").FullName;
        string folder = SyntheticCheckpoint.Write(Path.Combine(s_work, "checkpoint"), SyntheticCheckpoint.Qwen2Config, "F32", shards: 1, seed: 3);
        s_good = Path.Combine(s_work, "good.gguf");
        Assert.AreEqual(0, DistillCli.Run("export", "--checkpoint", folder, "--out", s_good, "--format", "gguf"));
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(s_work, recursive: true);

    private static string Variant(string name, Action<byte[]> damage)
    {
        var bytes = File.ReadAllBytes(s_good);
        damage(bytes);
        string path = Path.Combine(s_work, name + ".gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertRefused(string path, string reason)
    {
        string output = path + "-package";
        var (code, errors) = DistillCli.RunCapturingErrors("import", "--from", path, "--out", output);
        Assert.AreEqual(2, code, errors);
        StringAssert.Contains(errors, reason);
        Assert.IsFalse(Directory.Exists(output));
    }

    /// <summary>Where the first tensor description's ggml type field is (after its name and dimensions).</summary>
    private static int FirstTensorTypeOffset(byte[] bytes, out int dims)
    {
        using var reader = Edge.Distill.Gguf.GgufReader.Open(s_good);
        string first = reader.Tensors.Keys.First();
        int nameAt = System.Text.Encoding.UTF8.GetBytes(first) is var name ? bytes.AsSpan().IndexOf(name) : -1;
        dims = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(nameAt + first.Length));
        return nameAt + first.Length + 4 + 8 * dims;
    }

    [TestMethod]
    public void TheGoodFileImports() => Assert.AreEqual(0, DistillCli.Run("import", "--from", s_good, "--out", Path.Combine(s_work, "good-package")));

    [TestMethod]
    public void BadMagicIsRefused() => AssertRefused(Variant("magic", b => b[0] = (byte)'X'), "not a GGUF file (bad magic");

    [TestMethod]
    public void AnotherVersionIsRefused() => AssertRefused(Variant("version", b => b[4] = 2), "GGUF version 2");

    [TestMethod]
    [DataRow(0.5)]
    [DataRow(0.999)]
    [DataRow(0.0001)]
    public void ATruncatedFileIsRefused(double keep)
    {
        var bytes = File.ReadAllBytes(s_good);
        string path = Path.Combine(s_work, $"truncated-{keep}.gguf");
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        AssertRefused(path, "truncated");
    }

    [TestMethod]
    public void AnUnknownTensorTypeIsRefused() => AssertRefused(
        Variant("type", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(FirstTensorTypeOffset(b, out _)), 99)), "ggml type 99");

    [TestMethod]
    public void AShapeThatDoesNotMatchTheMetadataIsRefused() => AssertRefused(
        // token_embd's inner dimension (the hidden size) changed from 64 to 32: half the rows' bytes.
        Variant("shape", b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(FirstTensorTypeOffset(b, out int dims) - 8 * dims), 32)), "the metadata needs");

    [TestMethod]
    public void AnUnsupportedArchitectureIsRefused() => AssertRefused(
        Variant("arch", b => { int at = b.AsSpan().IndexOf("qwen2"u8); "gemma"u8.CopyTo(b.AsSpan(at)); }), "general.architecture 'gemma' is not supported");

    /// <summary>The first metadata key's length (right after the 24-byte header) claims a terabyte.</summary>
    [TestMethod]
    public void AHugeStringLengthIsRefusedBeforeAnyAllocation() => AssertRefused(
        Variant("string", b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), 1UL << 40)), "is not a plausible GGUF value");

    /// <summary>The token list's element count (after its key, value type and element type) claims 10^12 entries.</summary>
    [TestMethod]
    public void AHugeArrayCountIsRefusedBeforeAnyAllocation() => AssertRefused(
        Variant("array", b =>
        {
            int key = b.AsSpan().IndexOf("tokenizer.ggml.tokens"u8);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(key + "tokenizer.ggml.tokens".Length + 8), 1_000_000_000_000UL);
        }), "is not a plausible GGUF value");

    /// <summary>A tensor offset so large that offset + size would wrap around a 64-bit sum.</summary>
    [TestMethod]
    public void AnOffsetThatWouldOverflowIsRefused() => AssertRefused(
        Variant("offset", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(FirstTensorTypeOffset(b, out _) + 4), (long.MaxValue / 32 - 1) * 32)), "truncated");
}

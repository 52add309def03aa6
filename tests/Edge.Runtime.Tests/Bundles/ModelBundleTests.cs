using System.Formats.Tar;
using System.Security.Cryptography;
using Edge.Runtime.Bundles;
using Edge.Runtime.Packaging;
using Edge.TestSupport;

namespace Edge.Runtime.Tests.Bundles;

/// <summary>Signed bundles of the default model: packed, verified, extracted, and every tampering refused.</summary>
[TestClass]
public sealed class ModelBundleTests
{
    private static string s_folder = null!;
    private static string s_bundle = null!;
    private static ECDsa s_key = null!;

    [ClassInitialize]
    public static void PackTheDefaultModel(TestContext _)
    {
        s_folder = Directory.CreateTempSubdirectory("dsedge-bundle").FullName;
        var (privatePem, publicPem) = BundleKeys.Generate();
        File.WriteAllText(Path.Combine(s_folder, "key.pem"), privatePem);
        File.WriteAllText(Path.Combine(s_folder, "key.pub.pem"), publicPem);
        s_key = BundleKeys.ReadPublic(Path.Combine(s_folder, "key.pub.pem"));
        using var signer = BundleKeys.ReadPrivate(Path.Combine(s_folder, "key.pem"));
        s_bundle = Path.Combine(s_folder, "default.edgepkg");
        ModelBundle.Pack(RepositoryPaths.DefaultModel, signer, s_bundle);
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        s_key.Dispose();
        Directory.Delete(s_folder, recursive: true);
    }

    [TestMethod]
    public void ABundleVerifiesAndExtractsToAPackageThatOpens()
    {
        string target = Path.Combine(s_folder, $"x-{Guid.NewGuid():N}");
        using (var stream = File.OpenRead(s_bundle))
            Assert.AreEqual("0.1.0", ModelBundle.Verify(stream, [s_key], target, new Version(0, 1, 0)).Version);
        var package = ModelPackage.Open(target);
        Assert.IsTrue(File.Exists(Path.Combine(target, ModelBundle.SignatureFileName)));
        Assert.AreEqual(File.ReadAllText(Path.Combine(RepositoryPaths.DefaultModel, "manifest.json")), File.ReadAllText(Path.Combine(target, "manifest.json")));
        Assert.IsNotEmpty(package.Manifest.Files);
    }

    [TestMethod]
    public void AnotherKeyIsRefused()
    {
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Refused(File.ReadAllBytes(s_bundle), "does not verify", stranger);
    }

    [TestMethod]
    public void ATamperedManifestIsRefusedBeforeAnythingIsExtracted() =>
        Refused(Rewrite(entries => entries[0] = entries[0] with { Data = Flip(entries[0].Data, 40) }), "does not verify");

    [TestMethod]
    public void ATamperedFileIsRefused() =>
        Refused(Rewrite(entries => entries[^1] = entries[^1] with { Data = Flip(entries[^1].Data, entries[^1].Data.Length / 2) }), "sha256");

    [TestMethod]
    public void ATruncatedBundleIsRefused()
    {
        byte[] whole = File.ReadAllBytes(s_bundle);
        Refused(whole[..(whole.Length / 2)], "");
    }

    [TestMethod]
    public void AMissingFileIsRefused() => Refused(Rewrite(entries => entries.RemoveAt(entries.Count - 1)), "ends without");

    [TestMethod]
    [DataRow("../evil.onnx", "not a plain relative path")]
    [DataRow("/etc/passwd", "not a plain relative path")]
    [DataRow("extra.bin", "not in the signed manifest")]
    public void AnEntryOutsideTheManifestIsRefused(string name, string reason) =>
        Refused(Rewrite(entries => entries.Add(new Entry(name, TarEntryType.RegularFile, [1, 2, 3], null))), reason);

    [TestMethod]
    public void ALinkEntryIsRefused() =>
        Refused(Rewrite(entries => entries.Insert(2, new Entry("tokenizer.json", TarEntryType.SymbolicLink, [], "/etc/shadow"))), "SymbolicLink");

    [TestMethod]
    public void AFileThatIsNotAKeyGetsAClearError()
    {
        string path = Path.Combine(s_folder, "not-a-key.pem");
        File.WriteAllText(path, "hello");
        StringAssert.Contains(Assert.ThrowsExactly<BundleException>(() => BundleKeys.ReadPublic(path)).Message, "not an ECDSA P-256 public key");
        StringAssert.Contains(Assert.ThrowsExactly<BundleException>(() => BundleKeys.ReadPrivate(Path.Combine(s_folder, "key.pub.pem"))).Message, "private");
    }

    [TestMethod]
    public void ANewerRuntimeRequirementIsRefused()
    {
        using var stream = File.OpenRead(s_bundle);
        StringAssert.Contains(Assert.ThrowsExactly<BundleException>(() => ModelBundle.Verify(stream, [s_key], extractTo: null, runtimeVersion: new Version(0, 0, 1))).Message, "needs runtime");
    }

    private static void Refused(byte[] bundle, string reason, ECDsa? key = null)
    {
        string target = Path.Combine(s_folder, $"x-{Guid.NewGuid():N}");
        using var stream = new MemoryStream(bundle);
        var e = Assert.ThrowsExactly<BundleException>(() => ModelBundle.Verify(stream, [key ?? s_key], target));
        StringAssert.Contains(e.Message, reason);
        Assert.IsFalse(Directory.Exists(target), "a refused bundle leaves nothing behind");
    }

    private sealed record Entry(string Name, TarEntryType Type, byte[] Data, string? Link);

    private static byte[] Flip(byte[] data, int at)
    {
        var copy = data.ToArray();
        copy[at] ^= 0x20;
        return copy;
    }

    /// <summary>The good bundle's entries, changed, written back as a tar (the signature untouched).</summary>
    private static byte[] Rewrite(Action<List<Entry>> change)
    {
        var entries = new List<Entry>();
        using (var input = File.OpenRead(s_bundle))
        using (var reader = new TarReader(input))
        {
            while (reader.GetNextEntry() is { } entry)
            {
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                entries.Add(new Entry(entry.Name, entry.EntryType, data.ToArray(), null));
            }
        }
        change(entries);
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                var written = new PaxTarEntry(entry.Type, entry.Name);
                if (entry.Link is not null)
                    written.LinkName = entry.Link;
                else
                    written.DataStream = new MemoryStream(entry.Data);
                writer.WriteEntry(written);
            }
        }
        return output.ToArray();
    }
}

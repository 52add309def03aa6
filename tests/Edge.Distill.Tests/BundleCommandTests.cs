using Edge.Runtime.Bundles;
using Edge.TestSupport;

namespace Edge.Distill.Tests;

/// <summary>edge-distill keygen and pack: keys written safely, bundles that verify.</summary>
[TestClass]
public sealed class BundleCommandTests
{
    [TestMethod]
    public void KeygenWritesAPrivateKeyOnlyItsOwnerReadsAndPackSignsWithIt()
    {
        string folder = Directory.CreateTempSubdirectory("dsedge-keygen").FullName;
        string key = Path.Combine(folder, "release.pem");
        Assert.AreEqual(0, DistillCli.Run("keygen", "--out", key));
        Assert.IsTrue(File.Exists(Path.Combine(folder, "release.pub.pem")));
        if (!OperatingSystem.IsWindows())
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.AreEqual(2, DistillCli.Run("keygen", "--out", key), "an existing key is never overwritten");

        string bundle = Path.Combine(folder, "default.edgepkg");
        Assert.AreEqual(0, DistillCli.Run("pack", "--package", RepositoryPaths.DefaultModel, "--key", key, "--out", bundle));
        using var trusted = BundleKeys.ReadPublic(Path.Combine(folder, "release.pub.pem"));
        using (var stream = File.OpenRead(bundle))
            Assert.AreEqual("deepseek-edge", ModelBundle.Verify(stream, [trusted]).Name);

        Assert.AreEqual(2, DistillCli.Run("pack", "--package", RepositoryPaths.DefaultModel, "--key", Path.Combine(folder, "release.pub.pem"), "--out", bundle),
            "a public key cannot sign");
        Directory.Delete(folder, recursive: true);
    }
}

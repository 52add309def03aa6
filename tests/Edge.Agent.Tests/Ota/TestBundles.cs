using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Runtime.Bundles;
using Edge.TestSupport;

namespace Edge.Agent.Tests.Ota;

/// <summary>Signed bundles of the default model under other versions, made the way a release would be.</summary>
internal static class TestBundles
{
    /// <summary>A new signing key, its public half written as PEM into the folder for Ota:TrustedKeys.</summary>
    public static (ECDsa Signer, string PublicKeyPath) SigningKey(string folder)
    {
        var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string path = Path.Combine(folder, $"release-{Guid.NewGuid():N}.pub.pem");
        File.WriteAllText(path, signer.ExportSubjectPublicKeyInfoPem());
        return (signer, path);
    }

    /// <param name="changeManifest">Applied to the manifest before signing (a wrong smoke test, say).</param>
    public static byte[] Make(string folder, ECDsa signer, string version, Action<JsonNode>? changeManifest = null)
    {
        string package = Path.Combine(folder, $"pkg-{version}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(package);
        foreach (string file in Directory.EnumerateFiles(RepositoryPaths.DefaultModel))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(package, "manifest.json")))!;
        manifest["version"] = version;
        changeManifest?.Invoke(manifest);
        File.WriteAllText(Path.Combine(package, "manifest.json"), manifest.ToJsonString());
        string bundle = Path.Combine(folder, $"{version}-{Guid.NewGuid():N}.edgepkg");
        ModelBundle.Pack(package, signer, bundle);
        Directory.Delete(package, recursive: true);
        return File.ReadAllBytes(bundle);
    }
}

using System.Security.Cryptography;

namespace Edge.Runtime.Bundles;

/// <summary>ECDSA P-256 keys for bundle signatures, as PEM files.</summary>
public static class BundleKeys
{
    /// <summary>A new key pair: the private key (PKCS#8 PEM) and its public key (SubjectPublicKeyInfo PEM).</summary>
    public static (string PrivatePem, string PublicPem) Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (key.ExportPkcs8PrivateKeyPem(), key.ExportSubjectPublicKeyInfoPem());
    }

    public static ECDsa ReadPrivate(string path) => Read(path, requirePrivate: true);

    public static ECDsa ReadPublic(string path) => Read(path, requirePrivate: false);

    private static ECDsa Read(string path, bool requirePrivate)
    {
        if (!File.Exists(path))
            throw new BundleException($"Key file {path} does not exist.");
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.KeySize != 256)
                throw new BundleException($"{path} holds a {key.KeySize}-bit key; bundles are signed with ECDSA P-256.");
            if (requirePrivate)
                key.ExportParameters(includePrivateParameters: true);
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new BundleException($"{path} is not {(requirePrivate ? "an ECDSA P-256 private" : "an ECDSA P-256 public")} key in PEM: {e.Message}");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}

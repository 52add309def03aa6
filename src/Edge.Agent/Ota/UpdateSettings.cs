using System.Security.Cryptography;
using Edge.Agent.Hosting;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Ota;

/// <summary>
/// Ota:TrustedKeys:N (public key PEM files; without any, updates are refused), Ota:KeepVersions
/// (installed versions kept besides current and previous, 2), Ota:MaxBundleMegabytes (2048).
/// </summary>
internal sealed record UpdateSettings(IReadOnlyList<ECDsa> TrustedKeys, int KeepVersions, long MaxBundleBytes)
{
    public static UpdateSettings Read(IConfiguration configuration)
    {
        var keys = new List<ECDsa>();
        foreach (var entry in configuration.GetSection("Ota:TrustedKeys").GetChildren())
        {
            if (entry.Value is not { Length: > 0 } path)
                continue;
            try
            {
                keys.Add(BundleKeys.ReadPublic(path));
            }
            catch (BundleException e)
            {
                throw new ConfigurationException(entry.Path, e.Message);
            }
        }
        return new UpdateSettings(keys,
            ConfigurationValues.ReadInt(configuration, "Ota:KeepVersions", 2, minimum: 1),
            ConfigurationValues.ReadInt(configuration, "Ota:MaxBundleMegabytes", 2048, minimum: 1) * 1024L * 1024L);
    }
}

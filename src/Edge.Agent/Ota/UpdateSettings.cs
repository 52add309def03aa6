using System.Security.Cryptography;
using Edge.Agent.Configuration;
using Edge.Runtime.Bundles;

namespace Edge.Agent.Ota;

/// <summary>
/// Ota:TrustedKeys:N (public key PEM files; without any, updates are refused), Ota:KeepVersions
/// (installed versions kept besides current and previous, 2), Ota:MaxBundleMegabytes (2048), the
/// probation after a swap (<see cref="ProbationSettings"/>), the update URL to poll (<see cref="PollSettings"/>)
/// and where bundles may be fetched from (<see cref="DownloadPolicy"/>, Ota:AllowedHosts).
/// </summary>
internal sealed record UpdateSettings(IReadOnlyList<ECDsa> TrustedKeys, int KeepVersions, long MaxBundleBytes, ProbationSettings Probation, PollSettings? Poll,
    DownloadPolicy Downloads)
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
            ConfigurationValues.ReadInt(configuration, "Ota:MaxBundleMegabytes", 2048, minimum: 1) * 1024L * 1024L,
            ProbationSettings.Read(configuration),
            PollSettings.Read(configuration),
            DownloadPolicy.Read(configuration));
    }
}

/// <summary>
/// After a swap the new version is on probation for Ota:ProbationSeconds (300): it is rolled back
/// when at least Ota:ProbationMinFailures (3) of its generations failed and they are at least
/// Ota:ProbationMaxErrorPercent (25) of all, or when the daemon started more than
/// Ota:ProbationMaxRestarts (2) times without a clean stop while it was on probation (a crash loop).
/// </summary>
internal sealed record ProbationSettings(TimeSpan Window, int MinFailures, int MaxErrorPercent, int MaxRestarts)
{
    public static ProbationSettings Read(IConfiguration configuration) => new(
        TimeSpan.FromSeconds(ConfigurationValues.ReadInt(configuration, "Ota:ProbationSeconds", 300, minimum: 1)),
        ConfigurationValues.ReadInt(configuration, "Ota:ProbationMinFailures", 3, minimum: 1),
        ConfigurationValues.ReadInt(configuration, "Ota:ProbationMaxErrorPercent", 25, minimum: 1),
        ConfigurationValues.ReadInt(configuration, "Ota:ProbationMaxRestarts", 2, minimum: 0));

    /// <summary>Why the model must go, or null while its failures stay under the limits.</summary>
    public string? Verdict(long finished, long failed) =>
        failed >= MinFailures && failed * 100 >= (finished + failed) * MaxErrorPercent
            ? $"{failed} of its {finished + failed} generations failed during probation (limit {MaxErrorPercent}% with at least {MinFailures})"
            : null;
}

/// <summary>Ota:PollUrl (a bundle's http(s) URL; polling is off without one) checked every Ota:PollIntervalSeconds (3600).</summary>
internal sealed record PollSettings(Uri Url, TimeSpan Interval)
{
    public static PollSettings? Read(IConfiguration configuration)
    {
        if (configuration["Ota:PollUrl"] is not { Length: > 0 } text)
            return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new ConfigurationException("Ota:PollUrl", $"'{text}' is not an absolute http or https URL");
        return new PollSettings(url, TimeSpan.FromSeconds(ConfigurationValues.ReadInt(configuration, "Ota:PollIntervalSeconds", 3600, minimum: 1)));
    }
}

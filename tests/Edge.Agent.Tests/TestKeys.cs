using Edge.Agent.Security;

namespace Edge.Agent.Tests;

/// <summary>The admin key the OTA tests configure: the admin role always needs a key, anonymous loopback never gets it.</summary>
internal static class TestKeys
{
    public const string Admin = "dse_test-admin-key";

    /// <summary>Configuration that adds the admin key (as entry 9, clear of the entries a test sets itself).</summary>
    public static readonly string[] AdminArguments =
        ["--Auth:Keys:9:Name=test-operator", $"--Auth:Keys:9:Sha256={ApiKeys.Hash(Admin)}", "--Auth:Keys:9:Roles:0=admin"];

    public static HttpClient AdminClient(Uri address) => new()
    {
        BaseAddress = address,
        Timeout = TimeSpan.FromSeconds(60),
        DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Admin) },
    };
}

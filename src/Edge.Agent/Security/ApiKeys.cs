using System.Security.Cryptography;
using System.Text;

namespace Edge.Agent.Security;

/// <summary>A configured API key: only its SHA-256 is stored, with a name for the audit log and its roles.</summary>
internal sealed record ApiKey(string Name, string Sha256, IReadOnlySet<string> Roles);

/// <summary>
/// Who may call what. Keys come from configuration (Auth:Keys:N:Name / Sha256 / Roles), stored as
/// SHA-256 hashes; clients send the key as "Authorization: Bearer &lt;key&gt;". Roles: infer
/// (completions, chat, tokenize, models) and admin (model and update routes). Without a key, only
/// loopback callers get in, only while Auth:AllowAnonymousLoopback is true, and only with the
/// infer role: admin always needs a key.
/// </summary>
internal sealed class ApiKeys
{
    public const string Infer = "infer";
    public const string Admin = "admin";
    private static readonly HashSet<string> KnownRoles = [Infer, Admin];

    private readonly Dictionary<string, ApiKey> _byHash;

    public ApiKeys(IEnumerable<ApiKey> keys, bool allowAnonymousLoopback)
    {
        _byHash = keys.ToDictionary(k => k.Sha256, StringComparer.OrdinalIgnoreCase);
        AllowAnonymousLoopback = allowAnonymousLoopback;
    }

    public bool AllowAnonymousLoopback { get; }

    /// <summary>Whether any key is configured; without one, an unknown bearer token counts as no token (what the OpenAI SDKs send by default).</summary>
    public bool Any => _byHash.Count > 0;

    public static string RoleName(EndpointRole role) => role == EndpointRole.Admin ? Admin : Infer;

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A new random key (256 bits, URL-safe), for first installs and operators.</summary>
    public static string NewKey() => "dse_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public ApiKey? Find(string presentedKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        foreach (var key in _byHash.Values)
        {
            // Constant-time comparison: a timing side channel must not reveal how much of a hash matched.
            if (CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(key.Sha256)))
                return key;
        }
        return null;
    }

    /// <summary>Reads Auth:Keys and Auth:AllowAnonymousLoopback; a malformed entry stops start-up naming it.</summary>
    public static ApiKeys Read(IConfiguration configuration)
    {
        var keys = new List<ApiKey>();
        foreach (var entry in configuration.GetSection("Auth:Keys").GetChildren())
        {
            string path = $"Auth:Keys:{entry.Key}";
            string name = entry["Name"] is { Length: > 0 } n ? n : throw new Configuration.ConfigurationException($"{path}:Name", "is required");
            string hash = entry["Sha256"] ?? "";
            if (hash.Length != 64 || !hash.All(Uri.IsHexDigit))
                throw new Configuration.ConfigurationException($"{path}:Sha256", "must be the 64 hex digits of the key's SHA-256 (deepseek-edge hash-key prints it)");
            var roles = entry.GetSection("Roles").GetChildren().Select(r => r.Value ?? "").ToHashSet(StringComparer.Ordinal);
            if (roles.Count == 0 || roles.Any(r => !KnownRoles.Contains(r)))
                throw new Configuration.ConfigurationException($"{path}:Roles", $"must list roles from: {string.Join(", ", KnownRoles)}");
            keys.Add(new ApiKey(name, hash.ToLowerInvariant(), roles));
        }
        return new ApiKeys(keys, Configuration.ConfigurationValues.ReadBool(configuration, "Auth:AllowAnonymousLoopback", false));
    }
}

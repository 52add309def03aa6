using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Edge.Agent.Security;

namespace Edge.Agent.Tests;

/// <summary>API keys (stored hashed), roles, anonymous loopback off, and the audit log of failures.</summary>
[TestClass]
public sealed class AuthorizationTests
{
    private const string InferKey = "dse_infer-key";
    private const string AdminKey = "dse_admin-key";

    private static Task<LiveDaemon> StartLockedDown() => LiveDaemon.StartAsync(
        "--Auth:AllowAnonymousLoopback=false",
        "--Auth:Keys:0:Name=line3-hmi", $"--Auth:Keys:0:Sha256={ApiKeys.Hash(InferKey)}", "--Auth:Keys:0:Roles:0=infer",
        "--Auth:Keys:1:Name=operator", $"--Auth:Keys:1:Sha256={ApiKeys.Hash(AdminKey)}", "--Auth:Keys:1:Roles:0=admin");

    private static async Task<HttpStatusCode> PostAsync(LiveDaemon daemon, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent("""{"prompt":"Hi","max_tokens":2,"ignore_eos":true}""", Encoding.UTF8, "application/json") };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await daemon.Client.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.IsFalse(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetProperty("message").GetString()));
        }
        return response.StatusCode;
    }

    [TestMethod]
    public async Task KeysAndRolesDecideAndFailuresAreAudited()
    {
        await using var daemon = await StartLockedDown();
        Assert.AreEqual(HttpStatusCode.Unauthorized, await PostAsync(daemon, null), "no anonymous access once it is turned off, even on loopback");
        Assert.AreEqual(HttpStatusCode.Unauthorized, await PostAsync(daemon, "dse_wrong"));
        Assert.AreEqual(HttpStatusCode.Forbidden, await PostAsync(daemon, AdminKey), "admin is not infer");
        Assert.AreEqual(HttpStatusCode.OK, await PostAsync(daemon, InferKey));
        Assert.AreEqual(HttpStatusCode.OK, (await daemon.Client.GetAsync("/healthz")).StatusCode, "probes stay open");

        var audit = new AuditLog(daemon.StateDirectory, 180);
        var entries = audit.Files.SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.HasCount(3, entries);
        CollectionAssert.AreEqual(new[] { "denied", "denied", "forbidden" }, entries.Select(e => e.GetProperty("outcome").GetString()).ToArray());
        StringAssert.StartsWith(entries[2].GetProperty("who").GetString(), "operator@");
        Assert.IsFalse(File.ReadAllText(audit.Files.Single()).Contains(InferKey, StringComparison.Ordinal), "keys never reach the log");
    }

    [TestMethod]
    public async Task AnonymousLoopbackIsTheDevelopmentDefault()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        Assert.AreEqual(HttpStatusCode.OK, await PostAsync(daemon, null));
    }

    [TestMethod]
    public void KeysAreStoredOnlyAsHashesAndCheckedInConstantTime()
    {
        string key = ApiKeys.NewKey();
        Assert.IsGreaterThan(40, key.Length);
        var keys = new ApiKeys([new ApiKey("k", ApiKeys.Hash(key), new HashSet<string> { ApiKeys.Infer })], allowAnonymousLoopback: false);
        Assert.AreEqual("k", keys.Find(key)?.Name);
        Assert.IsNull(keys.Find(key + "x"));
    }

    [TestMethod]
    public void AuditFilesOlderThanTheRetentionArePruned()
    {
        string state = Directory.CreateTempSubdirectory("audit").FullName;
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var audit = new AuditLog(state, retentionDays: 2, clock);
        audit.Write("a", "x", "denied");
        clock.Now = clock.Now.AddDays(1);
        audit.Write("a", "x", "denied");
        clock.Now = clock.Now.AddDays(3);
        audit.Write("a", "x", "denied");
        CollectionAssert.AreEqual(new[] { "audit-2026-01-05.jsonl" }, audit.Files.Select(Path.GetFileName).ToArray());
        Directory.Delete(state, recursive: true);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}

/// <summary>The audit log's byte limits: a flood of failures cannot fill the disk, and what is dropped is counted.</summary>
[TestClass]
public sealed class AuditLogLimitTests
{
    [TestMethod]
    public void LinesOverTheDailyLimitAreDroppedAndCounted()
    {
        string state = Directory.CreateTempSubdirectory("audit-cap").FullName;
        var audit = new AuditLog(state, new AuditLimits(RetentionDays: 30, MaxBytesPerDay: 2_000, MaxTotalBytes: 100_000));
        for (int i = 0; i < 100; i++)
            audit.Write("10.0.0.9", "GET /v1/admin/update", "denied", "invalid API key");
        Assert.IsLessThanOrEqualTo(2_000L, new FileInfo(audit.Files.Single()).Length);
        Assert.IsGreaterThan(50L, audit.Dropped);
        Directory.Delete(state, recursive: true);
    }

    [TestMethod]
    public void OldestDaysGoFirstWhenTheTotalIsReached()
    {
        string state = Directory.CreateTempSubdirectory("audit-total").FullName;
        var clock = new SteppingClock(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var audit = new AuditLog(state, new AuditLimits(RetentionDays: 365, MaxBytesPerDay: 1_000, MaxTotalBytes: 3_000), clock);
        for (int day = 0; day < 10; day++, clock.Now = clock.Now.AddDays(1))
        {
            for (int i = 0; i < 20; i++)
                audit.Write("a", "x", "denied");
        }
        long total = audit.Files.Sum(f => new FileInfo(f).Length);
        Assert.IsLessThanOrEqualTo(3_000L, total);
        StringAssert.EndsWith(audit.Files.Last(), "audit-2026-03-10.jsonl", "the newest day is kept");
        Assert.IsFalse(audit.Files.Any(f => f.EndsWith("audit-2026-03-01.jsonl", StringComparison.Ordinal)), "the oldest day went first");
        Directory.Delete(state, recursive: true);
    }

    private sealed class SteppingClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}

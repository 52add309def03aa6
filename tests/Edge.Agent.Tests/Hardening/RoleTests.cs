using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Edge.Agent.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Edge.Agent.Tests.Hardening;

/// <summary>Authorization comes from the endpoint's declared role, never from the path's spelling; admin always needs a key.</summary>
[TestClass]
public sealed class RoleTests
{
    private const string InferKey = "dse_role-test-infer";

    /// <summary>Spellings of the admin route an attacker would try: each must reach the admin endpoint with its role, or no endpoint.</summary>
    private static readonly string[] AdminSpellings =
    [
        "/v1/admin/update", "/V1/admin/update", "/v1/ADMIN/UPDATE", "/V1/Admin/Update", "/v1//admin/update", "//v1/admin/update",
        "/v1/admin/update/", "/v1/admin//update", "/v1/%61dmin/update", "/v1/%41DMIN/update", "/v1/admin%2Fupdate", "/v1/admin%2fupdate",
        "/v1/x/../admin/update", "/v1/./admin/update", "/v1/admin/./update", "/v1/%2e%2e/v1/admin/update", "/v1/admin/update%20",
        "/v1/admin/update?x=/v1/models", "/v1/admin/update;x", "/%76%31/admin/update",
    ];

    [TestMethod]
    public async Task EveryEndpointDeclaresARole()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        var endpoints = daemon.Services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>().ToList();
        Assert.IsGreaterThan(8, endpoints.Count);
        var undeclared = endpoints.Where(e => e.Metadata.GetMetadata<RoleMetadata>() is null).Select(e => e.RoutePattern.RawText).ToList();
        Assert.IsEmpty(undeclared, $"endpoints without a role: {string.Join(", ", undeclared)}");
        Assert.IsTrue(endpoints.Where(e => e.RoutePattern.RawText!.Contains("admin", StringComparison.OrdinalIgnoreCase))
            .All(e => e.Metadata.GetMetadata<RoleMetadata>()!.Role == EndpointRole.Admin));
    }

    [TestMethod]
    public async Task NoSpellingOfTheAdminPathGetsPastTheAdminRole()
    {
        await using var daemon = await LiveDaemon.StartAsync([.. TestKeys.AdminArguments,
            "--Auth:AllowAnonymousLoopback=true", "--Auth:Keys:0:Name=hmi", $"--Auth:Keys:0:Sha256={ApiKeys.Hash(InferKey)}", "--Auth:Keys:0:Roles:0=infer"]);
        var server = daemon.Client.BaseAddress!;
        const string body = """{"url":"http://127.0.0.1:9/model.edgepkg"}""";
        foreach (string path in AdminSpellings)
        {
            foreach (var (method, payload) in new[] { ("POST", body), ("GET", (string?)null) })
            {
                var anonymous = await RawHttp.SendAsync(server, method, path, payload);
                var infer = await RawHttp.SendAsync(server, method, path, payload, bearer: InferKey);
                // Routed to the admin endpoint: 401 / 403. Routed nowhere: 404 or 405. Never past it.
                Assert.IsTrue(anonymous.Status is 401 or 404 or 405 or 400, $"{method} {path} anonymous: {anonymous.Status} {anonymous.Body}");
                Assert.IsTrue(infer.Status is 403 or 404 or 405 or 400, $"{method} {path} infer key: {infer.Status} {infer.Body}");
                if (anonymous.Status == 400)
                    Assert.IsTrue(infer.Status == 400 && !anonymous.Body.Contains("update", StringComparison.OrdinalIgnoreCase), $"{method} {path}: a 400 came from the update route");
            }
        }
        using var state = JsonDocumentFrom(await daemon.Admin.GetStringAsync("/v1/admin/update"));
        Assert.AreEqual("none", state.RootElement.GetProperty("status").GetString(), "no spelling reached the updater");
    }

    [TestMethod]
    public async Task AnAnonymousLoopbackCallerGetsInferButNeverAdmin()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Auth:AllowAnonymousLoopback=true");
        Assert.AreEqual(HttpStatusCode.OK, (await daemon.Client.GetAsync("/v1/models")).StatusCode);
        Assert.AreEqual(HttpStatusCode.Unauthorized, (await daemon.Client.GetAsync("/v1/admin/update")).StatusCode);
        using var upload = new ByteArrayContent([1, 2, 3]);
        upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var response = await daemon.Client.PostAsync("/v1/admin/update", upload);
        Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        StringAssert.Contains(await response.Content.ReadAsStringAsync(), "admin");
    }

    [TestMethod]
    public async Task AnUnknownBearerTokenIsAnonymousOnlyWhenNoKeysAreConfigured()
    {
        await using (var open = await LiveDaemon.StartAsync("--Auth:AllowAnonymousLoopback=true"))
        {
            // What the OpenAI SDKs send when the user gives them any key at all.
            Assert.AreEqual(HttpStatusCode.OK, (await Complete(open, "sk-no-key-needed")).StatusCode);
            Assert.AreEqual(HttpStatusCode.Unauthorized, (await WithBearer(open, HttpMethod.Get, "/v1/admin/update", "sk-no-key-needed")).StatusCode);
        }
        await using var locked = await LiveDaemon.StartAsync(
            "--Auth:AllowAnonymousLoopback=true", "--Auth:Keys:0:Name=hmi", $"--Auth:Keys:0:Sha256={ApiKeys.Hash(InferKey)}", "--Auth:Keys:0:Roles:0=infer");
        Assert.AreEqual(HttpStatusCode.Unauthorized, (await Complete(locked, "sk-no-key-needed")).StatusCode, "with keys configured an unknown key is refused");
        Assert.AreEqual(HttpStatusCode.OK, (await Complete(locked, InferKey)).StatusCode);
        Assert.AreEqual(HttpStatusCode.OK, (await Complete(locked, null)).StatusCode, "no header on loopback is still anonymous infer");
    }

    private static Task<HttpResponseMessage> Complete(LiveDaemon daemon, string? bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent("""{"prompt":"Hi","max_tokens":1}""", Encoding.UTF8, "application/json") };
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return daemon.Client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> WithBearer(LiveDaemon daemon, HttpMethod method, string path, string bearer)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return daemon.Client.SendAsync(request);
    }

    private static System.Text.Json.JsonDocument JsonDocumentFrom(string json) => System.Text.Json.JsonDocument.Parse(json);
}

using System.Net;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// Length arithmetic at the edges of int, prompt size before tokenizing, broken text, and the
/// errors routing answers by itself: each a clear 4xx in OpenAI's shape, and the daemon serves on.
/// </summary>
[TestClass]
public sealed class RequestBoundsTests
{
    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync("--Limits:MaxPromptBytes=65536", "--Limits:ConcurrentRequestsPerKey=64");

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string route, string json, string contentType = "application/json")
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await s_daemon.Client.PostAsync(route, content);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task AssertStillServesAsync()
    {
        var (status, body) = await PostAsync("/v1/completions", """{"prompt":"Hello","max_tokens":3,"ignore_eos":true}""");
        Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
        Assert.AreEqual(3, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [TestMethod]
    [DataRow(2147483591)]
    [DataRow(int.MaxValue)]
    [DataRow(int.MaxValue - 1)]
    [DataRow(2147482624)]
    public async Task AMaxTokensThatWouldOverflowTheContextIsRefused(int maxTokens)
    {
        foreach (string route in new[] { "/v1/completions", "/v1/chat/completions" })
        {
            string json = route.Contains("chat", StringComparison.Ordinal)
                ? $$"""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":{{maxTokens}},"stream":true}"""
                : $$"""{"prompt":"Hi","max_tokens":{{maxTokens}}}""";
            var (status, body) = await PostAsync(route, json);
            Assert.AreEqual(HttpStatusCode.BadRequest, status, body.ToString());
            Assert.AreEqual("max_tokens", body.GetProperty("error").GetProperty("param").GetString());
        }
        await AssertStillServesAsync();
    }

    [TestMethod]
    public async Task APromptOverTheByteLimitIsRefusedBeforeItIsTokenized()
    {
        string huge = JsonSerializer.Serialize(string.Concat(Enumerable.Repeat("😀", 20_000))); // 80,000 UTF-8 bytes > 65,536
        var (status, body) = await PostAsync("/v1/completions", $$"""{"prompt":{{huge}},"max_tokens":1}""");
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status);
        StringAssert.Contains(body.GetProperty("error").GetProperty("message").GetString(), "MaxPromptBytes");
        (status, _) = await PostAsync("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":{{huge}}}],"max_tokens":1}""");
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status);
        (status, _) = await PostAsync("/v1/tokenize", $$"""{"prompt":{{huge}}}""");
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status);
        await AssertStillServesAsync();
    }

    [TestMethod]
    [DataRow("""{"prompt":"\ud800","max_tokens":1}""")]
    [DataRow("""{"prompt":"ok \udfff ok","max_tokens":1}""")]
    [DataRow("""{"prompt":"a","stop":["\ud83d"],"max_tokens":1}""")]
    [DataRow("""{"prompt":"a","user":"\udc00\ud800","max_tokens":1}""")]
    [DataRow("""{"prompt":"a","\ud800":1}""")]
    public async Task ALoneSurrogateIsA400(string json)
    {
        var (status, body) = await PostAsync("/v1/completions", json);
        Assert.AreEqual(HttpStatusCode.BadRequest, status, body.ToString());
        StringAssert.Contains(body.GetProperty("error").GetProperty("message").GetString(), "surrogate");
        (status, _) = await PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"\ud800"}]}""");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
        (status, _) = await PostAsync("/v1/tokenize", """{"prompt":"\ud800"}""");
        Assert.AreEqual(HttpStatusCode.BadRequest, status);
    }

    [TestMethod]
    [DataRow("text/plain")]
    [DataRow("application/x-www-form-urlencoded")]
    [DataRow("multipart/form-data; boundary=x")]
    [DataRow("application/xml")]
    [DataRow("not a media type")]
    public async Task NonJsonContentTypesAre415(string contentType)
    {
        foreach (string route in new[] { "/v1/completions", "/v1/chat/completions", "/v1/tokenize", "/v1/detokenize" })
        {
            var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"prompt":"Hi"}""")) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await s_daemon.Client.SendAsync(request);
            Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, response.StatusCode, route);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.AreEqual("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var (ok, _) = await PostAsync("/v1/completions", """{"prompt":"Hi","max_tokens":1}""", "application/json; charset=utf-8");
        Assert.AreEqual(HttpStatusCode.OK, ok);
    }

    [TestMethod]
    [DataRow("GET", "/v1/nothing", 404)]
    [DataRow("POST", "/", 405)] // the device page is GET only
    [DataRow("GET", "/ui/missing.js", 404)]
    [DataRow("POST", "/v1/completion", 404)]
    [DataRow("GET", "/v1/completions", 405)]
    [DataRow("DELETE", "/v1/models", 405)]
    [DataRow("PUT", "/healthz", 405)]
    public async Task RoutingErrorsHaveOpenAiBodies(string method, string path, int expected)
    {
        var (status, body) = await RawHttp.SendAsync(s_daemon.Client.BaseAddress!, method, path);
        Assert.AreEqual(expected, status);
        using var json = JsonDocument.Parse(body);
        Assert.IsFalse(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }
}

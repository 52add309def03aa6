using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Edge.Agent.Security;

namespace Edge.Agent.Tests;

/// <summary>Per-key concurrency (429, ASP.NET Core rate limiting) and the server's token limits (400 naming them).</summary>
[TestClass]
public sealed class RequestLimitTests
{
    [TestMethod]
    public async Task ASecondConcurrentRequestOfOneKeyGets429WhileAnotherKeyIsServed()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Limits:ConcurrentRequestsPerKey=1",
            "--Auth:Keys:0:Name=a", $"--Auth:Keys:0:Sha256={ApiKeys.Hash("key-a")}", "--Auth:Keys:0:Roles:0=infer",
            "--Auth:Keys:1:Name=b", $"--Auth:Keys:1:Sha256={ApiKeys.Hash("key-b")}", "--Auth:Keys:1:Roles:0=infer");

        Task<HttpResponseMessage> Send(string key, string prompt)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
            {
                Content = new StringContent($$"""{"prompt":"{{prompt}}","max_tokens":400,"ignore_eos":true}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return daemon.Client.SendAsync(request);
        }

        var first = Send("key-a", "first");
        await Task.Delay(100);
        using var second = await Send("key-a", "second");
        using var other = await Send("key-b", "other");
        Assert.AreEqual(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.AreEqual("1", second.Headers.GetValues("Retry-After").Single());
        using var error = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        Assert.AreEqual("rate_limit_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.AreEqual(HttpStatusCode.OK, other.StatusCode);
        using var firstResponse = await first;
        Assert.AreEqual(HttpStatusCode.OK, firstResponse.StatusCode);
    }

    [TestMethod]
    public async Task TokenLimitsAreRefusedNamingTheLimit()
    {
        await using var daemon = await LiveDaemon.StartAsync("--Limits:MaxTokens=32", "--Limits:MaxPromptTokens=8");
        using var tooMany = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"x","max_tokens":33}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.BadRequest, tooMany.StatusCode);
        StringAssert.Contains(await tooMany.Content.ReadAsStringAsync(), "limit of 32");
        using var tooLong = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"one two three four five six seven eight nine ten","max_tokens":2}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.BadRequest, tooLong.StatusCode);
        StringAssert.Contains(await tooLong.Content.ReadAsStringAsync(), "limit is 8");
        using var fine = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"short","max_tokens":32,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.OK, fine.StatusCode);
    }
}

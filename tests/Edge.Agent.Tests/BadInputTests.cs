using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Edge.Agent.Tests;

/// <summary>Over fifty malformed requests at the live daemon: each a 4xx with a message, none logged as an error, and the daemon still answers correctly.</summary>
[TestClass]
public sealed class BadInputTests
{
    private static IEnumerable<(string Route, byte[] Body)> BadRequests()
    {
        static (string, byte[]) Json(string route, string body) => (route, Encoding.UTF8.GetBytes(body));
        string[] completionBodies =
        [
            "", "nope", "{", "[]", "null", "42", "\"prompt\"", "{\"prompt\":}", "{\"prompt\":\"a\",}", "{prompt:\"a\"}",
            "{\"prompt\":1}", "{\"prompt\":true}", "{\"prompt\":{}}", "{\"prompt\":[1,2]}", "{\"prompt\":\"\"}", "{\"max_tokens\":5}",
            "{\"prompt\":\"a\",\"max_tokens\":-1}", "{\"prompt\":\"a\",\"max_tokens\":1000000000}", "{\"prompt\":\"a\",\"max_tokens\":\"many\"}",
            "{\"prompt\":\"a\",\"max_tokens\":2.5}", "{\"prompt\":\"a\",\"temperature\":-1}", "{\"prompt\":\"a\",\"temperature\":1e300}",
            "{\"prompt\":\"a\",\"top_p\":0}", "{\"prompt\":\"a\",\"top_p\":7}", "{\"prompt\":\"a\",\"top_k\":-5}", "{\"prompt\":\"a\",\"min_p\":2}",
            "{\"prompt\":\"a\",\"presence_penalty\":50}", "{\"prompt\":\"a\",\"frequency_penalty\":\"x\"}", "{\"prompt\":\"a\",\"repetition_penalty\":0}",
            "{\"prompt\":\"a\",\"seed\":\"x\"}", "{\"prompt\":\"a\",\"seed\":1.5}", "{\"prompt\":\"a\",\"stop\":5}", "{\"prompt\":\"a\",\"stop\":[\"\"]}",
            "{\"prompt\":\"a\",\"stop\":[" + string.Join(',', Enumerable.Repeat("\"s\"", 40)) + "]}", "{\"prompt\":\"a\",\"n\":300}",
            "{\"prompt\":\"a\",\"stream\":\"yes\"}", "{\"prompt\":\"a\",\"echo\":\"yes\"}", "{\"prompt\":\"a\",\"best_of\":2}", "{\"prompt\":\"a\",\"model\":[]}",
        ];
        foreach (string body in completionBodies)
            yield return Json("/v1/completions", body);
        string[] chatBodies =
        [
            "{}", "{\"messages\":null}", "{\"messages\":{}}", "{\"messages\":[]}", "{\"messages\":[1]}", "{\"messages\":[{}]}",
            "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "{\"messages\":[{\"role\":5,\"content\":\"x\"}]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":null}]}", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"audio\"}]}]}",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":-3}",
        ];
        foreach (string body in chatBodies)
            yield return Json("/v1/chat/completions", body);
        yield return Json("/v1/tokenize", "{\"prompt\":[\"a\"]}");
        yield return Json("/v1/detokenize", "{\"tokens\":\"1,2\"}");
        // Invalid UTF-8 inside a JSON string.
        yield return ("/v1/completions", [.. Encoding.UTF8.GetBytes("{\"prompt\":\""), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"}")]);
        yield return ("/v1/chat/completions", [.. Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\""), 0xED, 0xA0, 0x80, .. Encoding.UTF8.GetBytes("\"}]}")]);
        // Over the body limit.
        yield return ("/v1/completions", Encoding.UTF8.GetBytes("{\"prompt\":\"" + new string('x', 1_100_000) + "\"}"));
    }

    [TestMethod]
    public async Task FiftyBadRequestsAllGetClearErrorsAndTheDaemonStillAnswers()
    {
        await using var daemon = await LiveDaemon.StartAsync();
        var requests = BadRequests().ToList();
        Assert.IsGreaterThanOrEqualTo(50, requests.Count);
        foreach (var (route, body) in requests)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.ExpectContinue = true; // as curl does for large bodies; see RefusesAnOversizedBodyWith413
            using var response = await daemon.Client.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            string shown = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 80)]);
            Assert.IsTrue((int)response.StatusCode is >= 400 and < 500, $"{route} {shown} -> {(int)response.StatusCode} {text}");
            using var json = JsonDocument.Parse(text);
            Assert.IsFalse(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error").GetProperty("message").GetString()), $"{route} {shown}");
        }

        using var wrongMethod = await daemon.Client.GetAsync("/v1/completions");
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        using var unknown = await daemon.Client.GetAsync("/v1/nothing-here");
        Assert.AreEqual(HttpStatusCode.NotFound, unknown.StatusCode);

        using var good = await daemon.Client.PostAsync("/v1/completions", new StringContent("""{"prompt":"Hello","max_tokens":16,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.OK, good.StatusCode);
        using var answer = JsonDocument.Parse(await good.Content.ReadAsStringAsync());
        Assert.AreEqual(16, answer.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.IsEmpty(daemon.LoggedProblems.Where(p => p.StartsWith("Error", StringComparison.Ordinal) || p.StartsWith("Critical", StringComparison.Ordinal)).ToList(),
            string.Join('\n', daemon.LoggedProblems));
    }
}

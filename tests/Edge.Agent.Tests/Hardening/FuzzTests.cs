using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Edge.Agent.Tests.Mqtt;

namespace Edge.Agent.Tests.Hardening;

/// <summary>
/// 10,000 random requests and parameter mixes, valid and hostile, against both transports of one
/// daemon: none gets a 5xx (or an MQTT server_error), and afterwards the daemon answers exactly as it did before.
/// </summary>
[TestClass]
public sealed class FuzzTests
{
    private const int HttpRequests = 8_000;
    private const int MqttRequests = 2_000;

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task TenThousandRandomRequestsCauseNoServerErrorAndChangeNothing()
    {
        await using var setup = await MqttSetup.StartAsync(daemonConfiguration: ["--Limits:ConcurrentRequestsPerKey=64", "--Limits:MaxPromptBytes=20000", "--Cache:Enabled=false"]);
        var client = setup.Daemon.Client;
        const string probe = """{"prompt":"The pump on line 3","max_tokens":8,"ignore_eos":true}""";
        string before = await Answer(client, probe);

        var random = new Random(20261202);
        var bodies = Enumerable.Range(0, HttpRequests).Select(_ => Routes[random.Next(Routes.Length)]).Select(route => (Route: route, Body: RandomBody(random, route), Type: RandomContentType(random))).ToList();
        var serverErrors = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (request, cancellation) =>
        {
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body));
            content.Headers.TryAddWithoutValidation("Content-Type", request.Type);
            using var response = await client.PostAsync(request.Route, content, cancellation);
            string text = await response.Content.ReadAsStringAsync(cancellation);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if ((int)response.StatusCode >= 500 || text.Contains("server_error", StringComparison.Ordinal))
                serverErrors.Enqueue($"{request.Route} {request.Body} -> {(int)response.StatusCode} {text}");
        });
        Assert.IsEmpty(serverErrors, string.Join("\n", serverErrors.Take(5)));
        Assert.IsTrue(statuses.ContainsKey(200) && statuses.Keys.Any(s => s is >= 400 and < 500),
            $"the mix covers both answers and refusals: {string.Join(", ", statuses.Select(s => $"{s.Key}x{s.Value}"))}");

        // In waves: the broker queues a bounded number of messages for a busy subscriber and drops the rest.
        bool IsAnswer(ReceivedMessage m) => m.Topic == $"{setup.Root}/errors"
            || (m.Topic.StartsWith($"{setup.Root}/response/f", StringComparison.Ordinal) && !m.Topic.EndsWith("/stream", StringComparison.Ordinal));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < MqttRequests; i++)
        {
            string body = RandomBody(random, random.Next(2) == 0 ? "/v1/completions" : "/v1/chat/completions");
            // Most carry a usable id; some none, a number, or one that cannot be a topic level.
            string id = random.Next(10) switch { 0 => "", 1 => "\"id\":7,", 2 => "\"id\":\"a/b\",", _ => $"\"id\":\"f{i}\"," };
            string payload = body.StartsWith('{') ? "{" + id + body[1..] : body;
            await setup.Equipment.PublishAsync($"{setup.Root}/request", payload);
            if ((i + 1) % 100 == 0)
                await setup.Equipment.WaitForCountAsync(IsAnswer, i + 1, TimeSpan.FromMinutes(2));
        }
        Console.WriteLine($"MQTT: {MqttRequests} requests answered in {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"HTTP statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}x{s.Value}"))}");
        var failures = setup.Equipment.Received.Where(m => m.Payload.Contains("server_error", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(failures, string.Join("\n", failures.Take(5).Select(m => m.Payload)));

        Assert.AreEqual(before, await Answer(client, probe), "the daemon answers as it did before the fuzz");
        Assert.AreEqual(System.Net.HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
        Assert.IsEmpty(setup.Daemon.LoggedProblems.Where(p => p.StartsWith("Error", StringComparison.Ordinal)).ToList(), "no input was logged as a server error");
    }

    private static async Task<string> Answer(HttpClient client, string json)
    {
        using var response = await client.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    private static readonly string[] Routes = ["/v1/completions", "/v1/chat/completions", "/v1/tokenize", "/v1/detokenize", "/v1/completions", "/v1/chat/completions"];

    private static string RandomContentType(Random random) => random.Next(20) switch
    {
        0 => "text/plain",
        1 => "application/x-www-form-urlencoded",
        2 => "APPLICATION/JSON",
        3 => "application/json; charset=utf-8",
        _ => "application/json",
    };

    private static readonly string[] Strings =
    [
        "\"Hello\"", "\"\"", "\"温度报警\"", "\"🔥🔥\"", "\"\\ud800\"", "\"a\\u0000b\"", "\"\\n\\n\\t\"", "\"<|end▁of▁sentence|>\"", "\"{{ x }}\"", "\"{% for %}\"",
        "\"" + new string('a', 300) + "\"", "\"" + string.Concat(Enumerable.Repeat("😀", 300)) + "\"", "\"" + new string(' ', 500) + "\"", "\"" + new string('7', 30000) + "\"",
    ];

    private static readonly string[] Numbers =
    [
        "0", "1", "2", "3", "-1", "2147483647", "2147483591", "-2147483648", "9223372036854775807", "1e308", "-0", "0.5", "2.5", "1e-320", "3", "4",
    ];

    private static string Any(Random random) => random.Next(8) switch
    {
        0 => Numbers[random.Next(Numbers.Length)],
        1 => Strings[random.Next(Strings.Length)],
        2 => "null",
        3 => random.Next(2) == 0 ? "true" : "false",
        4 => "[" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ => Strings[random.Next(Strings.Length)])) + "]",
        5 => "{}",
        _ => Numbers[random.Next(4)],
    };

    private static string Message(Random random)
    {
        string role = random.Next(6) switch { 0 => "\"wizard\"", 1 => "\"system\"", 2 => "\"assistant\"", 3 => Any(random), _ => "\"user\"" };
        string content = random.Next(5) == 0 ? Any(random) : Strings[random.Next(Strings.Length)];
        return random.Next(15) == 0 ? Any(random) : $"{{\"role\":{role},\"content\":{content}}}";
    }

    /// <summary>Half the bodies start from a well-formed request for the route and get a few random fields; the rest are random throughout.</summary>
    private static string RandomBody(Random random, string route)
    {
        if (random.Next(40) == 0)
            return random.Next(4) switch { 0 => "", 1 => "{", 2 => "[1,2]", _ => "\"just a string\"" };
        var fields = new List<string>();
        void Maybe(int oneIn, string name, Func<string> value)
        {
            if (random.Next(oneIn) == 0 && !fields.Any(f => f.StartsWith($"\"{name}\":", StringComparison.Ordinal)))
                fields.Add($"\"{name}\":{value()}");
        }
        if (random.Next(2) == 0)
        {
            fields.Add(route switch
            {
                "/v1/chat/completions" => "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]",
                "/v1/detokenize" => "\"tokens\":[5,6,7]",
                _ => "\"prompt\":\"The pump\"",
            });
            fields.Add($"\"max_tokens\":{1 + random.Next(4)}");
            int extra = random.Next(3);
            var saved = fields.ToList();
            var optional = new Action[]
            {
                () => Maybe(1, "temperature", () => "0.7"), () => Maybe(1, "seed", () => random.Next().ToString(CultureInfo.InvariantCulture)),
                () => Maybe(1, "stream", () => "true"), () => Maybe(1, "stop", () => "[\".\"]"), () => Maybe(1, "top_k", () => "5"),
                () => Maybe(1, "temperature", () => Any(random)), () => Maybe(1, "max_tokens", () => Any(random)), () => Maybe(1, "stop", () => Any(random)),
            };
            for (int i = 0; i < extra; i++)
                optional[random.Next(optional.Length)]();
            return "{" + string.Join(',', fields) + "}";
        }
        Maybe(2, "prompt", () => random.Next(4) == 0 ? Any(random) : Strings[random.Next(Strings.Length)]);
        Maybe(2, "messages", () => "[" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ => Message(random))) + "]");
        Maybe(2, "max_tokens", () => random.Next(3) == 0 ? Any(random) : (1 + random.Next(4)).ToString(CultureInfo.InvariantCulture));
        Maybe(4, "temperature", () => random.Next(2) == 0 ? "0.8" : Any(random));
        Maybe(5, "top_p", () => Any(random));
        Maybe(5, "top_k", () => Any(random));
        Maybe(6, "min_p", () => Any(random));
        Maybe(6, "seed", () => Any(random));
        Maybe(5, "stop", () => random.Next(2) == 0 ? "[\"e\",\" \"]" : Any(random));
        Maybe(6, "presence_penalty", () => Any(random));
        Maybe(6, "frequency_penalty", () => Any(random));
        Maybe(6, "repetition_penalty", () => Any(random));
        Maybe(4, "stream", () => random.Next(2) == 0 ? "true" : Any(random));
        Maybe(8, "stream_options", () => random.Next(2) == 0 ? "{\"include_usage\":true}" : Any(random));
        Maybe(10, "n", () => Any(random));
        Maybe(10, "ignore_eos", () => Any(random));
        Maybe(15, "tokens", () => "[" + string.Join(',', Enumerable.Range(0, random.Next(5)).Select(_ => Numbers[random.Next(Numbers.Length)])) + "]");
        Maybe(20, "logprobs", () => Any(random));
        Maybe(20, "tools", () => Any(random));
        Maybe(20, "unknown_field", () => Any(random));
        Maybe(20, "model", () => Any(random));
        Maybe(25, "add_special_tokens", () => Any(random));
        Maybe(30, "\\ud800", () => "1");
        return "{" + string.Join(',', fields.OrderBy(_ => random.Next())) + "}";
    }
}

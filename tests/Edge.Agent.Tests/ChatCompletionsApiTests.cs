using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Inference;
using Edge.TestSupport;
using OpenAI;
using OpenAI.Chat;

namespace Edge.Agent.Tests;

/// <summary>POST /v1/chat/completions over loopback, with raw HTTP and with the official OpenAI .NET library.</summary>
[TestClass]
public sealed class ChatCompletionsApiTests
{
    private static LiveDaemon s_daemon = null!;
    private static InferenceEngine s_engine = null!;

    private const string Key = "dse_test-key-for-the-openai-library";

    [ClassInitialize]
    public static async Task StartAsync(TestContext _)
    {
        // The library always sends a key; give it a real one with the infer role.
        s_daemon = await LiveDaemon.StartAsync("--Auth:Keys:0:Name=openai-library", $"--Auth:Keys:0:Sha256={Edge.Agent.Security.ApiKeys.Hash(Key)}", "--Auth:Keys:0:Roles:0=infer");
        s_engine = InferenceEngine.Load(RepositoryPaths.DefaultModel);
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        s_engine.Dispose();
        await s_daemon.DisposeAsync();
    }

    private static ChatClient Client() =>
        new("deepseek-edge", new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = new Uri(s_daemon.Client.BaseAddress!, "/v1") });

    [TestMethod]
    public async Task TheOpenAiLibraryGetsTheTemplatedGreedyAnswer()
    {
        const string messages = """[{"role":"system","content":"You watch line 3."},{"role":"user","content":"Any alarms?"}]""";
        using var json = JsonDocument.Parse(messages);
        var expected = s_engine.Generate(s_engine.EncodeChat(json.RootElement), new GenerationSettings { MaxTokens = 10 });

        ChatCompletion completion = await Client().CompleteChatAsync(
            [new SystemChatMessage("You watch line 3."), new UserChatMessage("Any alarms?")],
            new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0 });
        Assert.AreEqual(expected.Text, completion.Content[0].Text);
        Assert.AreEqual(ChatMessageRole.Assistant, completion.Role);
        Assert.AreEqual(expected.PromptIds.Count, completion.Usage.InputTokenCount);
        Assert.AreEqual(expected.CompletionIds.Count, completion.Usage.OutputTokenCount);
        Assert.AreEqual(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
    }

    /// <summary>
    /// response_format json_object through the OpenAI library, whole and streamed, sampled hot:
    /// every answer is a JSON object, closed before max_tokens, and "text" (which some clients always send) is accepted.
    /// </summary>
    [TestMethod]
    public async Task TheOpenAiLibraryGetsJsonObjectsForResponseFormatJsonObject()
    {
        ChatMessage[] conversation = [new UserChatMessage("Which valve should close? Answer as JSON.")];
        for (int seed = 0; seed < 4; seed++)
        {
            var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(), MaxOutputTokenCount = 60, Temperature = 1.3f, Seed = seed };
            ChatCompletion whole = await Client().CompleteChatAsync(conversation, options);
            var streamed = new StringBuilder();
            await foreach (var update in Client().CompleteChatStreamingAsync(conversation, options))
            {
                foreach (var part in update.ContentUpdate)
                    streamed.Append(part.Text);
            }
            Assert.AreEqual(whole.Content[0].Text, streamed.ToString());
            Assert.AreEqual(ChatFinishReason.Stop, whole.FinishReason);
            using var json = JsonDocument.Parse(whole.Content[0].Text);
            Assert.AreEqual(JsonValueKind.Object, json.RootElement.ValueKind);
        }
        var text = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateTextFormat(), MaxOutputTokenCount = 3 };
        ChatCompletion plain = await Client().CompleteChatAsync(conversation, text);
        Assert.IsNotNull(plain.Content);
    }

    /// <summary>
    /// response_format json_schema (strict) through the OpenAI library, whole and streamed, sampled
    /// hot: every answer validates against the schema by Ajv, and streamed equals whole.
    /// </summary>
    [TestMethod]
    public async Task TheOpenAiLibraryGetsDocumentsValidAgainstItsJsonSchema()
    {
        const string schema = """
            {"type":"object","properties":{"valve":{"type":"string","pattern":"^V-[0-9]{1,3}$"},
             "action":{"type":"string","enum":["open","close","hold"]},"minutes":{"type":"integer","minimum":0,"maximum":120}},
             "required":["valve","action","minutes"],"additionalProperties":false}
            """;
        ChatMessage[] conversation = [new UserChatMessage("Which valve should close, and for how long?")];
        var answers = new List<string>();
        for (int seed = 0; seed < 4; seed++)
        {
            var options = new ChatCompletionOptions
            {
                ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("valve_order", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
                MaxOutputTokenCount = 80,
                Temperature = 1.3f,
                Seed = seed,
            };
            ChatCompletion whole = await Client().CompleteChatAsync(conversation, options);
            var streamed = new StringBuilder();
            await foreach (var update in Client().CompleteChatStreamingAsync(conversation, options))
            {
                foreach (var part in update.ContentUpdate)
                    streamed.Append(part.Text);
            }
            Assert.AreEqual(whole.Content[0].Text, streamed.ToString());
            Assert.AreEqual(ChatFinishReason.Stop, whole.FinishReason);
            answers.Add(whole.Content[0].Text);
        }
        foreach (var (valid, errors, document) in SchemaValidator.Validate(schema, answers))
            Assert.IsTrue(valid, $"{document}: {errors}");
    }

    /// <summary>logprobs and top_logprobs through the OpenAI library, whole and streamed: one entry per output token, spelling the answer.</summary>
    [TestMethod]
    public async Task TheOpenAiLibraryGetsLogprobsWholeAndStreamed()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 1.2f, Seed = 3, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatMessage[] conversation = [new UserChatMessage("Report the oven temperature.")];
        ChatCompletion whole = await Client().CompleteChatAsync(conversation, options);
        var tokens = whole.ContentTokenLogProbabilities;
        Assert.AreEqual(whole.Usage.OutputTokenCount, tokens.Count);
        Assert.AreEqual(whole.Content[0].Text, string.Concat(tokens.Select(t => Encoding.UTF8.GetString(t.Utf8Bytes!.Value.Span))));
        Assert.IsTrue(tokens.All(t => t.LogProbability <= 0 && t.TopLogProbabilities.Count == 3));
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in Client().CompleteChatStreamingAsync(conversation, options))
            streamed.AddRange(update.ContentTokenLogProbabilities);
        CollectionAssert.AreEqual(tokens.Select(t => t.Token).ToList(), streamed.Select(t => t.Token).ToList());
        for (int i = 0; i < tokens.Count; i++)
            Assert.AreEqual(tokens[i].LogProbability, streamed[i].LogProbability, 1e-5);
    }

    /// <summary>logprobs: true alone (the OpenAI library's IncludeLogProbabilities without a count): each token's logprob, no top lists.</summary>
    [TestMethod]
    public async Task LogprobsWithoutTopLogprobsGiveEachTokensOwn()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 6, IncludeLogProbabilities = true };
        ChatCompletion whole = await Client().CompleteChatAsync([new UserChatMessage("Report the oven temperature.")], options);
        var tokens = whole.ContentTokenLogProbabilities;
        Assert.AreEqual(whole.Usage.OutputTokenCount, tokens.Count);
        Assert.IsTrue(tokens.All(t => t.LogProbability <= 0 && t.TopLogProbabilities.Count == 0));
    }

    /// <summary>n = 3: three choices decoded together, the first the seeded single answer, streamed events per index adding up to the whole.</summary>
    [TestMethod]
    public async Task NChoicesComeTogetherWholeAndStreamed()
    {
        const string body = """{"messages":[{"role":"user","content":"Report the oven temperature."}],"max_tokens":8,"temperature":1.3,"seed":21""";
        using var single = await PostAsync(body + "}");
        using var singleJson = JsonDocument.Parse(await single.Content.ReadAsStringAsync());
        using var whole = await PostAsync(body + ""","n":3}""");
        Assert.AreEqual(HttpStatusCode.OK, whole.StatusCode);
        using var json = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        var choices = json.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.AreEqual(3, choices.Count);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, choices.Select(c => c.GetProperty("index").GetInt32()).ToArray());
        var texts = choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()).ToList();
        Assert.AreEqual(singleJson.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), texts[0]);
        Assert.IsTrue(json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() >= 3, "usage counts every choice's tokens");

        using var stream = await PostAsync(body + ""","n":3,"stream":true,"stream_options":{"include_usage":true}}""");
        var streamed = new StringBuilder[] { new(), new(), new() };
        int usageEvents = 0;
        foreach (var line in (await stream.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            using var chunk = JsonDocument.Parse(line[6..]);
            foreach (var choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content))
                    streamed[choice.GetProperty("index").GetInt32()].Append(content.GetString());
            }
            if (chunk.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                usageEvents++;
                Assert.AreEqual(json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
            }
        }
        Assert.AreEqual(1, usageEvents);
        CollectionAssert.AreEqual(texts, streamed.Select(b => b.ToString()).ToList());
    }

    /// <summary>OpenAI's platform parameters are accepted and change nothing; logit_bias is honoured.</summary>
    [TestMethod]
    public async Task PlatformParametersAreIgnoredAndLogitBiasIsHonoured()
    {
        const string plain = """{"messages":[{"role":"user","content":"Report the oven temperature."}],"max_tokens":6,"temperature":0""";
        using var baseline = await PostAsync(plain + "}");
        using var baselineJson = JsonDocument.Parse(await baseline.Content.ReadAsStringAsync());
        string expected = baselineJson.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        using var ignored = await PostAsync(plain + ""","store":true,"metadata":{"line":"3"},"service_tier":"auto","prompt_cache_key":"k","safety_identifier":"s","user":"plc-7","modalities":["text"],"reasoning_effort":"low","verbosity":"low","prediction":{"type":"content","content":"x"}}""");
        Assert.AreEqual(HttpStatusCode.OK, ignored.StatusCode, await ignored.Content.ReadAsStringAsync());
        using var ignoredJson = JsonDocument.Parse(await ignored.Content.ReadAsStringAsync());
        Assert.AreEqual(expected, ignoredJson.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        // Banning the greedy answer's first token changes the answer; forcing one token makes the answer that token repeated.
        using var tokenized = await s_daemon.Client.PostAsync("/v1/tokenize", new StringContent($$"""{"prompt":{{JsonSerializer.Serialize(expected)}},"add_special_tokens":false}""", Encoding.UTF8, "application/json"));
        using var ids = JsonDocument.Parse(await tokenized.Content.ReadAsStringAsync());
        int first = ids.RootElement.GetProperty("tokens")[0].GetInt32();
        using var banned = await PostAsync(plain + ",\"logit_bias\":{\"" + first + "\":-100}}");
        using var bannedJson = JsonDocument.Parse(await banned.Content.ReadAsStringAsync());
        Assert.AreNotEqual(expected, bannedJson.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [TestMethod]
    public async Task TheOpenAiLibraryStreams()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0.8f, Seed = 7 };
        ChatMessage[] conversation = [new UserChatMessage("Report the oven temperature.")];
        ChatCompletion whole = await Client().CompleteChatAsync(conversation, options);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Client().CompleteChatStreamingAsync(conversation, options))
        {
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.AreEqual(whole.Content[0].Text, text.ToString());
        Assert.AreEqual(whole.FinishReason, finish);
    }

    [TestMethod]
    public async Task TheOpenAiLibrarySeesErrorsAsClientResultExceptions()
    {
        var error = await Assert.ThrowsExactlyAsync<ClientResultException>(() =>
            Client().CompleteChatAsync([new UserChatMessage("x")], new ChatCompletionOptions { TopP = 5 }));
        Assert.AreEqual(400, error.Status);
        StringAssert.Contains(error.Message, "top_p");
    }

    [TestMethod]
    public async Task ToolCallHistoryRendersThroughTheTemplate()
    {
        const string body = """
            {"messages":[
              {"role":"user","content":"Read sensor 7."},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_sensor","arguments":"{\"id\": 7}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"{\"value\": 41}"},
              {"role":"user","content":[{"type":"text","text":"And "},{"type":"text","text":"now?"}]}
            ],"max_tokens":3,"ignore_eos":true}
            """;
        using var response = await PostAsync(body);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        using var reply = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        using var request = JsonDocument.Parse(body);
        var normalised = JsonDocument.Parse("""
            [{"role":"user","content":"Read sensor 7."},
             {"role":"assistant","tool_calls":[{"type":"function","function":{"name":"read_sensor","arguments":"{\"id\": 7}"},"id":"call_1"}],"content":null},
             {"role":"tool","content":"{\"value\": 41}","tool_call_id":"call_1"},
             {"role":"user","content":"And now?"}]
            """);
        int promptTokens = s_engine.EncodeChat(normalised.RootElement).Length;
        Assert.AreEqual(promptTokens, reply.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [TestMethod]
    [DataRow("""{"max_tokens":3}""", "'messages' is required")]
    [DataRow("""{"messages":"hi"}""", "must be an array")]
    [DataRow("""{"messages":[]}""", "empty")]
    [DataRow("""{"messages":["hi"]}""", "must be an object")]
    [DataRow("""{"messages":[{"content":"x"}]}""", "role' is required")]
    [DataRow("""{"messages":[{"role":"robot","content":"x"}]}""", "'robot'")]
    [DataRow("""{"messages":[{"role":"user"}]}""", "content' is required")]
    [DataRow("""{"messages":[{"role":"user","content":5}]}""", "string or an array of text parts")]
    [DataRow("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "only text parts")]
    [DataRow("""{"messages":[{"role":"user","content":"x","mood":"happy"}]}""", "mood' is not supported")]
    [DataRow("""{"messages":[{"role":"user","content":"x","tool_calls":[]}]}""", "only allowed on assistant")]
    [DataRow("""{"messages":[{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"f"}}]}]}""", "arguments' is required")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}""", "function' is required")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}""", "max_tokens must be at least 1")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"temperature":-2}""", "temperature")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"frobnicate":1}""", "'frobnicate' is not supported")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":{"type":"string","format":"email"}}}}""", "format 'email'")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"v","schema":{"type":"object","properties":{"a":{"oneOf":[{},{}]}}}}}}""", "'oneOf' (at #/properties/a)")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"v"}}}""", "'response_format.json_schema.schema' must be")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{},"strict":"yes"}}}""", "strict' must be a boolean")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{},"examples":[]}}}""", "json_schema.examples' is not supported")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}},"guided_choice":["a"]}""", "Only one output constraint")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"guided_regex":"(a)\\1"}""", "backreference")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"guided_json":[1]}""", "'guided_json' must be")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "needs 'logprobs': true")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"n":17}""", "'n' must be from 1 to 16")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}}""", "must be token ids")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"logit_bias":{"5":200}}""", "from -100 to 100")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"logit_bias":{"99999999":1}}""", "outside the vocabulary")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"audio":{"voice":"alloy"}}""", "text models only")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"modalities":["text","audio"]}""", "'modalities' may only be")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"web_search_options":{}}""", "no web search")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"functions":[]}""", "deprecated")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"metadata":"tag"}""", "'metadata' must be an object")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"n":0}""", "'n' must be from 1 to 16")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs must be from 0 to 20")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"logprobs":"yes"}""", "'logprobs' must be a boolean")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"JSON_OBJECT"}}""", "'JSON_OBJECT' is not supported")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":"json_object"}""", "must be an object")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{}}""", "'response_format.type' is required")]
    [DataRow("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object","schema":{}}}""", "'response_format.schema' is not supported")]
    public async Task RefusesBadChatRequestsNamingTheProblem(string body, string messagePart)
    {
        using var response = await PostAsync(body);
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        StringAssert.Contains(json.RootElement.GetProperty("error").GetProperty("message").GetString(), messagePart);
        using var ok = await PostAsync("""{"messages":[{"role":"user","content":"still there?"}],"max_tokens":2,"ignore_eos":true}""");
        Assert.AreEqual(HttpStatusCode.OK, ok.StatusCode);
    }

    private static Task<HttpResponseMessage> PostAsync(string body) =>
        s_daemon.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
}

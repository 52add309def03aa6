using System.Net;
using System.Text;
using System.Text.Json;
using Edge.TestSupport;
using OpenAI.Chat;

namespace Edge.Agent.Tests.Tools;

/// <summary>
/// tools, tool_choice and parallel_tool_calls through the OpenAI .NET library against the default
/// model (DeepSeek's template, which does not render tools: the instructions go in the system
/// message): a named function or required always yields calls whose arguments validate (Ajv),
/// whole and streamed; a follow-up turn with the tool's result is answered.
/// </summary>
[TestClass]
public sealed class ToolCallApiTests
{
    private const string ValveParameters = """{"type":"object","properties":{"valve":{"type":"string","pattern":"^V-[0-9]{1,2}$"},"state":{"enum":["open","closed"]}},"required":["valve","state"],"additionalProperties":false}""";
    private const string SensorParameters = """{"type":"object","properties":{"sensor":{"type":"integer","minimum":1,"maximum":40}},"required":["sensor"],"additionalProperties":false}""";

    private static LiveDaemon s_daemon = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext _) => s_daemon = await LiveDaemon.StartAsync();

    [ClassCleanup]
    public static async Task StopAsync() => await s_daemon.DisposeAsync();

    private static ChatClient Client() => new("deepseek-edge", new System.ClientModel.ApiKeyCredential("unused"),
        new OpenAI.OpenAIClientOptions { Endpoint = new Uri(s_daemon.Client.BaseAddress!, "/v1") });

    private static ChatCompletionOptions Options(ChatToolChoice choice, bool parallel, int seed) => new()
    {
        Tools = { ChatTool.CreateFunctionTool("set_valve", "Opens or closes a valve", BinaryData.FromString(ValveParameters)),
                  ChatTool.CreateFunctionTool("read_sensor", "Reads a pressure sensor", BinaryData.FromString(SensorParameters)) },
        ToolChoice = choice,
        AllowParallelToolCalls = parallel,
        MaxOutputTokenCount = 120,
        Temperature = 1.2f,
        Seed = seed,
    };

    [TestMethod]
    public async Task ANamedFunctionIsCalledWithArgumentsValidAgainstItsSchemaWholeAndStreamed()
    {
        ChatMessage[] conversation = [new UserChatMessage("Close valve 12.")];
        var arguments = new List<string>();
        for (int seed = 0; seed < 3; seed++)
        {
            var options = Options(ChatToolChoice.CreateFunctionChoice("set_valve"), parallel: true, seed);
            ChatCompletion whole = await Client().CompleteChatAsync(conversation, options);
            Assert.AreEqual(ChatFinishReason.ToolCalls, whole.FinishReason);
            var call = whole.ToolCalls.Single();
            Assert.AreEqual("set_valve", call.FunctionName);
            arguments.Add(call.FunctionArguments.ToString());

            var streamedArguments = new StringBuilder();
            string? streamedName = null;
            ChatFinishReason? finish = null;
            await foreach (var update in Client().CompleteChatStreamingAsync(conversation, options))
            {
                foreach (var part in update.ToolCallUpdates)
                {
                    streamedName ??= part.FunctionName;
                    streamedArguments.Append(part.FunctionArgumentsUpdate?.ToString());
                }
                finish ??= update.FinishReason;
            }
            Assert.AreEqual("set_valve", streamedName);
            Assert.AreEqual(call.FunctionArguments.ToString(), streamedArguments.ToString());
            Assert.AreEqual(ChatFinishReason.ToolCalls, finish);
        }
        foreach (var (valid, errors, document) in SchemaValidator.Validate(ValveParameters, arguments))
            Assert.IsTrue(valid, $"{document}: {errors}");
    }

    [TestMethod]
    public async Task RequiredCallsOneOfTheToolsAndParallelFalseMakesItOne()
    {
        ChatMessage[] conversation = [new UserChatMessage("Check sensor 4 and close valve 2.")];
        for (int seed = 0; seed < 4; seed++)
        {
            ChatCompletion whole = await Client().CompleteChatAsync(conversation, Options(ChatToolChoice.CreateRequiredChoice(), parallel: seed % 2 == 0, seed));
            Assert.AreEqual(ChatFinishReason.ToolCalls, whole.FinishReason);
            Assert.IsTrue(whole.ToolCalls.Count >= 1);
            if (seed % 2 == 1)
                Assert.AreEqual(1, whole.ToolCalls.Count);
            foreach (var call in whole.ToolCalls)
            {
                string schema = call.FunctionName switch { "set_valve" => ValveParameters, "read_sensor" => SensorParameters, var other => throw new AssertFailedException($"unknown function {other}") };
                var verdict = SchemaValidator.Validate(schema, [call.FunctionArguments.ToString()])[0];
                Assert.IsTrue(verdict.Valid, $"{verdict.Document}: {verdict.Errors}");
            }
        }
    }

    /// <summary>The result of a call goes back as a tool message, and the next turn is answered (auto: text or calls, both well-formed).</summary>
    [TestMethod]
    public async Task AFollowUpTurnWithTheToolResultIsAnswered()
    {
        var options = Options(ChatToolChoice.CreateFunctionChoice("read_sensor"), parallel: true, 5);
        ChatCompletion first = await Client().CompleteChatAsync([new UserChatMessage("Pressure at sensor 4?")], options);
        var call = first.ToolCalls.Single();
        List<ChatMessage> conversation = [new UserChatMessage("Pressure at sensor 4?"), new AssistantChatMessage(first.ToolCalls), new ToolChatMessage(call.Id, """{"bar": 6.2}""")];
        ChatCompletion second = await Client().CompleteChatAsync(conversation, Options(ChatToolChoice.CreateAutoChoice(), parallel: true, 6));
        Assert.IsTrue(second.FinishReason is ChatFinishReason.Stop or ChatFinishReason.Length or ChatFinishReason.ToolCalls);
        foreach (var again in second.ToolCalls)
            using (JsonDocument.Parse(again.FunctionArguments.ToString())) { }
    }

    [TestMethod]
    [DataRow("""{"tools":[{"type":"code_interpreter"}]}""", "must be \"function\"")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"bad name"}}]}""", "1 to 64 letters")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string","format":"email"}}}}}],"tool_choice":"required"}""", "format 'email'")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", "twice")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "'g'")]
    [DataRow("""{"tool_choice":"required"}""", "has no 'tools'")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}""", "'sometimes'")]
    [DataRow("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","response_format":{"type":"json_object"}}""", "cannot be combined")]
    [DataRow("""{"tools":{"f":1}}""", "must be an array")]
    [DataRow("""{"parallel_tool_calls":"no"}""", "must be a boolean")]
    public async Task RefusesBadToolRequestsNamingTheProblem(string fields, string messagePart)
    {
        string body = """{"messages":[{"role":"user","content":"x"}],""" + fields[1..];
        using var response = await s_daemon.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        StringAssert.Contains(json.RootElement.GetProperty("error").GetProperty("message").GetString(), messagePart);
    }
}

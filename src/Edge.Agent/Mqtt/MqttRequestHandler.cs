using System.Text.Json;
using Edge.Agent.Core;
using Edge.Agent.OpenAi;

namespace Edge.Agent.Mqtt;

/// <summary>
/// Answers one MQTT request through the core: <c>"messages"</c> makes it a chat completion,
/// <c>"prompt"</c> a completion, read by the same OpenAI readers as HTTP. The answer is the HTTP
/// route's response body with the request id as its id; streamed requests also get their
/// deltas, numbered, on the stream topic.
/// </summary>
internal sealed class MqttRequestHandler(CompletionService service, MqttTopics topics)
{
    /// <summary>Where the answer to a request goes: its MQTT 5 response topic, else the device's response topic for its id.</summary>
    public string AnswerTopic(MqttInboxItem item) => item.ResponseTopic ?? topics.Response(item.RequestId);

    /// <summary>
    /// Generates the answer. Throws <see cref="RefusalException"/> for a request the core refuses,
    /// <see cref="Edge.Runtime.Inference.GenerationFaultException"/> for an engine fault, and
    /// <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<MqttOutgoing> AnswerAsync(MqttInboxItem item, Func<MqttOutgoing, Task> publishDelta, CancellationToken cancellation)
    {
        CompletionRequest request;
        using (var document = JsonDocument.Parse(item.Payload))
        {
            // MQTT's frame, as Http/JsonRoute is HTTP's: no string in the payload may be broken text.
            JsonFields.RequireWellFormedStrings(document.RootElement);
            request = OpenAiRequests.Read(document.RootElement.Clone(), kind: null, envelopeField: "id");
        }
        if (request.ChoiceCount > 1)
            throw RefusalException.Invalid("'n' above 1 is served over HTTP; an MQTT request gets one choice (send several requests).", "n");
        string topic = AnswerTopic(item);
        using var run = service.Start(request, cancellation);
        long sequence = 0;
        var result = await run.CollectAsync(request.Stream
            ? text => publishDelta(new MqttOutgoing(MqttTopics.Stream(topic),
                JsonSerializer.SerializeToUtf8Bytes(new MqttStreamDelta(item.RequestId, sequence++, text), MqttJsonContext.Readable.MqttStreamDelta), item.CorrelationData))
            : null, request.Kind == CompletionKind.Chat ? run.Splitter() : null, cancellation);
        return new MqttOutgoing(topic, OpenAiAnswers.For(request.Kind, run.Model, item.RequestId, tokenizer: run.Tokenizer, echo: request.Echo ? request.Prompt : null).Whole(result), item.CorrelationData);
    }

    /// <summary>An error answer for a request that had a usable id.</summary>
    public MqttOutgoing Error(MqttInboxItem item, string message, string? param, bool serverFault = false, string? code = null) =>
        ErrorTo(AnswerTopic(item), item.RequestId, item.CorrelationData, message, param, serverFault, code);

    /// <summary>An error answer for a request without a usable id or response topic: its response topic if it named a usable one, else the device's error topic.</summary>
    public MqttOutgoing UnaddressedError(string? responseTopic, byte[]? correlationData, string message) =>
        ErrorTo(responseTopic ?? topics.Errors, null, correlationData, message, null, serverFault: false);

    private static MqttOutgoing ErrorTo(string topic, string? id, byte[]? correlationData, string message, string? param, bool serverFault, string? code = null)
    {
        var body = new MqttErrorAnswer(id, OpenAiAnswers.Error(message, param, code, serverFault: serverFault).Error);
        return new MqttOutgoing(topic, JsonSerializer.SerializeToUtf8Bytes(body, MqttJsonContext.Readable.MqttErrorAnswer), correlationData);
    }
}

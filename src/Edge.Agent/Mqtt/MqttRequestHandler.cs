using System.Text;
using System.Text.Json;
using Edge.Agent.Generation;
using Edge.Agent.Http;
using Edge.Runtime.Inference;

namespace Edge.Agent.Mqtt;

/// <summary>
/// Answers one MQTT request: <c>"messages"</c> makes it a chat completion, <c>"prompt"</c> a
/// completion, with the same parameters (and the same checks) as the HTTP routes. The answer is
/// the HTTP route's response body with the request id as its id; streamed requests also get
/// their deltas, numbered, on the stream topic.
/// </summary>
internal sealed class MqttRequestHandler(Serving.ModelSlot slot, MqttTopics topics)
{
    /// <summary>Where the answer to a request goes: its MQTT 5 response topic, else the device's response topic for its id.</summary>
    public string AnswerTopic(MqttInboxItem item) => item.ResponseTopic ?? topics.Response(item.RequestId);

    /// <summary>
    /// Generates the answer. Throws <see cref="BadRequestException"/> or <see cref="GenerationRequestException"/>
    /// for a request the API refuses, <see cref="Edge.Runtime.Scheduling.SchedulerOverloadedException"/> when
    /// the queue is full, and <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<MqttOutgoing> AnswerAsync(MqttInboxItem item, Func<MqttOutgoing, Task> publishDelta, CancellationToken cancellation)
    {
        using var lease = slot.Acquire(); // the whole answer comes from one model, even across an update
        var engine = lease.Model.Engine;
        var generator = lease.Model.Generator;
        using var document = JsonDocument.Parse(item.Payload);
        var root = document.RootElement;
        string topic = AnswerTopic(item);
        bool chat = root.TryGetProperty("messages", out _);
        GenerationParameters parameters;
        StartedGeneration started;
        if (chat)
        {
            var request = ChatCompletionRequest.Read(root, envelopeField: "id");
            parameters = request.Parameters;
            started = generator.Start("chat", engine.EncodeChat(request.Messages), parameters.Settings, cancellation);
        }
        else
        {
            var request = CompletionRequest.Read(root, envelopeField: "id");
            parameters = request.Parameters;
            started = generator.Start("completions", engine.Tokenizer.Encode(request.Prompt), parameters.Settings, cancellation);
        }

        var text = new StringBuilder();
        GenerationChunk last = null!;
        long sequence = 0;
        await foreach (var chunk in started.Chunks.WithCancellation(cancellation))
        {
            text.Append(chunk.Text);
            last = chunk;
            if (parameters.Stream && chunk.Text.Length > 0)
            {
                byte[] delta = JsonSerializer.SerializeToUtf8Bytes(new MqttStreamDelta(item.RequestId, sequence++, chunk.Text), MqttJsonContext.Readable.MqttStreamDelta);
                await publishDelta(new MqttOutgoing(MqttTopics.Stream(topic), delta, item.CorrelationData));
            }
        }
        if (last.FinishReason is null or FinishReason.Cancelled)
            throw new OperationCanceledException("The generation was cancelled.");

        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string finish = GenerationReply.FinishReasonName(last.FinishReason.Value);
        var usage = GenerationReply.ToUsage(last.Usage!);
        byte[] payload = chat
            ? JsonSerializer.SerializeToUtf8Bytes(new ChatCompletionResponse(item.RequestId, "chat.completion", created, engine.Package.Manifest.Name,
                [new ChatChoice(0, new ChatMessage("assistant", text.ToString()), null, finish)], usage), AgentJsonContext.Readable.ChatCompletionResponse)
            : JsonSerializer.SerializeToUtf8Bytes(new CompletionResponse(item.RequestId, "text_completion", created, engine.Package.Manifest.Name,
                [new CompletionChoice(0, text.ToString(), null, finish)], usage), AgentJsonContext.Readable.CompletionResponse);
        return new MqttOutgoing(topic, payload, item.CorrelationData);
    }

    /// <summary>An error answer for a request that had a usable id.</summary>
    public MqttOutgoing Error(MqttInboxItem item, string message, string? param, string type = "invalid_request_error") =>
        ErrorTo(AnswerTopic(item), item.RequestId, item.CorrelationData, message, param, type);

    /// <summary>An error answer for a request without a usable id: its response topic if it named one, else the device's error topic.</summary>
    public MqttOutgoing UnaddressedError(string? responseTopic, byte[]? correlationData, string message) =>
        ErrorTo(responseTopic ?? topics.Errors, null, correlationData, message, null, "invalid_request_error");

    private static MqttOutgoing ErrorTo(string topic, string? id, byte[]? correlationData, string message, string? param, string type)
    {
        var body = new MqttErrorAnswer(id, new ErrorBody(message, type, param, null));
        return new MqttOutgoing(topic, JsonSerializer.SerializeToUtf8Bytes(body, MqttJsonContext.Readable.MqttErrorAnswer), correlationData);
    }
}

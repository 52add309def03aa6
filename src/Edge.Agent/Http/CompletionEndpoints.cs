using Edge.Agent.Core;
using Edge.Agent.OpenAi;
using Edge.Agent.Security;
using Edge.Runtime.Inference;

namespace Edge.Agent.Http;

/// <summary>
/// POST /v1/completions and POST /v1/chat/completions: OpenAI's request read into the core's
/// request, the core runs it, and the answer goes back whole or as server-sent events. A fault
/// after the stream has started ends it with an error event.
/// </summary>
internal static class CompletionEndpoints
{
    /// <summary>Says whether the response cache answered: "hit", "miss" or "bypass".</summary>
    public const string CacheHeader = "X-DeepSeekEdge-Cache";

    public static void Map(WebApplication app)
    {
        app.MapPost("/v1/completions", (HttpContext context, CompletionService service) => HandleAsync(context, service, CompletionKind.Text))
            .WithMetadata(new RoleMetadata(EndpointRole.Infer));
        app.MapPost("/v1/chat/completions", (HttpContext context, CompletionService service) => HandleAsync(context, service, CompletionKind.Chat))
            .WithMetadata(new RoleMetadata(EndpointRole.Infer));
    }

    private static Task HandleAsync(HttpContext context, CompletionService service, CompletionKind kind) => JsonRoute.HandleAsync(context, async body =>
    {
        var request = OpenAiRequests.Read(body, kind);
        using var run = service.Start(request, context.RequestAborted);
        context.Response.Headers[CacheHeader] = run.CacheStatus;
        var answers = OpenAiAnswers.For(kind, run.Model, splitter: run.Splitter(), includeReasoning: run.IncludeReasoning, tokenizer: run.Tokenizer,
            echo: request.Echo ? request.Prompt : null, tools: run.ToolReader());
        if (!request.Stream)
        {
            var result = await run.CollectAsync(splitter: kind == CompletionKind.Chat ? run.Splitter() : null, cancellation: context.RequestAborted);
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.Body.WriteAsync(answers.Whole(result), context.RequestAborted);
            return;
        }
        var events = new ServerSentEvents(context.Response);
        events.Begin();
        if (answers.Opening() is { } opening)
            await events.SendAsync(opening);
        try
        {
            await foreach (var chunk in run.Updates)
            {
                if (chunk.FinishReason == FinishReason.Cancelled)
                    return;
                foreach (string json in answers.Events(chunk, request.IncludeUsage))
                    await events.SendAsync(json);
            }
        }
        catch (GenerationFaultException e)
        {
            // The status is already 200: the error goes out as an event, as OpenAI's streams do.
            await events.SendErrorAsync(OpenAiAnswers.Error($"The request failed inside the server: {e.Message}", serverFault: true));
            return;
        }
        await events.SendDoneAsync();
    });
}

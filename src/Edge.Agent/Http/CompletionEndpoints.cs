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
        if (request.ChoiceCount > 1)
        {
            await HandleChoicesAsync(context, service, kind, request);
            return;
        }
        using var run = service.Start(request, context.RequestAborted);
        context.Response.Headers[CacheHeader] = run.CacheStatus;
        var answers = OpenAiAnswers.For(kind, run.Model, splitter: run.Splitter(), includeReasoning: run.IncludeReasoning, tokenizer: run.Tokenizer,
            echo: request.Echo ? request.Prompt : null, tools: run.ToolAnswer());
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

    /// <summary>
    /// n > 1: one sequence per choice, started together so the scheduler decodes them as one batch;
    /// the answer holds every choice, or the stream interleaves their events, each with its index.
    /// </summary>
    private static async Task HandleChoicesAsync(HttpContext context, CompletionService service, CompletionKind kind, CompletionRequest request)
    {
        var runs = new List<CompletionRun>();
        // Every choice stops when the answer ends early (a refusal of a later choice, a fault, the caller leaving).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        try
        {
            for (int i = 0; i < request.ChoiceCount; i++)
                runs.Add(service.Start(request.ForChoice(i), stop.Token));
            context.Response.Headers[CacheHeader] = string.Join(',', runs.Select(r => r.CacheStatus).Distinct());
            var first = OpenAiAnswers.For(kind, runs[0].Model, includeReasoning: runs[0].IncludeReasoning, tokenizer: runs[0].Tokenizer, echo: request.Echo ? request.Prompt : null);
            var answers = runs.Select((run, i) => first with { Index = i, Splitter = kind == CompletionKind.Chat ? run.Splitter() : null, Tools = kind == CompletionKind.Chat ? run.ToolAnswer() : null }).ToList();
            if (!request.Stream)
            {
                var results = await Task.WhenAll(runs.Select(run => run.CollectAsync(splitter: kind == CompletionKind.Chat ? run.Splitter() : null, cancellation: context.RequestAborted)));
                context.Response.ContentType = "application/json; charset=utf-8";
                await context.Response.Body.WriteAsync(first.Whole(results), context.RequestAborted);
                return;
            }
            var events = new ServerSentEvents(context.Response);
            events.Begin();
            foreach (var opening in answers.Select(a => a.Opening()).OfType<string>())
                await events.SendAsync(opening);
            var merged = System.Threading.Channels.Channel.CreateUnbounded<(int Index, GenerationChunk Chunk)>();
            var readers = runs.Select((run, i) => Task.Run(async () =>
            {
                await foreach (var chunk in run.Updates)
                    merged.Writer.TryWrite((i, chunk));
            })).ToList();
            _ = Task.WhenAll(readers).ContinueWith(done => merged.Writer.TryComplete(done.Exception?.InnerException), TaskScheduler.Default);
            int prompt = 0, completion = 0;
            try
            {
                await foreach (var (index, chunk) in merged.Reader.ReadAllAsync(context.RequestAborted))
                {
                    if (chunk.FinishReason == FinishReason.Cancelled)
                        return;
                    if (chunk.Usage is { } usage)
                        (prompt, completion) = (usage.PromptTokens, completion + usage.CompletionTokens);
                    foreach (string json in answers[index].Events(chunk, includeUsage: false))
                        await events.SendAsync(json);
                }
            }
            catch (GenerationFaultException e)
            {
                await events.SendErrorAsync(OpenAiAnswers.Error($"The request failed inside the server: {e.Message}", serverFault: true));
                return;
            }
            if (request.IncludeUsage)
                await events.SendAsync(first.UsageEvent(new GenerationUsage(prompt, completion)));
            await events.SendDoneAsync();
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var run in runs)
                run.Dispose();
        }
    }
}

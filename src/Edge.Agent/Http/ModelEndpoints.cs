using System.Text.Json;
using Edge.Agent.Core;
using Edge.Agent.OpenAi;
using Edge.Agent.Security;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.Http;

/// <summary>GET /v1/models and /v1/models/{id}, POST /v1/tokenize and POST /v1/detokenize (vLLM's shapes for the last two).</summary>
internal static class ModelEndpoints
{
    private static readonly HashSet<string> TokenizeFields = ["model", "prompt", "messages", "add_special_tokens", "add_generation_prompt"];
    private static readonly HashSet<string> DetokenizeFields = ["model", "tokens"];

    public static void Map(WebApplication app)
    {
        var infer = new RoleMetadata(EndpointRole.Infer);
        app.MapGet("/v1/models", new RequestDelegate(ListAsync)).WithMetadata(infer);
        // A catch-all, so that an alias such as "deepseek-ai/DeepSeek-R1" can be retrieved too.
        app.MapGet("/v1/models/{**id}", new RequestDelegate(RetrieveAsync)).WithMetadata(infer);
        app.MapPost("/v1/tokenize", new RequestDelegate(TokenizeAsync)).WithMetadata(infer);
        app.MapPost("/v1/detokenize", new RequestDelegate(DetokenizeAsync)).WithMetadata(infer);
    }

    /// <summary>The served model under each of its names (its own, then the configured aliases), as vLLM lists served model names.</summary>
    private static Task ListAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var names = context.RequestServices.GetRequiredService<ModelNames>();
        var cards = names.Of(engine.Package.Manifest.Name).Select(name => Card(engine, name)).ToList();
        return context.Response.WriteAsJsonAsync(new ModelList("list", cards), AgentJsonContext.Readable.ModelList);
    }

    /// <summary>GET /v1/models/{id}: the card when the served model answers to that name, else 404 model_not_found.</summary>
    private static Task RetrieveAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var names = context.RequestServices.GetRequiredService<ModelNames>();
        string id = (string)context.Request.RouteValues["id"]!;
        string served = engine.Package.Manifest.Name;
        return names.Serves(served, id)
            ? context.Response.WriteAsJsonAsync(Card(engine, id), AgentJsonContext.Readable.ModelCard)
            : HttpErrors.WriteAsync(context, names.UnknownModel(served, id));
    }

    private static ModelCard Card(Edge.Runtime.Inference.InferenceEngine engine, string id)
    {
        var manifest = engine.Package.Manifest;
        return new ModelCard(id, "model", manifest.Created.ToUnixTimeSeconds(), "deepseek-edge", engine.ContextLength,
            manifest.Version, manifest.Architecture.ModelType, manifest.Architecture.Parameters, manifest.Architecture.ActiveParametersPerToken, manifest.Quantization,
            manifest.Source is { } source ? $"{source.Format}:{source.Origin} ({source.Dtype})" : null,
            engine.Package.GenerationDefaults is var d ? new GenerationDefaultsCard(d.Temperature, d.TopP, d.TopK, d.RepetitionPenalty) : null);
    }

    private static Task TokenizeAsync(HttpContext context) => JsonRoute.HandleAsync(context, body =>
    {
        var root = RequireObject(body);
        RefuseUnknown(root, TokenizeFields);
        string? model = OptionalString(root, "model");
        bool hasPrompt = root.TryGetProperty("prompt", out _), hasMessages = root.TryGetProperty("messages", out _);
        if (hasPrompt == hasMessages)
            throw RefusalException.Invalid("Send exactly one of 'prompt' and 'messages'.", hasPrompt ? "messages" : "prompt");
        var request = hasPrompt
            ? CompletionRequest.Text(OptionalString(root, "prompt") ?? throw RefusalException.Invalid("'prompt' must be a string.", "prompt"), new())
            : CompletionRequest.Chat(ChatCompletionReader.NormaliseMessages(root), new());
        request = request with { Model = model };
        var (tokens, contextLength) = context.RequestServices.GetRequiredService<CompletionService>().Tokenize(request,
            OptionalBool(root, "add_special_tokens") ?? true, OptionalBool(root, "add_generation_prompt") ?? true, context.RequestAborted);
        return context.Response.WriteAsJsonAsync(new TokenizeResponse(tokens, tokens.Length, contextLength), AgentJsonContext.Readable.TokenizeResponse);
    });

    private static Task DetokenizeAsync(HttpContext context) => JsonRoute.HandleAsync(context, body =>
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var root = RequireObject(body);
        RefuseUnknown(root, DetokenizeFields);
        context.RequestServices.GetRequiredService<ModelNames>().Check(engine.Package.Manifest.Name, OptionalString(root, "model"));
        if (!root.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid("'tokens' is required: an array of token ids.", "tokens");
        var ids = new List<int>(tokens.GetArrayLength());
        foreach (var token in tokens.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Number || !token.TryGetInt32(out int id) || id < 0 || id >= engine.Tokenizer.VocabularySize)
                throw RefusalException.Invalid($"'tokens' holds {token.GetRawText()}, which is not a token id (0..{engine.Tokenizer.VocabularySize - 1}).", "tokens");
            ids.Add(id);
        }
        return context.Response.WriteAsJsonAsync(new DetokenizeResponse(engine.Tokenizer.Decode(ids)), AgentJsonContext.Readable.DetokenizeResponse);
    });
}

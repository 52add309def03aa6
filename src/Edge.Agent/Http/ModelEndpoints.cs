using System.Text.Json;
using Edge.Agent.Core;
using Edge.Agent.OpenAi;
using Edge.Agent.Security;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.Http;

/// <summary>GET /v1/models, POST /v1/tokenize and POST /v1/detokenize (vLLM's shapes for the last two).</summary>
internal static class ModelEndpoints
{
    private static readonly HashSet<string> TokenizeFields = ["model", "prompt", "messages", "add_special_tokens", "add_generation_prompt"];
    private static readonly HashSet<string> DetokenizeFields = ["model", "tokens"];

    public static void Map(WebApplication app)
    {
        var infer = new RoleMetadata(EndpointRole.Infer);
        app.MapGet("/v1/models", new RequestDelegate(ListAsync)).WithMetadata(infer);
        app.MapPost("/v1/tokenize", new RequestDelegate(TokenizeAsync)).WithMetadata(infer);
        app.MapPost("/v1/detokenize", new RequestDelegate(DetokenizeAsync)).WithMetadata(infer);
    }

    private static Task ListAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var manifest = engine.Package.Manifest;
        var card = new ModelCard(manifest.Name, "model", manifest.Created.ToUnixTimeSeconds(), "deepseek-edge", engine.ContextLength,
            manifest.Version, manifest.Architecture.ModelType, manifest.Architecture.Parameters, manifest.Architecture.ActiveParametersPerToken, manifest.Quantization,
            manifest.Source is { } source ? $"{source.Format}:{source.Origin} ({source.Dtype})" : null);
        return context.Response.WriteAsJsonAsync(new ModelList("list", [card]), AgentJsonContext.Readable.ModelList);
    }

    private static Task TokenizeAsync(HttpContext context) => JsonRoute.HandleAsync(context, body =>
    {
        var root = RequireObject(body);
        RefuseUnknown(root, TokenizeFields);
        OptionalString(root, "model");
        bool hasPrompt = root.TryGetProperty("prompt", out _), hasMessages = root.TryGetProperty("messages", out _);
        if (hasPrompt == hasMessages)
            throw RefusalException.Invalid("Send exactly one of 'prompt' and 'messages'.", hasPrompt ? "messages" : "prompt");
        var request = hasPrompt
            ? CompletionRequest.Text(OptionalString(root, "prompt") ?? throw RefusalException.Invalid("'prompt' must be a string.", "prompt"), new())
            : CompletionRequest.Chat(ChatCompletionReader.NormaliseMessages(root), new());
        var (tokens, contextLength) = context.RequestServices.GetRequiredService<CompletionService>().Tokenize(request,
            OptionalBool(root, "add_special_tokens") ?? true, OptionalBool(root, "add_generation_prompt") ?? true, context.RequestAborted);
        return context.Response.WriteAsJsonAsync(new TokenizeResponse(tokens, tokens.Length, contextLength), AgentJsonContext.Readable.TokenizeResponse);
    });

    private static Task DetokenizeAsync(HttpContext context) => JsonRoute.HandleAsync(context, body =>
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var root = RequireObject(body);
        RefuseUnknown(root, DetokenizeFields);
        OptionalString(root, "model");
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

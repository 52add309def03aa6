using System.Security.Cryptography;
using System.Text.Json;
using Edge.Agent.Core;
using Edge.Agent.Ollama;
using Edge.Agent.Security;
using Edge.Runtime.Inference;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.Http;

/// <summary>
/// Ollama's API, a second thin adapter over the same core as /v1: POST /api/generate and
/// /api/chat (NDJSON streams, or one object with stream: false), GET /api/tags, POST /api/show,
/// GET /api/version. Errors take Ollama's shape ({"error": "..."}), also mid-stream.
/// </summary>
internal static class OllamaEndpoints
{
    /// <summary>The Ollama API version this adapter follows (clients gate features on it).</summary>
    public const string ApiVersion = "0.12.0";

    public static void Map(WebApplication app)
    {
        var infer = new RoleMetadata(EndpointRole.Infer);
        var shape = new OllamaShapeMetadata();
        app.MapPost("/api/generate", (HttpContext context, CompletionService service) => HandleAsync(context, service, chat: false)).WithMetadata(infer, shape);
        app.MapPost("/api/chat", (HttpContext context, CompletionService service) => HandleAsync(context, service, chat: true)).WithMetadata(infer, shape);
        app.MapGet("/api/tags", new RequestDelegate(TagsAsync)).WithMetadata(infer, shape);
        app.MapPost("/api/show", new RequestDelegate(ShowAsync)).WithMetadata(infer, shape);
        app.MapGet("/api/version", new RequestDelegate(VersionAsync)).WithMetadata(new RoleMetadata(EndpointRole.Open), shape);
    }

    private static Task HandleAsync(HttpContext context, CompletionService service, bool chat) => JsonRoute.HandleAsync(context, async body =>
    {
        bool hasTemplate = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine.ChatTemplate is not null;
        var request = chat ? OllamaRequests.ReadChat(body) : OllamaRequests.ReadGenerate(body, hasTemplate);
        using var run = service.Start(request, context.RequestAborted);
        context.Response.Headers[CompletionEndpoints.CacheHeader] = run.CacheStatus;
        bool templated = request.Kind == CompletionKind.Chat;
        var answers = new OllamaAnswers(chat, run.Model, templated ? run.Splitter() : null, run.IncludeReasoning, chat ? run.ToolAnswer() : null);
        if (!request.Stream)
        {
            var result = await run.CollectAsync(splitter: templated ? run.Splitter() : null, cancellation: context.RequestAborted);
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(answers.Whole(result), context.RequestAborted);
            return;
        }
        context.Response.ContentType = "application/x-ndjson";
        try
        {
            await foreach (var chunk in run.Updates)
            {
                if (chunk.FinishReason == FinishReason.Cancelled)
                    return;
                foreach (string line in answers.Lines(chunk))
                    await WriteLineAsync(context, line);
            }
        }
        catch (GenerationFaultException e)
        {
            // The status is already 200: the error goes out as a line, as Ollama's streams do.
            await WriteLineAsync(context, OllamaAnswers.Error($"The request failed inside the server: {e.Message}"));
        }
    });

    private static Task VersionAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(new OllamaVersion(ApiVersion), OllamaJsonContext.Readable.OllamaVersion);

    private static async Task WriteLineAsync(HttpContext context, string line)
    {
        await context.Response.WriteAsync(line + "\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>The served model under each of its names.</summary>
    private static Task TagsAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        var names = context.RequestServices.GetRequiredService<ModelNames>();
        var models = names.Of(engine.Package.Manifest.Name).Select(name => new OllamaModel(name, name, Modified(engine), Size(engine), Digest(engine), Details(engine))).ToList();
        return context.Response.WriteAsJsonAsync(new OllamaTags(models), OllamaJsonContext.Readable.OllamaTags);
    }

    private static Task ShowAsync(HttpContext context) => JsonRoute.HandleAsync(context, body =>
    {
        var engine = context.RequestServices.GetRequiredService<Serving.ModelSlot>().Current.Engine;
        RequireObject(body);
        RefuseUnknown(body, new HashSet<string> { "model", "name", "verbose" });
        string? model = OptionalString(body, "model") ?? OptionalString(body, "name");
        context.RequestServices.GetRequiredService<ModelNames>().Check(engine.Package.Manifest.Name,
            model is not null && model.EndsWith(":latest", StringComparison.Ordinal) ? model[..^":latest".Length] : model);
        var manifest = engine.Package.Manifest;
        var info = new Dictionary<string, object>
        {
            ["general.architecture"] = manifest.Architecture.ModelType,
            ["general.parameter_count"] = manifest.Architecture.Parameters,
            [$"{manifest.Architecture.ModelType}.context_length"] = engine.ContextLength,
            [$"{manifest.Architecture.ModelType}.embedding_length"] = manifest.Architecture.HiddenSize,
            [$"{manifest.Architecture.ModelType}.block_count"] = manifest.Architecture.NumHiddenLayers,
        };
        var defaults = engine.Package.GenerationDefaults;
        string parameters = FormattableString.Invariant($"temperature {defaults.Temperature}\ntop_p {defaults.TopP}\ntop_k {defaults.TopK}\nrepeat_penalty {defaults.RepetitionPenalty}");
        var capabilities = engine.ChatTemplate is null ? new List<string> { "completion" } : ["completion", "chat"];
        var show = new OllamaShow("", "", parameters, engine.Tokenizer.Config.ChatTemplate ?? "", Details(engine), info, capabilities, Modified(engine));
        return context.Response.WriteAsJsonAsync(show, OllamaJsonContext.Readable.OllamaShow);
    });

    private static OllamaModelDetails Details(InferenceEngine engine)
    {
        var manifest = engine.Package.Manifest;
        return new OllamaModelDetails("", "onnx", manifest.Architecture.ModelType, [manifest.Architecture.ModelType],
            ParameterSize(manifest.Architecture.Parameters), manifest.Quantization.ToUpperInvariant());
    }

    private static string ParameterSize(long parameters) => parameters switch
    {
        >= 1_000_000_000 => FormattableString.Invariant($"{parameters / 1e9:0.#}B"),
        >= 1_000_000 => FormattableString.Invariant($"{parameters / 1e6:0.#}M"),
        _ => FormattableString.Invariant($"{parameters / 1e3:0.#}K"),
    };

    private static string Modified(InferenceEngine engine) => engine.Package.Manifest.Created.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private static long Size(InferenceEngine engine) => engine.Package.Manifest.Files.Sum(f => f.Bytes);

    /// <summary>A digest of the package: SHA-256 over its files' own digests, in manifest order.</summary>
    private static string Digest(InferenceEngine engine) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', engine.Package.Manifest.Files.Select(f => f.Sha256)))));
}

using System.Text.Json;
using Edge.Runtime.Constraints;
using Edge.Runtime.Inference;
using Edge.Agent.Core;
using static Edge.Agent.Core.JsonFields;

namespace Edge.Agent.OpenAi;

/// <summary>
/// The parameters completions and chat completions share: length, sampling, penalties, stops,
/// streaming. Types are checked here; ranges by the engine (<see cref="GenerationSettings.Validate"/>).
/// </summary>
/// <param name="SamplingGiven">Which of the model's sampling defaults the request overrides (<see cref="Edge.Runtime.Packaging.GenerationDefaults.Parameters"/>).</param>
internal sealed record GenerationParameters(string? Model, GenerationSettings Settings, IReadOnlySet<string> SamplingGiven, bool Stream, bool IncludeUsage)
{
    /// <summary>Most choices one request may ask for (n).</summary>
    public const int MaxChoiceCount = 16;

    /// <summary>n: how many choices to generate, decoded side by side in the batch.</summary>
    public int ChoiceCount { get; init; } = 1;

    public static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "model", "max_tokens", "user", "n", "stream", "stream_options", "temperature", "top_p", "seed", "stop",
        "presence_penalty", "frequency_penalty", "logit_bias",
        // OpenAI's platform features that do not apply on a device: checked for type, then ignored (docs/api.md).
        "store", "metadata", "service_tier", "prompt_cache_key", "safety_identifier",
        // Common extensions (vLLM, llama.cpp):
        "top_k", "min_p", "repetition_penalty", "ignore_eos",
        "response_format",
        // vLLM's guided decoding:
        "guided_choice", "guided_regex", "guided_json",
    };

    public static GenerationParameters Read(JsonElement root, string? maxTokensAlias = null)
    {
        // Which names the served model answers to is the core's to check (Core/ModelNames).
        string? model = OptionalString(root, "model");
        OptionalString(root, "user");
        // Accepted and ignored: where OpenAI stores, tags, tiers and caches requests, there is nothing to do here.
        OptionalBool(root, "store");
        OptionalString(root, "service_tier");
        OptionalString(root, "prompt_cache_key");
        OptionalString(root, "safety_identifier");
        if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw RefusalException.Invalid($"'metadata' must be an object, not {Describe(metadata.ValueKind)}.", "metadata");
        int n = OptionalInt(root, "n") ?? 1;
        if (n is < 1 or > MaxChoiceCount)
            throw RefusalException.Invalid($"'n' must be from 1 to {MaxChoiceCount} (got {n}).", "n");
        bool stream = OptionalBool(root, "stream") ?? false;
        bool includeUsage = ReadStreamOptions(root, stream);
        int? maxTokens = OptionalInt(root, "max_tokens");
        if (maxTokensAlias is not null && OptionalInt(root, maxTokensAlias) is { } alias)
            maxTokens = alias;
        var settings = new GenerationSettings
        {
            MaxTokens = maxTokens ?? GenerationSettings.DefaultMaxTokens,
            Temperature = OptionalFloat(root, "temperature") ?? 0f,
            TopP = OptionalFloat(root, "top_p") ?? 1f,
            TopK = OptionalInt(root, "top_k") ?? 0,
            MinP = OptionalFloat(root, "min_p") ?? 0f,
            RepetitionPenalty = OptionalFloat(root, "repetition_penalty") ?? 1f,
            PresencePenalty = OptionalFloat(root, "presence_penalty") ?? 0f,
            FrequencyPenalty = OptionalFloat(root, "frequency_penalty") ?? 0f,
            Seed = OptionalLong(root, "seed"),
            StopStrings = ReadStrings(root, "stop", allowOne: true),
            // Generate to max_tokens past the end-of-sequence token: for benchmarks and fixed-length tests.
            StopAtEos = !(OptionalBool(root, "ignore_eos") ?? false),
            ResponseFormat = ReadResponseFormat(root, out var schema),
            Choices = ReadStrings(root, "guided_choice", allowOne: false),
            Grammar = schema ?? ReadGuided(root),
            LogitBias = ReadLogitBias(root),
        };
        var given = Edge.Runtime.Packaging.GenerationDefaults.Parameters
            .Where(name => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null).ToHashSet();
        return new GenerationParameters(model, settings, given, stream, includeUsage) { ChoiceCount = n };
    }

    /// <summary>
    /// response_format: "text" (the default, which some clients always send), "json_object" (any
    /// JSON object) or "json_schema" (a document valid against json_schema.schema), all enforced by
    /// constrained decoding. A schema is enforced whether or not 'strict' is set: a schema feature
    /// that cannot be enforced is refused by name when the engine compiles it, never ignored.
    /// </summary>
    private static ResponseFormat ReadResponseFormat(JsonElement root, out OutputGrammar? schema)
    {
        schema = null;
        if (!root.TryGetProperty("response_format", out var format) || format.ValueKind == JsonValueKind.Null)
            return ResponseFormat.Text;
        if (format.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'response_format' must be an object, not {Describe(format.ValueKind)}.", "response_format");
        string? type = format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        foreach (var property in format.EnumerateObject())
        {
            if (property.Name != "type" && !(type == "json_schema" && property.Name == "json_schema"))
                throw RefusalException.Invalid($"'response_format.{property.Name}' is not supported by this server{(type == "json_schema" ? "; 'type' and 'json_schema' are" : "; only 'type' is")}.", "response_format");
        }
        switch (type)
        {
            case "text":
                return ResponseFormat.Text;
            case "json_object":
                return ResponseFormat.JsonObject;
            case "json_schema":
                schema = ReadJsonSchema(format);
                return ResponseFormat.Text;
            case null:
                throw RefusalException.Invalid("'response_format.type' is required: 'text', 'json_object' or 'json_schema'.", "response_format");
            default:
                throw RefusalException.Invalid($"response_format type '{type}' is not supported; use 'text', 'json_object' or 'json_schema'.", "response_format");
        }
    }

    /// <summary>OpenAI's json_schema object: name, description, schema, strict.</summary>
    private static OutputGrammar ReadJsonSchema(JsonElement format)
    {
        if (!format.TryGetProperty("json_schema", out var body) || body.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid("'response_format.json_schema' is required with type 'json_schema', as an object holding 'schema'.", "response_format");
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name is not ("name" or "description" or "schema" or "strict"))
                throw RefusalException.Invalid($"'response_format.json_schema.{property.Name}' is not supported; name, description, schema and strict are.", "response_format");
        }
        OptionalString(body, "name", "response_format.json_schema.name");
        OptionalString(body, "description", "response_format.json_schema.description");
        OptionalBool(body, "strict", "response_format.json_schema.strict");
        if (!body.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
            throw RefusalException.Invalid("'response_format.json_schema.schema' must be a JSON schema object.", "response_format");
        return new OutputGrammar(GrammarKind.JsonSchema, schema.GetRawText());
    }

    /// <summary>vLLM's guided_regex (a regex the whole output matches) and guided_json (a schema, as an object or its text).</summary>
    private static OutputGrammar? ReadGuided(JsonElement root)
    {
        if (OptionalString(root, "guided_regex") is { } regex)
            return new OutputGrammar(GrammarKind.Regex, regex);
        if (!root.TryGetProperty("guided_json", out var json) || json.ValueKind == JsonValueKind.Null)
            return null;
        return json.ValueKind switch
        {
            JsonValueKind.Object => new OutputGrammar(GrammarKind.JsonSchema, json.GetRawText()),
            JsonValueKind.String => new OutputGrammar(GrammarKind.JsonSchema, json.GetString()!),
            _ => throw RefusalException.Invalid($"'guided_json' must be a JSON schema object or its text, not {Describe(json.ValueKind)}.", "guided_json"),
        };
    }

    /// <summary>logit_bias: token ids (as the object's keys, OpenAI's shape) to a bias from -100 to 100.</summary>
    private static Dictionary<int, float> ReadLogitBias(JsonElement root)
    {
        var bias = new Dictionary<int, float>();
        if (!root.TryGetProperty("logit_bias", out var map) || map.ValueKind == JsonValueKind.Null)
            return bias;
        if (map.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'logit_bias' must be an object of token ids to biases, not {Describe(map.ValueKind)}.", "logit_bias");
        foreach (var entry in map.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int token))
                throw RefusalException.Invalid($"'logit_bias' keys must be token ids (whole numbers), not '{entry.Name}'.", "logit_bias");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetSingle(out float value) || !float.IsFinite(value))
                throw RefusalException.Invalid($"'logit_bias.{entry.Name}' must be a number from -100 to 100.", "logit_bias");
            bias[token] = value;
        }
        return bias;
    }

    private static bool ReadStreamOptions(JsonElement root, bool stream)
    {
        if (!root.TryGetProperty("stream_options", out var options) || options.ValueKind == JsonValueKind.Null)
            return false;
        if (!stream)
            throw RefusalException.Invalid("'stream_options' is only allowed with 'stream': true.", "stream_options");
        if (options.ValueKind != JsonValueKind.Object)
            throw RefusalException.Invalid($"'stream_options' must be an object, not {Describe(options.ValueKind)}.", "stream_options");
        foreach (var property in options.EnumerateObject())
        {
            if (property.Name != "include_usage")
                throw RefusalException.Invalid($"'stream_options.{property.Name}' is not supported.", "stream_options");
        }
        return OptionalBool(options, "include_usage", "stream_options.include_usage") ?? false;
    }

    /// <summary>An array of strings (or, where <paramref name="allowOne"/>, one string), as 'stop' and 'guided_choice' take them; empty when absent.</summary>
    private static List<string> ReadStrings(JsonElement root, string name, bool allowOne)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return [];
        if (allowOne && value.ValueKind == JsonValueKind.String)
            return [value.GetString()!];
        if (value.ValueKind != JsonValueKind.Array)
            throw RefusalException.Invalid($"'{name}' must be {(allowOne ? "a string or " : "")}an array of strings, not {Describe(value.ValueKind)}.", name);
        var strings = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw RefusalException.Invalid($"'{name}' must hold only strings, not {Describe(item.ValueKind)}.", name);
            strings.Add(item.GetString()!);
        }
        return strings;
    }
}

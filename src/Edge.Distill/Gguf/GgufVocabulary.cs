using System.Text.Json;

namespace Edge.Distill.Gguf;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (tokenizer.json, tokenizer_config.json) as GGUF's
/// tokenizer.ggml.* metadata, the way llama.cpp's converter writes it: token strings in id
/// order, their types, the merges, the special token ids and the chat template.
/// </summary>
internal static class GgufVocabulary
{
    // llama.cpp's token types (llama_token_type).
    public const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <param name="rows">Rows of the embedding: ids the tokenizer does not use become unused padding tokens.</param>
    /// <param name="pre">llama.cpp's name for the pre-tokenizer (deepseek-v3, qwen2, llama-bpe ...).</param>
    public static void Write(GgufWriter gguf, string tokenizerDirectory, int rows, string pre, int? bos, int? eos, int? pad)
    {
        using var tokenizer = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(tokenizerDirectory, "tokenizer.json")));
        var model = tokenizer.RootElement.GetProperty("model");
        string type = model.GetProperty("type").GetString() ?? "";
        if (type != "BPE")
            throw new InvalidDataException($"tokenizer.json has a {type} model; GGUF export writes byte-level BPE tokenizers only.");

        var tokens = new string?[rows];
        var types = new int[rows];
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
            Place(tokens, types, entry.Value.GetInt32(), entry.Name, Normal);
        if (tokenizer.RootElement.TryGetProperty("added_tokens", out var added))
        {
            foreach (var token in added.EnumerateArray())
            {
                bool special = token.TryGetProperty("special", out var s) && s.GetBoolean();
                Place(tokens, types, token.GetProperty("id").GetInt32(), token.GetProperty("content").GetString()!, special ? Control : UserDefined);
            }
        }
        for (int id = 0; id < rows; id++)
        {
            if (tokens[id] is null)
            {
                tokens[id] = $"[PAD{id}]";
                types[id] = Unused;
            }
        }
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!)
            .ToArray();

        gguf.Add("tokenizer.ggml.model", GgufValue.Of("gpt2"));
        gguf.Add("tokenizer.ggml.pre", GgufValue.Of(pre));
        gguf.Add("tokenizer.ggml.tokens", GgufValue.Of(tokens!));
        gguf.Add("tokenizer.ggml.token_type", GgufValue.Of(types));
        gguf.Add("tokenizer.ggml.merges", GgufValue.Of(merges));
        if (bos is int b)
            gguf.Add("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)b));
        if (eos is int e)
            gguf.Add("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)e));
        if (pad is int p)
            gguf.Add("tokenizer.ggml.padding_token_id", GgufValue.Of((uint)p));

        string configPath = Path.Combine(tokenizerDirectory, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            using var config = JsonDocument.Parse(File.ReadAllBytes(configPath));
            if (config.RootElement.TryGetProperty("add_bos_token", out var addBos) && addBos.ValueKind is JsonValueKind.True or JsonValueKind.False)
                gguf.Add("tokenizer.ggml.add_bos_token", GgufValue.Of(addBos.GetBoolean()));
            if (config.RootElement.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String)
                gguf.Add("tokenizer.chat_template", GgufValue.Of(template.GetString()!));
        }
    }

    private static void Place(string?[] tokens, int[] types, int id, string text, int type)
    {
        if ((uint)id >= (uint)tokens.Length)
            throw new InvalidDataException($"token '{text}' has id {id}, outside the model's {tokens.Length} embedding rows.");
        tokens[id] = text;
        types[id] = type;
    }
}

using System.Text.Json.Nodes;

namespace Edge.Distill.Gguf;

/// <summary>
/// A GGUF file's tokenizer (tokenizer.ggml.*) as Hugging Face's tokenizer.json and
/// tokenizer_config.json, the files the runtime loads: byte-level BPE with the vocabulary and
/// merges as stored, control tokens as special added tokens, and the pre-tokenizer that
/// llama.cpp's pre-tokenizer type names, written as the original tokenizer.json writes it.
/// </summary>
internal static class GgufTokenizerFiles
{
    // The Split regexes of each pre-tokenizer type: for deepseek-v3, qwen2 and llama-bpe those of the
    // models' own tokenizer.json; for deepseek-llm (DeepSeek-V2) llama.cpp's list for that type.
    private static readonly Dictionary<string, string[]> Splits = new()
    {
        ["deepseek-v3"] =
        [
            @"\p{N}{1,3}",
            "[一-龥぀-ゟ゠-ヿ]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
        ],
        ["deepseek-llm"] =
        [
            "[\r\n]",
            "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
            "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
            "\\s+$",
            "[一-龥ࠀ-一가-퟿]+",
            "\\p{N}+",
        ],
        ["qwen2"] = [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
        ["llama-bpe"] = [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
    };

    public static IReadOnlyCollection<string> PreTokenizers => Splits.Keys;

    public static void Write(GgufReader gguf, string folder)
    {
        string model = gguf.Get("tokenizer.ggml.model")?.AsString() ?? "(none)";
        if (model != "gpt2")
            throw new InvalidDataException($"{gguf.Path}: tokenizer.ggml.model is '{model}'; byte-level BPE (gpt2) is supported.");
        string pre = gguf.Get("tokenizer.ggml.pre")?.AsString() ?? "(none)";
        if (!Splits.TryGetValue(pre, out var splits))
            throw new InvalidDataException($"{gguf.Path}: tokenizer.ggml.pre '{pre}' is not supported ({string.Join(", ", Splits.Keys)} are).");
        string[] tokens = gguf.Get("tokenizer.ggml.tokens")?.AsStrings() ?? throw new InvalidDataException($"{gguf.Path} has no tokenizer.ggml.tokens.");
        string[] merges = gguf.Get("tokenizer.ggml.merges")?.AsStrings() ?? throw new InvalidDataException($"{gguf.Path} has no tokenizer.ggml.merges.");
        int[] types = gguf.Get("tokenizer.ggml.token_type")?.AsIntegers() ?? [.. tokens.Select(_ => GgufVocabulary.Normal)];
        if (types.Length != tokens.Length)
            throw new InvalidDataException($"{gguf.Path}: {tokens.Length} tokens but {types.Length} token types.");

        var vocab = new JsonObject();
        var added = new JsonArray();
        for (int id = 0; id < tokens.Length; id++)
        {
            if (types[id] == GgufVocabulary.Unused)
                continue;
            if (types[id] is GgufVocabulary.Control or GgufVocabulary.UserDefined)
            {
                added.Add(new JsonObject
                {
                    ["id"] = id, ["content"] = tokens[id], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = types[id] != GgufVocabulary.Control, ["special"] = types[id] == GgufVocabulary.Control,
                });
            }
            else if (!vocab.ContainsKey(tokens[id]))
            {
                vocab[tokens[id]] = id;
            }
        }
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false };
        var steps = new JsonArray([.. splits.Select(s => (JsonNode)new JsonObject
        {
            ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = s }, ["behavior"] = "Isolated", ["invert"] = false,
        }), byteLevel.DeepClone()]);
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = pre == "qwen2" ? new JsonObject { ["type"] = "NFC" } : null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = steps },
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = pre == "llama-bpe",
                ["vocab"] = vocab, ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]),
            },
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());

        string? Token(string key) => gguf.Get(key) is { } id && id.AsInteger() is var i && i >= 0 && i < tokens.Length ? tokens[i] : null;
        var config = new JsonObject
        {
            ["add_bos_token"] = gguf.Get("tokenizer.ggml.add_bos_token")?.AsBool() ?? false,
            ["add_eos_token"] = gguf.Get("tokenizer.ggml.add_eos_token")?.AsBool() ?? false,
            ["bos_token"] = Token("tokenizer.ggml.bos_token_id"),
            ["eos_token"] = Token("tokenizer.ggml.eos_token_id"),
            ["pad_token"] = Token("tokenizer.ggml.padding_token_id"),
            ["clean_up_tokenization_spaces"] = false,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
        };
        if (gguf.Get("tokenizer.chat_template")?.AsString() is { } template)
            config["chat_template"] = template;
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
    }
}

using System.Text.Json;

namespace Edge.Runtime.Tokenization;

/// <summary>The parts of Hugging Face's tokenizer_config.json the runtime uses.</summary>
public sealed record TokenizerConfig(
    string? BosToken,
    string? EosToken,
    bool AddBosToken,
    bool AddEosToken,
    string? ChatTemplate)
{
    public const string FileName = "tokenizer_config.json";

    public static TokenizerConfig Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return new TokenizerConfig(null, null, false, false, null);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            return new TokenizerConfig(
                TokenContent(root, "bos_token"),
                TokenContent(root, "eos_token"),
                Flag(root, "add_bos_token"),
                Flag(root, "add_eos_token"),
                root.TryGetProperty("chat_template", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    private static bool Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    // A token is written either as a plain string or as {"__type": "AddedToken", "content": ...}.
    private static string? TokenContent(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) => content.GetString(),
            _ => null,
        };
    }
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Edge.Runtime.Tokenization;

/// <summary>
/// A model's tokenizer, built from its Hugging Face tokenizer.json: byte-level BPE
/// (Microsoft.ML.Tokenizers) behind the model's own pre-tokenizer regexes, with added and
/// special tokens matched first, as the Hugging Face tokenizers library does.
/// </summary>
public sealed class ModelTokenizer
{
    public const string FileName = "tokenizer.json";

    // GPT-2's pre-tokenizer, which a ByteLevel pre-tokenizer applies when "use_regex" is true.
    private const string ByteLevelRegex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _bpe;
    private readonly SplitPreTokenizer _preTokenizer;

    /// <summary>The pre-tokenizer, for tests that check its pieces.</summary>
    internal SplitPreTokenizer PreTokenizer => _preTokenizer;
    private readonly AddedTokenMatcher _addedTokens;
    private readonly string[] _tokenById;
    private readonly HashSet<int> _specialIds;
    private readonly NormalizationForm? _normalization;

    private ModelTokenizer(BpeTokenizer bpe, AddedTokenMatcher addedTokens, string[] tokenById,
        HashSet<int> specialIds, NormalizationForm? normalization, TokenizerConfig config)
    {
        _bpe = bpe;
        _preTokenizer = (SplitPreTokenizer)bpe.PreTokenizer!;
        _addedTokens = addedTokens;
        _tokenById = tokenById;
        _specialIds = specialIds;
        _normalization = normalization;
        Config = config;
        BosId = config.BosToken is { } bos ? TokenToId(bos) : null;
        EosId = config.EosToken is { } eos ? TokenToId(eos) : null;
    }

    public TokenizerConfig Config { get; }

    /// <summary>Number of ids the tokenizer can produce (the highest id plus one).</summary>
    public int VocabularySize => _tokenById.Length;

    public int? BosId { get; }

    public int? EosId { get; }

    public bool IsSpecial(int id) => _specialIds.Contains(id);

    public int? TokenToId(string token) => _addedTokens.IdOf(token) ?? (_bpe.Vocabulary.TryGetValue(token, out int id) ? id : null);

    /// <summary>Loads tokenizer.json (and tokenizer_config.json when present) from a directory.</summary>
    public static ModelTokenizer Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new ModelLoadException($"{path} is missing: a model package needs its tokenizer.");
        var config = TokenizerConfig.Load(directory);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return Build(document.RootElement, config, path);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new ModelLoadException($"{path} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>
    /// Token ids of <paramref name="text"/>; with special tokens, BOS/EOS as tokenizer_config.json
    /// asks. Linear in the text's length: pre-tokenization splits runs longer than
    /// <see cref="SplitPreTokenizer.MaxPieceLength"/>, so byte-pair merging never sees a long
    /// word. Checks <paramref name="cancellation"/> between pieces, so a client that leaves stops it.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = true, CancellationToken cancellation = default)
    {
        if (_normalization is { } form)
            text = text.Normalize(form);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addSpecialTokens && Config.AddBosToken && BosId is { } bos)
            ids.Add(bos);
        int sinceCheck = 0;
        foreach (var (offset, length, addedId) in _addedTokens.Split(text))
        {
            if (addedId is { } id)
            {
                ids.Add(id);
                continue;
            }
            foreach (var (pieceOffset, pieceLength) in _preTokenizer.PreTokenize(text.AsSpan(offset, length)))
            {
                if (++sinceCheck == 256)
                {
                    cancellation.ThrowIfCancellationRequested();
                    sinceCheck = 0;
                }
                ids.AddRange(_bpe.EncodeToIds(text.AsSpan(offset + pieceOffset, pieceLength), considerPreTokenization: false, considerNormalization: false));
            }
        }
        if (addSpecialTokens && Config.AddEosToken && EosId is { } eos)
            ids.Add(eos);
        return [.. ids];
    }

    /// <summary>Text of <paramref name="ids"/>; invalid UTF-8 becomes U+FFFD, as in Hugging Face.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (skipSpecialTokens && _specialIds.Contains(id))
                continue;
            AppendTokenBytes(id, bytes);
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>The raw bytes a token stands for; a token may hold part of a UTF-8 character.</summary>
    public void AppendTokenBytes(int id, List<byte> destination)
    {
        if ((uint)id >= (uint)_tokenById.Length || _tokenById[id] is not { } token)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary (size {_tokenById.Length}).");
        if (_addedTokens.IdOf(token) == id)
        {
            destination.AddRange(Encoding.UTF8.GetBytes(token));
            return;
        }
        foreach (char c in token)
        {
            if (!ByteLevelAlphabet.TryGetByte(c, out byte b))
                throw new InvalidOperationException($"Token {id} holds '{c}', which is not a byte-level character.");
            destination.Add(b);
        }
    }

    private static ModelTokenizer Build(JsonElement root, TokenizerConfig config, string path)
    {
        var model = root.GetProperty("model");
        string modelType = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (modelType != "BPE")
            throw new ModelLoadException($"{path}: model type '{modelType}' is not supported; only byte-level BPE is.");
        var decoder = root.TryGetProperty("decoder", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
        if (decoder.ValueKind != JsonValueKind.Object || decoder.GetProperty("type").GetString() != "ByteLevel")
            throw new ModelLoadException($"{path}: only the ByteLevel decoder is supported.");

        var vocabulary = new Dictionary<string, int>();
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
            vocabulary[entry.Name] = entry.Value.GetInt32();
        var merges = new List<string>();
        foreach (var merge in model.GetProperty("merges").EnumerateArray())
        {
            merges.Add(merge.ValueKind == JsonValueKind.Array
                ? $"{merge[0].GetString()} {merge[1].GetString()}"
                : merge.GetString() ?? throw new FormatException("a merge is null"));
        }

        var added = new Dictionary<string, int>();
        var specialIds = new HashSet<int>();
        if (root.TryGetProperty("added_tokens", out var addedTokens))
        {
            foreach (var token in addedTokens.EnumerateArray())
            {
                string content = token.GetProperty("content").GetString() ?? throw new FormatException("an added token has no content");
                int id = token.GetProperty("id").GetInt32();
                added[content] = id;
                if (token.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.True)
                    specialIds.Add(id);
            }
        }

        var (splits, byteLevel) = ReadPreTokenizer(root, path);
        if (!byteLevel)
            throw new ModelLoadException($"{path}: the pre-tokenizer has no ByteLevel step; only byte-level BPE is supported.");
        var bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer(splits),
        });

        int size = Math.Max(vocabulary.Values.DefaultIfEmpty(-1).Max(), added.Values.DefaultIfEmpty(-1).Max()) + 1;
        var tokenById = new string[size];
        foreach (var (token, id) in vocabulary)
            tokenById[id] = token;
        foreach (var (token, id) in added)
            tokenById[id] = token;

        return new ModelTokenizer(bpe, new AddedTokenMatcher(added), tokenById, specialIds, ReadNormalization(root, path), config);
    }

    private static (List<(Regex, SplitBehavior)> Splits, bool ByteLevel) ReadPreTokenizer(JsonElement root, string path)
    {
        var splits = new List<(Regex, SplitBehavior)>();
        bool byteLevel = false;
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            return (splits, byteLevel);
        var steps = pre.GetProperty("type").GetString() == "Sequence"
            ? pre.GetProperty("pretokenizers").EnumerateArray().ToList()
            : [pre];
        foreach (var step in steps)
        {
            string type = step.GetProperty("type").GetString() ?? "";
            switch (type)
            {
                case "Split":
                    splits.Add((SplitRegex(step, path), SplitBehaviorOf(step, path)));
                    break;
                case "ByteLevel":
                    if (step.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
                        throw new ModelLoadException($"{path}: ByteLevel pre-tokenizer with add_prefix_space is not supported.");
                    if (!step.TryGetProperty("use_regex", out var useRegex) || useRegex.ValueKind == JsonValueKind.True)
                        splits.Add((UnicodeRegex.Create(ByteLevelRegex), SplitBehavior.Isolated));
                    byteLevel = true;
                    break;
                default:
                    throw new ModelLoadException($"{path}: pre-tokenizer '{type}' is not supported.");
            }
        }
        return (splits, byteLevel);
    }

    private static Regex SplitRegex(JsonElement step, string path)
    {
        if (step.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True)
            throw new ModelLoadException($"{path}: inverted Split pre-tokenizers are not supported.");
        var pattern = step.GetProperty("pattern");
        if (pattern.TryGetProperty("Regex", out var regex))
            return UnicodeRegex.Create(regex.GetString()!);
        if (pattern.TryGetProperty("String", out var literal))
            return new Regex(Regex.Escape(literal.GetString()!), RegexOptions.CultureInvariant);
        throw new ModelLoadException($"{path}: a Split pre-tokenizer has neither a Regex nor a String pattern.");
    }

    private static SplitBehavior SplitBehaviorOf(JsonElement step, string path) => step.GetProperty("behavior").GetString() switch
    {
        "Isolated" => SplitBehavior.Isolated,
        "Removed" => SplitBehavior.Removed,
        var other => throw new ModelLoadException($"{path}: Split behavior '{other}' is not supported (Isolated and Removed are)."),
    };

    private static NormalizationForm? ReadNormalization(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind != JsonValueKind.Object)
            return null;
        var steps = normalizer.GetProperty("type").GetString() == "Sequence"
            ? normalizer.GetProperty("normalizers").EnumerateArray().ToList()
            : [normalizer];
        NormalizationForm? form = null;
        foreach (var step in steps)
        {
            form = step.GetProperty("type").GetString() switch
            {
                "NFC" => NormalizationForm.FormC,
                "NFKC" => NormalizationForm.FormKC,
                "NFD" => NormalizationForm.FormD,
                "NFKD" => NormalizationForm.FormKD,
                var other => throw new ModelLoadException($"{path}: normalizer '{other}' is not supported."),
            };
        }
        return form;
    }
}

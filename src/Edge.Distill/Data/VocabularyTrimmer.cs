using System.Text.Json.Nodes;

namespace Edge.Distill.Data;

/// <summary>
/// A smaller byte-level BPE tokenizer cut from a larger one: the first N merges (BPE applies merges
/// in rank order, so any prefix of the list is a complete tokenizer), the 256 byte symbols, the
/// tokens before them and every added token. Any string stays encodable, because the byte symbols
/// remain; words whose later merges are gone just take more tokens. The LM head and embedding
/// shrink with the vocabulary, which is what lets a model this small train on a CPU.
/// </summary>
internal static class VocabularyTrimmer
{
    /// <returns>The new vocabulary size (ids 0 .. size - 1).</returns>
    public static int Trim(string sourceDirectory, string outputDirectory, int merges)
    {
        var tokenizer = JsonNode.Parse(File.ReadAllText(Path.Combine(sourceDirectory, "tokenizer.json")))!.AsObject();
        var model = tokenizer["model"]!.AsObject();
        if ((string?)model["type"] != "BPE")
            throw new InvalidDataException($"{sourceDirectory}/tokenizer.json is a {(string?)model["type"]} model; only BPE can be trimmed.");
        var allMerges = model["merges"]!.AsArray();
        if (merges < 1 || merges > allMerges.Count)
            throw new ArgumentException($"--merges must be between 1 and the tokenizer's {allMerges.Count}.");
        var vocabulary = model["vocab"]!.AsObject();

        // Tokens that are not merge results (specials at the start, the byte symbols) keep their ids,
        // and so does the result of each kept merge when the vocabulary is in merge order, as
        // Hugging Face BPE vocabularies are; anything else is refused rather than renumbered silently.
        var keptMerges = allMerges.Take(merges).Select(m => m!.GetValue<string>()).ToList();
        var results = new HashSet<string>(allMerges.Select(m => m!.GetValue<string>().Replace(" ", "", StringComparison.Ordinal)), StringComparer.Ordinal);
        int baseCount = vocabulary.Count(entry => !results.Contains(entry.Key));
        var kept = new JsonObject();
        foreach (var (token, id) in vocabulary)
        {
            if (id is not null && (int)id < baseCount + merges)
                kept[token] = (int)id;
        }
        if (kept.Count != baseCount + merges)
            throw new InvalidDataException("The vocabulary is not in merge order (base tokens first, then one token per merge); it cannot be trimmed by rank.");
        int size = kept.Count;

        // Added tokens after the old vocabulary move down to follow the kept one, in their order.
        var remap = new Dictionary<int, int>();
        foreach (var added in tokenizer["added_tokens"]!.AsArray().OrderBy(a => (int)a!["id"]!))
        {
            int id = (int)added!["id"]!;
            remap[id] = id < size ? id : size + remap.Count(pair => pair.Key >= size);
            added["id"] = remap[id];
        }
        model["vocab"] = kept;
        model["merges"] = new JsonArray([.. keptMerges.Select(m => (JsonNode)m)]);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(sourceDirectory, "tokenizer_config.json")))!.AsObject();
        if (config["added_tokens_decoder"] is JsonObject decoder)
        {
            var renumbered = new JsonObject();
            foreach (var (id, entry) in decoder.ToList())
            {
                decoder.Remove(id);
                renumbered[remap.GetValueOrDefault(int.Parse(id, System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture)] = entry;
            }
            config["added_tokens_decoder"] = renumbered;
        }

        Directory.CreateDirectory(outputDirectory);
        File.WriteAllText(Path.Combine(outputDirectory, "tokenizer.json"), tokenizer.ToJsonString());
        File.WriteAllText(Path.Combine(outputDirectory, "tokenizer_config.json"), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return size + remap.Count(pair => pair.Key >= size);
    }
}

using Edge.Distill.Modeling;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Checkpoints;

/// <summary>New, randomly initialised students: what `edge-distill init` and the recipe start from.</summary>
internal static class InitialCheckpoint
{
    /// <summary>A randomly initialised checkpoint of a preset for a tokenizer (its vocabulary padded to a multiple of 128).</summary>
    public static DeepSeekV3Config Create(string preset, long seed, string tokenizerDirectory, string output)
    {
        var tok = ModelTokenizer.Load(tokenizerDirectory);
        int bos = tok.BosId ?? throw new InvalidDataException("The tokenizer has no BOS token.");
        int eos = tok.EosId ?? throw new InvalidDataException("The tokenizer has no EOS token.");
        // DeepSeek-V3 pads its embedding to 129,280 rows; keep whatever the tokenizer needs, rounded up to a multiple of 128.
        int vocabulary = (tok.VocabularySize + 127) / 128 * 128;
        var config = DeepSeekV3Config.Preset(preset, vocabulary, bos, eos);
        using var model = new DeepSeekV3ForCausalLM(config);
        model.InitializeWeights(seed);
        Checkpoint.Save(model, output, tokenizerDirectory);
        return config;
    }
}

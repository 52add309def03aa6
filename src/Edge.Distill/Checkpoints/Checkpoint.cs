using Edge.Distill.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Edge.Distill.Checkpoints;

/// <summary>
/// A Hugging Face style checkpoint directory: config.json, model.safetensors with Hugging Face
/// tensor names, and the tokenizer files the model was made for.
/// </summary>
internal static class Checkpoint
{
    public const string WeightsFile = "model.safetensors";
    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json"];

    public static void Save(DeepSeekV3ForCausalLM model, string directory, string tokenizerDirectory)
    {
        Directory.CreateDirectory(directory);
        model.Config.Save(Path.Combine(directory, DeepSeekV3Config.FileName));
        Safetensors.Write(Path.Combine(directory, WeightsFile), model.state_dict().Select(p => (p.Key, p.Value.shape, p.Value.to_type(ScalarType.Float32).contiguous().data<float>().ToArray())));
        CopyTokenizer(tokenizerDirectory, directory);
    }

    public static DeepSeekV3ForCausalLM Load(string directory)
    {
        string configPath = Path.Combine(directory, DeepSeekV3Config.FileName);
        if (!File.Exists(configPath))
            throw new InvalidDataException($"{configPath} is missing: not a checkpoint directory.");
        var model = new DeepSeekV3ForCausalLM(DeepSeekV3Config.Load(configPath));
        var tensors = Safetensors.Read(Path.Combine(directory, WeightsFile));
        var expected = model.state_dict();
        var missing = expected.Keys.Except(tensors.Keys).ToList();
        var unexpected = tensors.Keys.Except(expected.Keys).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw new InvalidDataException(
                $"{directory}: weights do not match config.json (missing: {string.Join(", ", missing.Take(5))}; unexpected: {string.Join(", ", unexpected.Take(5))}).");
        }
        using (no_grad())
        {
            foreach (var (name, target) in expected)
            {
                var (shape, data) = tensors[name];
                if (!shape.SequenceEqual(target.shape))
                    throw new InvalidDataException($"{directory}: '{name}' has shape [{string.Join(", ", shape)}], the config needs [{string.Join(", ", target.shape)}].");
                target.copy_(tensor(data, shape));
            }
        }
        return model;
    }

    public static void CopyTokenizer(string from, string to)
    {
        foreach (string file in TokenizerFiles)
        {
            string source = Path.Combine(from, file);
            if (!File.Exists(source))
                throw new FileNotFoundException($"{source} is missing: --tokenizer must name a folder with tokenizer.json and tokenizer_config.json.");
            if (Path.GetFullPath(source) != Path.GetFullPath(Path.Combine(to, file)))
                File.Copy(source, Path.Combine(to, file), overwrite: true);
        }
    }
}

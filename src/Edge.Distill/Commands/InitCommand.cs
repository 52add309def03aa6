using System.CommandLine;
using Edge.Distill.Checkpoints;
using Edge.Distill.Modeling;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Commands;

/// <summary>edge-distill init: a new, randomly initialised student checkpoint.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Architecture (deepseek_v3).", DefaultValueFactory = _ => "deepseek_v3" };
        var preset = new Option<string>("--preset") { Description = "Size preset: tiny (hidden 16, for tests), small (hidden 64, its teacher), edge (hidden 64 with 16 experts, the shipped student) base (hidden 128, its teacher), edge-300m (307 M parameters, 64 experts: the speed benchmark's size) or edge-300m-8e (the same with 8 experts).", DefaultValueFactory = _ => "tiny" };
        var seed = new Option<long>("--seed") { Description = "Seed of the weight initialisation.", DefaultValueFactory = _ => 1 };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with tokenizer.json and tokenizer_config.json.", Required = true };
        var output = new Option<string>("--out") { Description = "Checkpoint folder to write.", Required = true };
        var command = new Command("init", "Write a randomly initialised checkpoint (config.json, model.safetensors, tokenizer).")
        {
            arch, preset, seed, tokenizer, output,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(arch) != "deepseek_v3")
                throw new ArgumentException($"--arch '{result.GetValue(arch)}' is not supported; deepseek_v3 is.");
            var config = InitialCheckpoint.Create(result.GetValue(preset)!, result.GetValue(seed), result.GetValue(tokenizer)!, result.GetValue(output)!);
            Console.WriteLine($"Wrote {result.GetValue(output)}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocabulary {config.VocabSize}.");
            return 0;
        });
        return command;
    }
}

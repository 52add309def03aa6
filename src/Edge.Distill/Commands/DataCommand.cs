using Edge.Distill.Reporting;
using System.CommandLine;
using Edge.Distill.Data;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Commands;

/// <summary>edge-distill data: text files and folders -> tokenized, shuffled train/validation shards.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Text files and folders of them.", Arity = ArgumentArity.OneOrMore };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with the model's tokenizer.json and tokenizer_config.json (a checkpoint or package).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the shards (new or empty).", Required = true };
        var format = new Option<CorpusFormat>("--format") { Description = "Text, or BrownTagged (word/TAG tokens, as the Brown corpus ships).", DefaultValueFactory = _ => CorpusFormat.Text };
        var validation = new Option<double>("--validation-percent") { Description = "Share of documents held out for validation.", DefaultValueFactory = _ => 5 };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Tokens per shard file.", DefaultValueFactory = _ => 1_000_000 };
        var buffer = new Option<int>("--shuffle-buffer") { Description = "Documents held for shuffling (bounds memory).", DefaultValueFactory = _ => 20_000 };
        var seed = new Option<long>("--seed") { Description = "Seed of the shuffle.", DefaultValueFactory = _ => 1 };
        var provenance = new Option<string?>("--provenance") { Description = "Where the text comes from and under which licence (recorded in shards.json)." };
        var command = new Command("data", "Tokenize text into shuffled train/validation shards for 'train' and 'eval'.")
        {
            inputs, tokenizer, output, format, validation, shardTokens, buffer, seed, provenance,
        };
        command.SetAction(result =>
        {
            double percent = result.GetValue(validation);
            if (percent is <= 0 or >= 100)
                throw new ArgumentException($"--validation-percent must be above 0 and below 100, not {percent}.");
            if (result.GetValue(shardTokens) < 1 || result.GetValue(buffer) < 1)
                throw new ArgumentException("--shard-tokens and --shuffle-buffer must be at least 1.");
            string tokenizerDirectory = result.GetValue(tokenizer)!;
            var tok = ModelTokenizer.Load(tokenizerDirectory);
            var corpusFormat = result.GetValue(format);
            var files = TextCorpus.Files(result.GetValue(inputs)!, corpusFormat).ToList();
            if (files.Count == 0)
                throw new ArgumentException("The inputs hold no text files.");
            var builder = new ShardBuilder(tok, Path.Combine(tokenizerDirectory, ModelTokenizer.FileName), result.GetValue(output)!,
                new ShardOptions(percent, result.GetValue(shardTokens), result.GetValue(buffer), result.GetValue(seed), result.GetValue(provenance)));
            var index = builder.Build(files.SelectMany(file => TextCorpus.Documents(file, corpusFormat)), files,
                documents => Progress.Report($"{documents} documents tokenized"));
            Progress.Done();
            Console.WriteLine($"Wrote {result.GetValue(output)}: {index.TrainDocuments} training documents ({index.TrainTokens} tokens, {index.Train.Count} shards), " +
                $"{index.ValidationDocuments} validation documents ({index.ValidationTokens} tokens) from {files.Count} files.");
            return 0;
        });
        return command;
    }
}

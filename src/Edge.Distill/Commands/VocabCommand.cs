using System.CommandLine;
using Edge.Distill.Data;
using Edge.Runtime.Tokenization;

namespace Edge.Distill.Commands;

/// <summary>edge-distill vocab: a smaller tokenizer cut from a larger BPE one (its first N merges).</summary>
internal static class VocabCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with the source tokenizer.json and tokenizer_config.json.", Required = true };
        var merges = new Option<int>("--merges") { Description = "BPE merges to keep (the vocabulary is the byte symbols, these merges and the added tokens).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for the new tokenizer files.", Required = true };
        var command = new Command("vocab", "Write a smaller tokenizer: the first N merges of a byte-level BPE tokenizer; every string stays encodable.") { tokenizer, merges, output };
        command.SetAction(result =>
        {
            int size = VocabularyTrimmer.Trim(result.GetValue(tokenizer)!, result.GetValue(output)!, result.GetValue(merges));
            var check = ModelTokenizer.Load(result.GetValue(output)!); // the runtime must load what we wrote
            Console.WriteLine($"Wrote {result.GetValue(output)}: {size} ids ({check.VocabularySize} loaded), {result.GetValue(merges)} merges.");
            return 0;
        });
        return command;
    }
}

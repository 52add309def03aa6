using System.CommandLine;
using System.Globalization;
using Edge.Runtime.Benchmarks;
using Edge.Runtime.Tokenization;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge bench-tokenizer: the tokenizer's time on hostile inputs (long runs of one script) as large as the prompt byte limit.</summary>
internal static class TokenizerBenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model package folder (default: the embedded default model)." };
        var bytes = new Option<int>("--bytes") { Description = "Size of each input in UTF-8 bytes.", DefaultValueFactory = _ => 1 << 20 };
        var command = new Command("bench-tokenizer", "Measure the tokenizer on 1 MiB runs of emoji, CJK, one letter, spaces, digits and mixed text.") { model, bytes };
        command.SetAction(result =>
        {
            var tokenizer = ModelTokenizer.Load(result.GetValue(model) ?? AgentDefaults.ModelDirectory);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine("| input | bytes | tokens | seconds | MB/s |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var t in TokenizerBenchmark.Run(tokenizer, result.GetValue(bytes)))
                Console.WriteLine(string.Create(c, $"| {t.Input} | {t.Bytes} | {t.Tokens} | {t.Seconds:F3} | {t.Bytes / t.Seconds / 1e6:F1} |"));
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using System.Text.Json;
using Edge.Agent.OpenAi;
using Edge.Runtime.Tokenization;

namespace Edge.Agent.Commands;

/// <summary>
/// deepseek-edge tokenize / detokenize: line-oriented filters over stdin. The folder may hold
/// only tokenizer files. A line that cannot be handled prints null (so outputs stay aligned
/// with inputs), the reason goes to stderr, and the exit code is 1.
/// </summary>
internal static class TokenizeCommands
{
    public static Command CreateTokenize()
    {
        var tokenizer = TokenizerOption();
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "Do not add BOS/EOS as tokenizer_config.json asks." };
        var command = new Command("tokenize", "Read text lines on stdin; write one JSON array of token ids per line.") { tokenizer, noSpecial };
        command.SetAction(result =>
        {
            var tok = ModelTokenizer.Load(result.GetValue(tokenizer) ?? AgentDefaults.ModelDirectory);
            bool special = !result.GetValue(noSpecial);
            return Filter(line => JsonSerializer.Serialize(tok.Encode(line, special), AgentJsonContext.Readable.Int32Array));
        });
        return command;
    }

    public static Command CreateDetokenize()
    {
        var tokenizer = TokenizerOption();
        var skipSpecial = new Option<bool>("--skip-special-tokens") { Description = "Leave special tokens (BOS, EOS, ...) out of the text." };
        var command = new Command("detokenize", "Read JSON arrays of token ids on stdin; write one JSON string per line.") { tokenizer, skipSpecial };
        command.SetAction(result =>
        {
            var tok = ModelTokenizer.Load(result.GetValue(tokenizer) ?? AgentDefaults.ModelDirectory);
            bool skip = result.GetValue(skipSpecial);
            return Filter(line =>
            {
                int[] ids;
                try
                {
                    ids = JsonSerializer.Deserialize(line, AgentJsonContext.Readable.Int32Array) ?? throw new FormatException("null is not an array of ids");
                }
                catch (JsonException e)
                {
                    throw new FormatException($"not a JSON array of integers ({e.Message})", e);
                }
                return JsonSerializer.Serialize(tok.Decode(ids, skip), AgentJsonContext.Readable.String);
            });
        });
        return command;
    }

    private static Option<string> TokenizerOption() =>
        new("--tokenizer") { Description = "Folder with tokenizer.json (and tokenizer_config.json); default: the embedded default model." };

    private static int Filter(Func<string, string> convert)
    {
        int failures = 0, number = 0;
        using var input = new StreamReader(Console.OpenStandardInput(), System.Text.Encoding.UTF8);
        using var output = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = false };
        while (input.ReadLine() is { } line)
        {
            number++;
            try
            {
                output.WriteLine(convert(line));
            }
            catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
            {
                failures++;
                output.WriteLine("null");
                Console.Error.WriteLine($"line {number}: {e.Message}");
            }
        }
        output.Flush();
        return failures == 0 ? 0 : 1;
    }
}

using System.CommandLine;
using Edge.Runtime.Inference;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge generate: one greedy completion printed to stdout.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model package folder (default: the embedded default model)." };
        var prompt = new Option<string>("--prompt") { Description = "Prompt to complete.", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => GenerationSettings.DefaultMaxTokens };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating past the end-of-sequence token, up to --max-tokens." };
        var command = new Command("generate", "Print a completion of a prompt.") { model, prompt, maxTokens, ignoreEos };
        command.SetAction(result =>
        {
            using var engine = InferenceEngine.Load(result.GetValue(model) ?? AgentDefaults.ModelDirectory);
            var completion = engine.Complete(result.GetValue(prompt)!, new GenerationSettings { MaxTokens = result.GetValue(maxTokens), StopAtEos = !result.GetValue(ignoreEos) });
            Console.WriteLine(completion.Text);
            Console.Error.WriteLine($"[{completion.PromptIds.Count} prompt tokens, {completion.CompletionIds.Count} completion tokens, finish: {completion.FinishReason.ToString().ToLowerInvariant()}]");
            return 0;
        });
        return command;
    }
}

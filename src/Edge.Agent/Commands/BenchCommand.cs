using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Benchmarks;
using Edge.Runtime.Inference;

namespace Edge.Agent.Commands;

/// <summary>deepseek-edge bench: the engine's speed on a model, as a table and as JSON.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model package folder (default: the embedded default model)." };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length in tokens.", DefaultValueFactory = _ => 128 };
        var generate = new Option<int>("--generate") { Description = "Tokens generated per stream.", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "Batch-1 runs (the median is reported).", DefaultValueFactory = _ => 3 };
        var streams = new Option<string>("--streams") { Description = "Concurrent stream counts to measure (none: batch 1 only, for models whose cache for many streams would not fit).", DefaultValueFactory = _ => "4,8,32" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: one per core).", DefaultValueFactory = _ => 0 };
        var longPrompt = new Option<int>("--long-prompt") { Description = "Tokens of a prompt arriving while --long-prompt-streams streams decode: their inter-token latency with chunked and whole prefill (0: skip).", DefaultValueFactory = _ => 2000 };
        var longPromptStreams = new Option<int>("--long-prompt-streams") { Description = "Streams decoding while the long prompt is prefilled.", DefaultValueFactory = _ => 8 };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens prefilled between two decode steps (the daemon's Scheduler:PrefillChunkTokens).", DefaultValueFactory = _ => 256 };
        var json = new Option<string>("--json") { Description = "Where to write the JSON report.", DefaultValueFactory = _ => "bench.json" };
        var command = new Command("bench", "Measure time to first token, decode speed, concurrency, engine overhead and memory.")
        {
            model, promptTokens, generate, runs, streams, threads, longPrompt, longPromptStreams, prefillChunk, json,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(threads) < 0)
                throw new ArgumentException("--threads must be 0 or more.");
            if (result.GetValue(longPrompt) < 0 || result.GetValue(longPromptStreams) < 1 || result.GetValue(prefillChunk) < 1)
                throw new ArgumentException("--long-prompt must be 0 or more, --long-prompt-streams and --prefill-chunk at least 1.");
            using var engine = InferenceEngine.Load(result.GetValue(model) ?? AgentDefaults.ModelDirectory, new EngineOptions { IntraOpThreads = result.GetValue(threads) });
            string streamList = result.GetValue(streams)!;
            var settings = new BenchmarkSettings
            {
                PromptTokens = result.GetValue(promptTokens),
                GeneratedTokens = result.GetValue(generate),
                Runs = result.GetValue(runs),
                ConcurrentStreams = streamList == "none" ? [] : [.. streamList.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
                LongPromptTokens = result.GetValue(longPrompt),
                LongPromptStreams = result.GetValue(longPromptStreams),
                PrefillChunkTokens = result.GetValue(prefillChunk),
            };
            var report = EngineBenchmark.Run(engine, settings, step => Console.Error.WriteLine($"bench: {step}"));
            Print(report);
            File.WriteAllText(result.GetValue(json)!, JsonSerializer.Serialize(report, BenchmarkJsonContext.Default.BenchmarkReport));
            Console.WriteLine($"JSON written to {result.GetValue(json)}");
            return 0;
        });
        return command;
    }

    private static void Print(BenchmarkReport r)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"model {r.Model} on {r.Provider} ({(r.SharedBufferCache ? "shared-buffer" : "concatenating")} cache); {r.Machine}"));
        Console.WriteLine(string.Create(c, $"prompt {r.PromptTokens} tokens, {r.GeneratedTokens} generated per stream"));
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine(string.Create(c, $"| time to first token | {r.TimeToFirstTokenMs:F1} ms |"));
        Console.WriteLine(string.Create(c, $"| prefill | {r.PrefillTokensPerSecond:F1} tokens/s |"));
        Console.WriteLine(string.Create(c, $"| decode, batch 1 | {r.DecodeTokensPerSecond:F1} tokens/s |"));
        var k0 = r.Constrained;
        Console.WriteLine(string.Create(c, $"| decode, batch 1, json_object | time per token {k0.JsonObjectRatio:F2}x plain, median of {k0.Rounds - 1} rounds ({k0.JsonObjectColdRatio:F2}x in the first, masks cold; {k0.JsonObjectTokens:F0} tokens a document); constraint work {k0.JsonObjectWorkMicroseconds:F1} us a token, {k0.JsonObjectWorkShare:P1} of a plain step; mask table built in {r.JsonMaskTableMs:F0} ms |"));
        Console.WriteLine(string.Create(c, $"| decode, batch 1, json_schema | time per token {k0.JsonSchemaRatio:F2}x plain, median of {k0.Rounds - 1} rounds ({k0.JsonSchemaColdRatio:F2}x in the first, masks cold; {k0.JsonSchemaTokens:F0} tokens a document); constraint work {k0.JsonSchemaWorkMicroseconds:F1} us a token, {k0.JsonSchemaWorkShare:P1} of a plain step; schema compiled in {r.JsonSchemaCompileMs:F1} ms, the first time {r.JsonSchemaFirstCompileMs:F1} ms |"));
        foreach (var k in r.Concurrency)
            Console.WriteLine(string.Create(c, $"| {k.Streams} concurrent streams | decode {k.AggregateDecodeTokensPerSecond:F1} tokens/s ({k.RatioToBatch1:F2}x batch 1); {k.EndToEndTokensPerSecond:F1} tokens/s with prefills |"));
        Console.WriteLine(string.Create(c, $"| engine decode step | {r.EngineStepMs:F3} ms |"));
        Console.WriteLine(string.Create(c, $"| bare session.Run, same inputs | {r.BareRunMs:F3} ms |"));
        Console.WriteLine(string.Create(c, $"| engine overhead ratio | {r.EngineOverheadRatio:F3} |"));
        Console.WriteLine(string.Create(c, $"| managed bytes per decode step | {r.AllocatedBytesPerDecodeStep} |"));
        Console.WriteLine(string.Create(c, $"| peak RSS | {r.PeakRssBytes / 1048576.0:F1} MiB |"));
        Console.WriteLine(string.Create(c, $"| KV cache, 32 idle slots | {r.CacheReservedBytes32Slots / 1048576.0:F1} MiB reserved, RSS +{r.CacheIdleRssBytes32Slots / 1048576.0:F1} MiB |"));
        foreach (var p in r.LongPrefill)
        {
            string how = p.ChunkTokens >= p.PromptTokens ? "whole" : $"chunks of {p.ChunkTokens}";
            Console.WriteLine(string.Create(c, $"| {p.PromptTokens}-token prompt ({how}) while {p.Streams} streams decode | their inter-token p50 {p.InterTokenP50Ms:F1} ms, p99 {p.InterTokenP99Ms:F1} ms, max {p.InterTokenMaxMs:F1} ms (steady p50 {p.SteadyInterTokenP50Ms:F1} ms); its TTFT {p.LongPromptTtftMs:F0} ms |"));
        }
    }
}

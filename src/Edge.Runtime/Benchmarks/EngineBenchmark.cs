using Edge.Runtime.Sampling;
using System.Diagnostics;
using System.Text.Json.Serialization;
using Edge.Runtime.Inference;
using Edge.Runtime.Scheduling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Benchmarks;

/// <summary>What <see cref="EngineBenchmark"/> measures with.</summary>
public sealed record BenchmarkSettings
{
    public int PromptTokens { get; init; } = 128;
    public int GeneratedTokens { get; init; } = 64;
    public int Runs { get; init; } = 3;
    public IReadOnlyList<int> ConcurrentStreams { get; init; } = [4, 8, 32];
    public int OverheadSteps { get; init; } = 200;

    /// <summary>A prompt this long arrives while <see cref="LongPromptStreams"/> streams decode (capped to fit the context; 0: not measured).</summary>
    public int LongPromptTokens { get; init; } = 2000;
    public int LongPromptStreams { get; init; } = 8;
    public int PrefillChunkTokens { get; init; } = new SchedulerOptions().PrefillChunkTokens;
}

public sealed record BenchmarkReport
{
    public required string Model { get; init; }
    public required string Provider { get; init; }
    public required bool SharedBufferCache { get; init; }
    public required int PromptTokens { get; init; }
    public required int GeneratedTokens { get; init; }
    public required double TimeToFirstTokenMs { get; init; }

    /// <summary>Prompt tokens over the time to the first token: the prompt's prefill plus one LM head and sampling.</summary>
    public double PrefillTokensPerSecond => PromptTokens / (TimeToFirstTokenMs / 1000);
    public required double DecodeTokensPerSecond { get; init; }

    /// <summary>
    /// Batch-1 decode under response_format json_object and json_schema
    /// (<see cref="EngineBenchmark.TypicalSchema"/>), each against plain decoding in the same rounds.
    /// </summary>
    public required ConstrainedDecodeResult Constrained { get; init; }

    /// <summary>Compiling the typical schema to its automaton (the masks then come state by state as decoding reaches them).</summary>
    public required double JsonSchemaCompileMs { get; init; }

    /// <summary>The same, the first time in the process (with the JIT's work where there is a JIT; a NativeAOT daemon has none).</summary>
    public required double JsonSchemaFirstCompileMs { get; init; }

    /// <summary>Building the vocabulary's byte table for constrained decoding, once per model.</summary>
    public required double JsonMaskTableMs { get; init; }
    public required IReadOnlyList<ConcurrencyResult> Concurrency { get; init; }
    public required double EngineStepMs { get; init; }
    public required double BareRunMs { get; init; }
    public double EngineOverheadRatio => EngineStepMs / BareRunMs;
    public required long AllocatedBytesPerDecodeStep { get; init; }
    public required long PeakRssBytes { get; init; }

    /// <summary>Address space the caches of 32 batch slots reserve, and the RSS that creating them added (0 at idle: memory comes with tokens).</summary>
    public required long CacheReservedBytes32Slots { get; init; }
    public required long CacheIdleRssBytes32Slots { get; init; }
    public required IReadOnlyList<LongPrefillResult> LongPrefill { get; init; }
    public required string Machine { get; init; }
}

/// <summary>
/// Time per decoded token with a constraint over time per token without, medians of per-round
/// ratios (each round decodes plain, json_object and json_schema one after the other, so all three
/// see the same machine load). The first round meets every automaton state cold (its mask is
/// computed when decoding first reaches it) and is reported apart; later rounds reuse the masks,
/// as every later request with the same schema does. On a shared machine a millisecond step moves
/// more between runs than the constraint costs, so the constraint's own work per token (mask and
/// advance, replaying the tokens a run chose) is also timed alone, against the plain step.
/// </summary>
public sealed record ConstrainedDecodeResult(
    double JsonObjectRatio, double JsonObjectColdRatio, double JsonObjectTokens, double JsonObjectWorkMicroseconds,
    double JsonSchemaRatio, double JsonSchemaColdRatio, double JsonSchemaTokens, double JsonSchemaWorkMicroseconds,
    double PlainMicrosecondsPerToken, int Rounds)
{
    public double JsonObjectWorkShare => JsonObjectWorkMicroseconds / PlainMicrosecondsPerToken;
    public double JsonSchemaWorkShare => JsonSchemaWorkMicroseconds / PlainMicrosecondsPerToken;
}

/// <summary>
/// Aggregate decode throughput (batched steps only, as batch 1 is measured) and its ratio to
/// batch 1, plus end-to-end throughput including every stream's prefill.
/// </summary>
public sealed record ConcurrencyResult(int Streams, double AggregateDecodeTokensPerSecond, double RatioToBatch1, double EndToEndTokensPerSecond);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(BenchmarkReport))]
public sealed partial class BenchmarkJsonContext : JsonSerializerContext;

/// <summary>
/// Measures the engine on its model in one process, so that ratios compare like with like on a
/// shared, noisy machine. A benchmark, not a test: nothing here asserts a timing.
/// </summary>
public static class EngineBenchmark
{
    /// <summary>A schema of the kind equipment sends: an enum, a patterned string, a bounded number, an optional bounded list.</summary>
    public const string TypicalSchema = """
        {"type":"object","properties":{
          "valve":{"type":"string","pattern":"^V-[0-9]{1,3}$"},
          "action":{"type":"string","enum":["open","close","hold"]},
          "pressure_bar":{"type":"number","minimum":0,"maximum":16},
          "reasons":{"type":"array","items":{"type":"string","maxLength":40},"maxItems":3}},
         "required":["valve","action","pressure_bar","reasons"],"additionalProperties":false}
        """;

    public static BenchmarkReport Run(InferenceEngine engine, BenchmarkSettings settings, Action<string>? progress = null)
    {
        int[] prompt = BenchmarkPrompt.Of(engine, settings.PromptTokens);
        var greedy = new GenerationSettings { MaxTokens = settings.GeneratedTokens, StopAtEos = false };

        progress?.Invoke("warm-up");
        engine.Generate(prompt, greedy with { MaxTokens = 4 });

        progress?.Invoke("batch 1");
        var (ttft, batch1) = BatchOne(engine, prompt, greedy, settings.Runs);

        // The first use builds the vocabulary's byte table; each new automaton state then costs one
        // pass over the vocabulary, kept for every later token and request.
        progress?.Invoke("batch 1: plain, json_object and json_schema in alternating rounds");
        long started = Stopwatch.GetTimestamp();
        _ = engine.JsonMasks;
        double maskTableMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var schema = new Constraints.OutputGrammar(Constraints.GrammarKind.JsonSchema, TypicalSchema);
        started = Stopwatch.GetTimestamp();
        _ = Constraints.GrammarCache.Compile(schema);
        double firstCompileMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        started = Stopwatch.GetTimestamp();
        _ = Constraints.GrammarCache.Compile(schema);
        double compileMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var constrained = Constrained(engine, prompt, greedy, schema, Math.Max(settings.Runs, 3));

        var concurrency = new List<ConcurrencyResult>();
        if (engine.Session.SharesBuffers)
        {
            // Concurrent streams go through the continuous-batching scheduler, as the daemon serves them.
            using var scheduler = new GenerationScheduler(engine, new SchedulerOptions { MaxBatchSize = settings.ConcurrentStreams.DefaultIfEmpty(1).Max() });
            foreach (int streams in settings.ConcurrentStreams)
            {
                progress?.Invoke($"{streams} concurrent streams");
                var before = scheduler.DecodeTotals;
                var clock = Stopwatch.StartNew();
                var results = Task.WhenAll(Enumerable.Range(0, streams).Select(_ => scheduler.GenerateAsync(prompt, greedy))).GetAwaiter().GetResult();
                double endToEnd = results.Sum(r => r.CompletionIds.Count) / clock.Elapsed.TotalSeconds;
                var after = scheduler.DecodeTotals;
                double decode = (after.Tokens - before.Tokens) / (after.Time - before.Time).TotalSeconds;
                concurrency.Add(new ConcurrencyResult(streams, decode, decode / batch1, endToEnd));
            }
        }

        var (reserved, idleRss) = engine.Session.SharesBuffers ? IdleCacheMemory(engine) : (0, 0);
        var longPrefill = new List<LongPrefillResult>();
        int longPrompt = Math.Min(settings.LongPromptTokens, engine.ContextLength - 64);
        if (engine.Session.SharesBuffers && settings.LongPromptTokens > 0 && longPrompt > settings.PrefillChunkTokens)
            longPrefill.AddRange(LongPrefillBenchmark.Run(engine, settings.LongPromptStreams, longPrompt, [settings.PrefillChunkTokens, longPrompt], progress));

        progress?.Invoke("engine step vs bare session.Run");
        var (engineStep, bareRun, allocated) = StepOverhead(engine, prompt, settings.OverheadSteps);

        return new BenchmarkReport
        {
            Model = engine.Package.Manifest.Name,
            Provider = engine.Provider,
            SharedBufferCache = engine.Session.SharesBuffers,
            PromptTokens = prompt.Length,
            GeneratedTokens = settings.GeneratedTokens,
            TimeToFirstTokenMs = ttft,
            DecodeTokensPerSecond = batch1,
            Constrained = constrained,
            JsonMaskTableMs = maskTableMs,
            JsonSchemaCompileMs = compileMs,
            JsonSchemaFirstCompileMs = firstCompileMs,
            Concurrency = concurrency,
            EngineStepMs = engineStep,
            BareRunMs = bareRun,
            AllocatedBytesPerDecodeStep = allocated,
            PeakRssBytes = ProcessStatus("VmHWM:"),
            CacheReservedBytes32Slots = reserved,
            CacheIdleRssBytes32Slots = idleRss,
            LongPrefill = longPrefill,
            Machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}",
        };
    }

    /// <summary>Median time to first token and decode rate of <paramref name="runs"/> streamed generations, one at a time.</summary>
    private static (double TtftMs, double DecodeTokensPerSecond) BatchOne(InferenceEngine engine, int[] prompt, GenerationSettings settings, int runs)
    {
        var ttfts = new List<double>();
        var decodeRates = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            var (ttft, perToken, _) = TimedRun(engine, prompt, settings);
            ttfts.Add(ttft);
            decodeRates.Add(1000.0 / perToken);
        }
        return (Median(ttfts), Median(decodeRates));
    }

    private static ConstrainedDecodeResult Constrained(InferenceEngine engine, int[] prompt, GenerationSettings plain, Constraints.OutputGrammar schema, int rounds)
    {
        var asObject = plain with { ResponseFormat = ResponseFormat.JsonObject };
        var asSchema = plain with { Grammar = schema };
        var objectRatios = new List<double>();
        var schemaRatios = new List<double>();
        var objectTokens = new List<double>();
        var schemaTokens = new List<double>();
        var plainTimes = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            var (_, plainMs, _) = TimedRun(engine, prompt, plain);
            var (_, objectMs, objectCount) = TimedRun(engine, prompt, asObject);
            var (_, schemaMs, schemaCount) = TimedRun(engine, prompt, asSchema);
            objectRatios.Add(objectMs / plainMs);
            schemaRatios.Add(schemaMs / plainMs);
            objectTokens.Add(objectCount);
            schemaTokens.Add(schemaCount);
            plainTimes.Add(plainMs);
        }
        return new ConstrainedDecodeResult(
            Median(objectRatios[1..]), objectRatios[0], Median(objectTokens), ConstraintWork(engine, prompt, asObject),
            Median(schemaRatios[1..]), schemaRatios[0], Median(schemaTokens), ConstraintWork(engine, prompt, asSchema),
            Median(plainTimes) * 1000, rounds);
    }

    /// <summary>
    /// Median microseconds of a constraint's work per token (choose among the allowed tokens, or
    /// mask the logits when sampling; advance past the token), replaying the tokens a run under it
    /// chose, its masks warm as the rounds left them.
    /// </summary>
    private static double ConstraintWork(InferenceEngine engine, int[] prompt, GenerationSettings settings)
    {
        var tokens = engine.Generate(prompt, settings).CompletionIds;
        var random = new Random(7);
        var source = new float[engine.VocabularyBytes.Count];
        for (int i = 0; i < source.Length; i++)
            source[i] = (float)random.NextDouble();
        var logits = new float[source.Length];
        var times = new List<double>();
        for (int pass = 0; pass < 5; pass++)
        {
            var constraint = engine.Constraint(settings)!;
            for (int i = 0; i < tokens.Count; i++)
            {
                source.CopyTo(logits, 0);
                long started = Stopwatch.GetTimestamp();
                if (settings.IsGreedy)
                    constraint.GreedyChoice(logits, settings.MaxTokens - i); // the path greedy decoding takes
                else
                    constraint.Mask(logits, settings.MaxTokens - i);
                constraint.Accept(tokens[i]);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }
        return Median(times);
    }

    /// <summary>
    /// One generation, stepped as the engine steps it, with the clock read at each sampled token:
    /// time to the first token, then milliseconds per later token, and the tokens decoded. (Timing
    /// the text stream instead counted tokens that decode to no text yet, such as the first bytes
    /// of a character, as prefill.)
    /// </summary>
    private static (double TtftMs, double MsPerToken, int Tokens) TimedRun(InferenceEngine engine, int[] prompt, GenerationSettings settings)
    {
        int[] ids = engine.Prepare(prompt, settings, out int maxTokens);
        using var state = engine.Session.CreateState();
        var sequence = engine.NewSequence(ids, settings, maxTokens);
        long started = Stopwatch.GetTimestamp();
        engine.Session.Step(state, ids);
        sequence.Advance(state.LastLogits);
        double firstToken = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        while (sequence.FinishReason is null)
        {
            engine.Session.Step(state, [sequence.NextToken]);
            sequence.Advance(state.LastLogits);
        }
        double total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        int tokens = sequence.Completion.Count;
        return (firstToken, (total - firstToken) / Math.Max(tokens - 1, 1), tokens);
    }

    /// <summary>
    /// Our decode step against session.Run with the same inputs, alternating blocks so both see
    /// the same machine load. The bare run lets ONNX Runtime allocate its outputs, as a caller
    /// without IOBinding would.
    /// </summary>
    private static (double EngineMs, double BareMs, long AllocatedPerStep) StepOverhead(InferenceEngine engine, int[] prompt, int steps)
    {
        var session = engine.Session;
        using var state = session.CreateState();
        session.Step(state, prompt);
        int token = Greedy.ArgMax(state.LastLogits);

        var bare = BareInputs(engine, state, token);
        try
        {
            var inputNames = bare.Select(b => b.Name).ToArray();
            var inputValues = bare.Select(b => b.Value).ToArray();
            var outputNames = session.Session.OutputNames.ToArray();
            using var runOptions = new RunOptions();

            double engineTotal = 0, bareTotal = 0;
            long allocated = 0;
            int measured = 0;
            int blocks = 10, perBlock = Math.Max(1, steps / blocks);
            for (int block = 0; block < blocks && state.Length + perBlock < state.Capacity; block++)
            {
                long started = Stopwatch.GetTimestamp();
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < perBlock; i++)
                    session.Step(state, [token]);
                allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                engineTotal += Stopwatch.GetElapsedTime(started).TotalMilliseconds;

                var clock = Stopwatch.StartNew();
                for (int i = 0; i < perBlock; i++)
                {
                    using var outputs = session.Session.Run(runOptions, inputNames, inputValues, outputNames);
                }
                bareTotal += clock.Elapsed.TotalMilliseconds;
                measured += perBlock;
            }
            measured = Math.Max(measured, 1);
            return (engineTotal / measured, bareTotal / measured, allocated / measured);
        }
        finally
        {
            foreach (var (_, value) in bare)
                value.Dispose();
        }
    }

    /// <summary>The inputs of one decode step at the state's length, as plain tensors.</summary>
    private static List<(string Name, OrtValue Value)> BareInputs(InferenceEngine engine, DecoderState state, int token)
    {
        var session = engine.Session.Session;
        var inputs = new List<(string, OrtValue)>();
        int keys = engine.Session.SharesBuffers ? state.Capacity : state.Length + 1;
        foreach (var (name, meta) in session.InputMetadata)
        {
            OrtValue value = name switch
            {
                "input_ids" => OrtValue.CreateTensorValueFromMemory(new long[] { token }, [1, 1]),
                "position_ids" => OrtValue.CreateTensorValueFromMemory(new long[] { state.Length }, [1, 1]),
                "attention_mask" => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, keys).Select(i => i <= state.Length ? 1L : 0L).ToArray(), [1, keys]),
                "logits_to_keep" => OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, [1]),
                _ => StateLike(meta, engine.Session.SharesBuffers ? state.Capacity : state.Length),
            };
            inputs.Add((name, value));
        }
        return inputs;
    }

    private static OrtValue StateLike(NodeMetadata meta, int length)
    {
        long[] shape = [.. meta.Dimensions.Select((d, i) => d > 0 ? d : i == 0 ? 1L : length)];
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, shape);
        value.GetTensorMutableDataAsSpan<float>().Clear();
        return value;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }

    /// <summary>The caches of 32 slots: what they reserve, and what creating them adds to the process's RSS.</summary>
    private static (long Reserved, long IdleRss) IdleCacheMemory(InferenceEngine engine)
    {
        long before = ProcessStatus("VmRSS:");
        using var decoder = new BatchedDecoder(engine.Session, 32);
        long after = ProcessStatus("VmRSS:");
        long reserved = engine.Session.Signature.State.Sum(t => t.CapacityShape(32, decoder.Capacity).Aggregate(1L, (a, b) => a * b)) * sizeof(float);
        return (reserved, after - before);
    }

    /// <summary>A byte count from /proc/self/status (VmRSS:, VmHWM:), 0 where there is none.</summary>
    private static long ProcessStatus(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
            return 0;
        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}

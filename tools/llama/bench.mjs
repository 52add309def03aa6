// llama.cpp's speed on a GGUF, measured as deepseek-edge bench measures ours: reads
// {model, promptTokens, generate, runs, threads, contextSize} as JSON on stdin; for each run,
// one fresh sequence evaluates the same `promptTokens`-token prompt as ours in one batch (prefill),
// then generates `generate` tokens greedily one at a time (decode). Writes the medians:
// {"prefillTokensPerSecond", "decodeTokensPerSecond", "timeToFirstTokenMs", "runs": [...]}.
// Uses node-llama-cpp's prebuilt CPU binaries; never builds llama.cpp.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const promptTokens = request.promptTokens ?? 128, generate = request.generate ?? 64, runs = request.runs ?? 3;

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: request.contextSize ?? 1024,
  batchSize: promptTokens,
  threads: request.threads ?? 2,
  sequences: 1,
});
// The text deepseek-edge bench repeats (Edge.Runtime's EngineBenchmark.FixedPrompt), tokenized by the
// GGUF's own tokenizer: with the same tokenizer both engines see the same ids.
const text = "The conveyor on line three stopped at 14:32 after the pressure sensor reported 4.7 bar. ";
const prompt = [];
while (prompt.length < promptTokens) prompt.push(...model.tokenize(text));
prompt.length = promptTokens;

const measured = [];
for (let run = 0; run < runs + 1; run++) { // the first run warms caches and is not counted
  const sequence = context.getSequence();
  const start = performance.now();
  let firstToken = 0, produced = 0;
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    produced++;
    if (produced === 1) firstToken = performance.now();
    if (produced >= generate) break;
  }
  const end = performance.now();
  sequence.dispose();
  if (run > 0) measured.push({
    timeToFirstTokenMs: firstToken - start,
    prefillTokensPerSecond: promptTokens / ((firstToken - start) / 1000),
    decodeTokensPerSecond: (produced - 1) / ((end - firstToken) / 1000),
  });
}
const median = (key) => measured.map((m) => m[key]).sort((a, b) => a - b)[Math.floor(measured.length / 2)];
process.stdout.write(JSON.stringify({
  prefillTokensPerSecond: median("prefillTokensPerSecond"),
  decodeTokensPerSecond: median("decodeTokensPerSecond"),
  timeToFirstTokenMs: median("timeToFirstTokenMs"),
  runs: measured,
}));
await context.dispose();
await model.dispose();
await llama.dispose();

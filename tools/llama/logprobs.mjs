// llama.cpp as the reference: reads {model, tokens, top, threads, contextSize} as JSON on stdin,
// evaluates the tokens in one sequence, and writes for every position the log-probabilities of
// llama.cpp's `top` most likely next tokens: {"positions": [[[id, logprob], ...], ...]}.
// Uses node-llama-cpp's prebuilt CPU binaries; never builds llama.cpp.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const top = request.top ?? 20;

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: request.contextSize ?? 1024,
  batchSize: Math.max(request.tokens.length, 1),
  threads: request.threads ?? 2,
  sequences: 1,
  flashAttention: false,
  // llama.cpp keeps its KV cache in F16 by default; F32 here compares the weights' arithmetic, not the cache's rounding.
  experimentalKvCacheKeyType: request.kvCacheType ?? "F32",
  experimentalKvCacheValueType: request.kvCacheType ?? "F32",
});
const sequence = context.getSequence();
const input = request.tokens.map((token) => [token, {
  generateNext: { logits: { filter: { tokens: [], includeTop: top } }, totalLogitWeight: true },
}]);
const results = await sequence.controlledEvaluate(input);

const positions = results.map((result) => {
  const logits = [...result.next.logits.entries()];
  const max = Math.max(...logits.map(([, logit]) => logit));
  const logTotal = Math.log(result.next.totalLogitWeight);
  return logits
    .map(([id, logit]) => [id, logit - max - logTotal])
    .sort((a, b) => b[1] - a[1]);
});
process.stdout.write(JSON.stringify({ positions }));
await context.dispose();
await model.dispose();
await llama.dispose();

#!/usr/bin/env bash
# deepseek-edge next to llama.cpp on the same weights, in one run: prefill and decode tokens/s
# at the same thread count, prompt length and generation length, and their ratios.
#
# usage: tools/bench/peer-bench.sh <package-folder> <model.gguf> [threads=2] [prompt=128] [generate=64] [runs=3]
#
# The package is what `edge-distill import` made from the GGUF (or from the same Hugging Face
# folder the GGUF was exported from). Ours runs through `deepseek-edge bench` (batch 1, the
# engine the daemon serves with); llama.cpp through node-llama-cpp's prebuilt CPU binaries
# (tools/llama/bench.mjs; run `npm install --omit=optional` in tools/llama once).
# It also prints the weight bandwidth decode achieves (weight bytes read per token x tok/s; bytes
# per token estimated as the package's weight bytes x active / total parameters from its manifest,
# the same fraction of the GGUF's bytes for llama.cpp) next to a memcpy probe of this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
package=$1 gguf=$2 threads=${3:-2} prompt=${4:-128} generate=${5:-64} runs=${6:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "peer-bench: building deepseek-edge..." >&2
dotnet build src/Edge.Agent -c Release -o "$out/agent" -v quiet -nologo >/dev/null
echo "peer-bench: deepseek-edge bench on $package..." >&2
/usr/bin/time -f "%M" -o "$out/ours.rss" dotnet "$out/agent/deepseek-edge.dll" bench --model "$package" --threads "$threads" \
  --prompt-tokens "$prompt" --generate "$generate" --runs "$runs" --streams none --json "$out/ours.json" >&2
echo "peer-bench: llama.cpp on $gguf..." >&2
echo "{\"model\": \"$(realpath "$gguf")\", \"threads\": $threads, \"promptTokens\": $prompt, \"generate\": $generate, \"runs\": $runs, \"contextSize\": $((prompt + generate + 16))}" \
  | /usr/bin/time -f "%M" -o "$out/llama.rss" node tools/llama/bench.mjs > "$out/llama.json"

echo "peer-bench: memory bandwidth probe..." >&2
node -e '
const n = 256 * 1024 * 1024, a = Buffer.alloc(n, 1), b = Buffer.alloc(n);
let best = 0;
for (let i = 0; i < 6; i++) { const t = process.hrtime.bigint(); a.copy(b); best = Math.max(best, 2 * n / (Number(process.hrtime.bigint() - t) / 1e9)); }
console.log(best / 1e9);
' > "$out/bandwidth"

node -e '
const fs = require("fs"), path = require("path");
const pkg = process.argv[7], gguf = process.argv[8], probe = Number(fs.readFileSync(process.argv[9], "utf8"));
const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "manifest.json"), "utf8"));
const weightBytes = fs.readdirSync(pkg).filter((f) => f.startsWith("model.onnx")).reduce((s, f) => s + fs.statSync(path.join(pkg, f)).size, 0);
const arch = manifest.architecture ?? {};
const active = arch.active_parameters_per_token && arch.parameters ? arch.active_parameters_per_token / arch.parameters : 1;
const [ours, llama] = [process.argv[1], process.argv[2]].map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
const [oursRss, llamaRss] = [process.argv[3], process.argv[4]].map((f) => Number(require("fs").readFileSync(f, "utf8").trim()) / 1024);
const row = (name, a, b, unit) => console.log(`| ${name} | ${a.toFixed(1)} ${unit} | ${b.toFixed(1)} ${unit} | ${(a / b).toFixed(2)} |`);
console.log(`threads ${process.argv[5]}, prompt ${ours.prompt_tokens} tokens, ${ours.generated_tokens} generated, median of ${process.argv[6]} runs; ${ours.machine}`);
console.log("| measure | deepseek-edge | llama.cpp | ratio (ours / llama.cpp) |");
console.log("|---|---:|---:|---:|");
row("prefill", ours.prefill_tokens_per_second, llama.prefillTokensPerSecond, "tok/s");
row("decode", ours.decode_tokens_per_second, llama.decodeTokensPerSecond, "tok/s");
row("time to first token", ours.time_to_first_token_ms, llama.timeToFirstTokenMs, "ms");
row("peak RSS (whole process)", oursRss, llamaRss, "MiB");
row("decode weight bandwidth (estimate)", weightBytes * active * ours.decode_tokens_per_second / 1e9, fs.statSync(gguf).size * active * llama.decodeTokensPerSecond / 1e9, "GB/s");
console.log(`active / total parameters ${active.toFixed(3)}; weights ${(weightBytes / 1e6).toFixed(0)} MB (ours), ${(fs.statSync(gguf).size / 1e6).toFixed(0)} MB (GGUF); memcpy probe ${probe.toFixed(1)} GB/s (read + write, one thread)`);
' "$out/ours.json" "$out/llama.json" "$out/ours.rss" "$out/llama.rss" "$threads" "$runs" "$package" "$gguf" "$out/bandwidth"

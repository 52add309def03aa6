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

node -e '
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
' "$out/ours.json" "$out/llama.json" "$out/ours.rss" "$out/llama.rss" "$threads" "$runs"

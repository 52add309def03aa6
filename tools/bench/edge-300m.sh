#!/usr/bin/env bash
# Issue 16's speed benchmark at realistic edge size, end to end and rerunnable:
#   1. edge-300m (307 M parameters, 64 routed experts, top 6) and edge-300m-8e (the same with 8
#      experts: equal active size) as random checkpoints, exported to fp32 packages;
#   2. the sparse-dispatch ratio: batch-1 decode time of 64 experts over 8 experts (target <= 1.3);
#   3. deepseek-edge next to llama.cpp on the same weights (tools/bench/peer-bench.sh) for fp32 vs
#      F32, INT8 vs Q8_0 and INT4 vs Q4_0 (accuracy_level as given; the GGUFs come from our own
#      GGUF export of the same checkpoint).
#
# usage: tools/bench/edge-300m.sh <work-dir> [threads=2] [prompt=128] [generate=32] [runs=3] [accuracy-level=4]
# Needs tools/llama installed (npm install --omit=optional in tools/llama). About 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$1 threads=${2:-2} prompt=${3:-128} generate=${4:-32} runs=${5:-3} accuracy=${6:-4}
mkdir -p "$work"
echo "edge-300m: building edge-distill and deepseek-edge..." >&2
dotnet build src/Edge.Distill -c Release -v quiet -nologo >/dev/null
dotnet build src/Edge.Agent -c Release -o "$work/agent" -v quiet -nologo >/dev/null
distill() { dotnet src/Edge.Distill/bin/Release/net10.0/edge-distill.dll "$@"; }
ours() { dotnet "$work/agent/deepseek-edge.dll" bench --threads "$threads" --prompt-tokens "$prompt" --generate "$generate" --runs "$runs" --streams none "$@" >&2; }

for preset in edge-300m edge-300m-8e; do
  [ -f "$work/$preset/config.json" ] || { echo "edge-300m: init $preset..." >&2; distill init --preset "$preset" --seed 1 --tokenizer models/default --out "$work/$preset" >&2; }
  [ -f "$work/$preset-fp32/manifest.json" ] || { echo "edge-300m: export $preset..." >&2; distill export --checkpoint "$work/$preset" --out "$work/$preset-fp32" >&2; }
done

echo "edge-300m: 64 experts against 8 (fp32, batch 1)..." >&2
ours --model "$work/edge-300m-fp32" --json "$work/64e.json"
ours --model "$work/edge-300m-8e-fp32" --json "$work/8e.json"
node -e '
const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
console.log(`| experts | decode tok/s | prefill tok/s |\n|---|---:|---:|`);
console.log(`| 64 (top 6) | ${a.decode_tokens_per_second.toFixed(1)} | ${a.prefill_tokens_per_second.toFixed(1)} |`);
console.log(`| 8 (top 6) | ${b.decode_tokens_per_second.toFixed(1)} | ${b.prefill_tokens_per_second.toFixed(1)} |`);
console.log(`decode time ratio 64 / 8 experts: ${(b.decode_tokens_per_second / a.decode_tokens_per_second).toFixed(2)} (target <= 1.3)`);
' "$work/64e.json" "$work/8e.json"

for pair in "none:F32" "int8:Q8_0" "int4:Q4_0"; do
  mode=${pair%%:*} type=${pair##*:}
  package="$work/edge-300m-$mode"
  if [ "$mode" = none ]; then package="$work/edge-300m-fp32"; fi
  if [ "$mode" != none ] && [ ! -f "$package/manifest.json" ]; then
    echo "edge-300m: quantize $mode (accuracy_level $accuracy)..." >&2
    distill quantize --in "$work/edge-300m-fp32" --out "$package" --mode "$mode" --accuracy-level "$accuracy" >&2
  fi
  gguf="$work/edge-300m-$type.gguf"
  [ -f "$gguf" ] || { echo "edge-300m: GGUF $type..." >&2; distill export --checkpoint "$work/edge-300m" --format gguf --type "$type" --out "$gguf" >&2; }
  echo "### $mode vs $type"
  tools/bench/peer-bench.sh "$package" "$gguf" "$threads" "$prompt" "$generate" "$runs"
done

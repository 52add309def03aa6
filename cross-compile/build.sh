#!/usr/bin/env bash
# Builds the deepseek-edge daemon with NativeAOT for a device RID on an x64 Debian host.
#   cross-compile/build.sh [linux-arm64|linux-x64] [output folder]
# Output: the native binary, libonnxruntime.so for that RID, appsettings.json and models/default.
# The per-RID compiler and linker settings live in rids.props.
set -euo pipefail
cd "$(dirname "$0")/.."
rid=${1:-linux-arm64}
out=${2:-artifacts/$rid}

if [ "$rid" = linux-arm64 ] && [ "$(uname -m)" = x86_64 ]; then
  tools=(clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross)
  missing=()
  for p in "${tools[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "Installing the cross toolchain: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

rm -rf "$out"
# Trim and AOT warnings are errors here (Directory.Build.props), so a clean exit means a clean binary.
dotnet publish src/Edge.Agent -c Release -r "$rid" -o "$out" -p:DebugType=none -p:StripSymbols=true
file "$out/deepseek-edge" 2>/dev/null || true
ls -la "$out/deepseek-edge" "$out/libonnxruntime.so"

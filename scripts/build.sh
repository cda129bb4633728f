#!/usr/bin/env bash
# Configures and builds Dossier into build/ (Release by default; BUILD_TYPE=Debug to change).
set -euo pipefail
cd "$(dirname "$0")/.."
type=${BUILD_TYPE:-Release}
if [ ! -f build/build.ninja ] || ! grep -q "CMAKE_BUILD_TYPE:STRING=$type" build/CMakeCache.txt; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$type" >/dev/null
fi
cmake --build build --parallel "$(nproc)"

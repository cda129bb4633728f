#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (GoogleTest under CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
# The README's first command, the main job on samples/, runs last: a change that breaks it
# (a document the demo's consent no longer covers, once) fails the suite too.
cd ..
if ! ./scripts/demo.sh > build/demo.log 2>&1; then
  tail -n 30 build/demo.log >&2
  echo "test.sh: scripts/demo.sh failed (whole output: build/demo.log)" >&2
  exit 1
fi
echo "test.sh: scripts/demo.sh ran to the end (output: build/demo.log)"

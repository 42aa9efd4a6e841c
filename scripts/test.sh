#!/usr/bin/env bash
# Installs everything, builds, and runs every test: unit, integration and interop
# (release build), the unit tests again under ASan+UBSan, and every fuzz target
# briefly. Any failure or fuzzer finding fails the script.
#   FUZZ_SECONDS=20  time per fuzz target
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

echo "== release build: unit, integration and interop tests"
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release

echo "== debug build with AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration tests"
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug

echo "== fuzz targets (clang, libFuzzer)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
scripts/fuzz.sh build/fuzz "${FUZZ_SECONDS:-20}"

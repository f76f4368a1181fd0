#!/usr/bin/env bash
# Builds PTL with AddressSanitizer and UndefinedBehaviorSanitizer (Debug, gcc)
# into ./build-asan and runs the whole test suite under them.
#   bash scripts/sanitize.sh            (after scripts/setup.sh --tests)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPTL_SANITIZE=ON >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
# Leaks are reported too; a sanitizer report fails the test that triggered it.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${JOBS:-2}" --timeout 900

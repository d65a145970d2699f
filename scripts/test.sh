#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole test
# suite. `.ci/run` runs exactly this.
#
#   1. build/       Release, -Werror: every test (ctest)
#                   (with the aarch64 tree, whose tests run under qemu)
#   2. build-asan/  ASan + UBSan, -Werror: the unit tests, host only, and
#                   without llama.cpp: the build that has no llamacpp
#                   backend is tested here (EDGEBENCH_TEST_SANITIZE=0 skips
#                   this step)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

EDGEBENCH_CMAKE_ARGS="-DEDGEBENCH_WERROR=ON ${EDGEBENCH_CMAKE_ARGS:-}" scripts/setup.sh
echo "== tests (build/)"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

if [[ "${EDGEBENCH_TEST_SANITIZE:-1}" == 1 ]]; then
  echo "== sanitizer build (build-asan/)"
  # -O1 -g1: half the compile time of -O2 -g (measured: 42 s vs 90 s for
  # runtime/telemetry/telemetry.cc) with line tables enough for the
  # sanitizers' stack traces.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DEDGEBENCH_WERROR=ON -DEDGEBENCH_SANITIZE=address,undefined \
    -DEDGEBENCH_BUILD_BENCHMARKS=OFF -DEDGEBENCH_AARCH64=OFF -DEDGEBENCH_LLAMACPP=OFF >/dev/null
  cmake --build build-asan
  echo "== tests under ASan/UBSan (build-asan/)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit --timeout 900
fi
echo "== all tests passed"
